"""`count_split_tokens` counts exactly what `split_tokens` would split, without the pieces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmcompiler.llm.base import count_split_tokens, estimate_tokens, split_tokens

# whitespace of every kind str.isspace knows, among letters and punctuation
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2007\u2028\u2029\u202f\u205f\u3000"
TEXT = st.text(alphabet=st.sampled_from(list(WHITESPACE) + list("ab$(),.é字")), max_size=60)


@given(TEXT)
def test_the_count_is_the_number_of_pieces(text: str) -> None:
    assert count_split_tokens(text) == len(split_tokens(text))


@given(st.text(max_size=80))
def test_any_text_at_all(text: str) -> None:
    assert count_split_tokens(text) == len(split_tokens(text))


def test_edges() -> None:
    assert [count_split_tokens(t) for t in ("", " ", "a", " a", "a ", "a b", "a \n")] == [0, 1, 1, 1, 2, 2, 2]
    assert estimate_tokens("one two three four five") == 6  # 23 characters: (23 + 3) // 4
