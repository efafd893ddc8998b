"""Property tests of the plan parser and the joiner's reply parser (hypothesis).

- any chunking of a text gives exactly the tasks of feeding it whole, for generated plans and
  for arbitrary text alike;
- no text makes `feed()`/`close()` raise: deep nesting, long whitespace runs, unbalanced
  quotes and brackets, `$` everywhere, unicode;
- `parse_decision` never raises and only ever returns text that is in the reply.

Derandomized with a fixed example budget and no example database, so every run checks the
same examples and the file takes a few seconds.
"""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from llmcompiler.agents.joiner import Decision, parse_decision  # noqa: E402
from llmcompiler.plan.parser import END_OF_PLAN, PlanParser  # noqa: E402
from llmcompiler.plan.task import Task  # noqa: E402

TOOLS = ("search", "math")
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def parse(chunks):
    parser = PlanParser(TOOLS)
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    out.extend(parser.close())
    assert parser.ended
    return out


def split(text, cuts):
    points = sorted({min(c, len(text)) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


# -- generated plans ----------------------------------------------------------------------

ids = st.integers(min_value=0, max_value=12)
refs = ids.map(lambda i: f"${i}") | ids.map(lambda i: f"${{{i}}}")
words = st.text(alphabet=st.sampled_from("ab Zü東 ()[]{}#,:=$1\\'\""), max_size=12)


def quoted(text: str) -> str:
    return repr(text)


strings = st.one_of(
    words.map(quoted),
    st.tuples(words, refs, words).map(lambda t: quoted(f"{t[0]}{t[1]}{t[2]}")),
    words.map(lambda w: '"""' + w.replace('"', "'").replace("\\", "") + '"""'),
)
scalars = st.one_of(strings, refs, st.integers(-10**6, 10**6).map(str), st.sampled_from(["true", "null", "None", "1.5e3"]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(inner, max_size=3).map(lambda xs: "(" + "".join(f"{x}, " for x in xs) + ")"),
        st.lists(st.tuples(strings, inner), max_size=2).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
    ),
    max_leaves=8,
)
arguments = st.tuples(
    st.lists(values, max_size=3), st.lists(st.tuples(st.sampled_from(["k", "context", "x"]), values), max_size=2)
).map(lambda t: ", ".join([*t[0], *(f"{k}={v}" for k, v in t[1])]))
spaces = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def plans(draw):
    """Numbered calls, mostly in order and well formed, with thoughts, prose and damage."""
    lines = []
    for n in range(1, draw(st.integers(0, 8)) + 1):
        if draw(st.integers(0, 3)) == 0:
            lines.append(draw(other_lines))
        idx = n if draw(st.integers(0, 4)) else draw(ids)
        tool = draw(st.sampled_from([*TOOLS, *TOOLS, "join", "fly"]))
        line = f"{draw(spaces)}{idx}.{draw(spaces)}{tool}({draw(arguments)})"
        damage = draw(st.integers(0, 9))
        if damage == 1:
            line = line[: -draw(st.integers(1, 3))]  # cut short: repaired or failed
        elif damage == 2:
            line += draw(st.sampled_from([")", "  # note $3 (", END_OF_PLAN, "]", "(", " and more"]))
        lines.append(line)
    if draw(st.booleans()):
        lines.append(f"{len(lines) + 1}. join(){END_OF_PLAN}")
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


other_lines = st.one_of(
    words.map(lambda w: f"Thought: {w}"),
    words,
    st.just(""),
    st.just("```"),
    ids.map(lambda i: f"{i}. join"),
    ids.map(lambda i: f"{i}. Search the web"),
    st.just(END_OF_PLAN),
)


@SETTINGS
@given(plans(), st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_chunking_of_a_plan_gives_the_same_tasks(text, cuts):
    whole = parse([text])
    assert parse(split(text, cuts)) == whole
    assert parse(list(text)) == whole
    seen = set()
    for task in whole:
        assert isinstance(task, Task)
        if task.error is None:
            assert set(task.deps) <= seen, (text, task)  # only earlier tasks
        seen.add(task.idx)


flat_values = st.one_of(
    words.map(quoted),
    st.tuples(words, refs, words).map(lambda t: quoted(f"{t[0]}{t[1]}{t[2]}")),
    refs,
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["0", "00", "-0", "1.5", "1e3", "9" * 30, "$01", "${01}", "''", '""']),
)


@SETTINGS
@given(
    ids,
    st.lists(st.tuples(spaces, flat_values, spaces), max_size=4),
    st.sampled_from(["", ",", " ,", ", "]),
    st.sampled_from(["", " # note", ") extra", END_OF_PLAN, " and", "x"]),
)
def test_a_flat_line_read_in_one_match_is_read_as_the_scanner_reads_it(idx, items, tail, rest):
    """A line of positional strings, integers and references (`_FLAT_CALL`, one match) gives
    the task that reading it a character at a time (the scanner) gives."""
    arguments = ",".join(f"{a}{v}{b}" for a, v, b in items) + (tail if items else "")
    line = f"{idx}. search({arguments}){rest}"
    whole = parse([line + "\n2. math($1)"])
    assert parse(list(line + "\n2. math($1)")) == whole


numeric_items = st.one_of(
    refs,
    st.integers(-10**20, 10**20).map(str),
    st.text(alphabet=st.sampled_from("$0123456789{}-"), max_size=6),  # malformed ones too
    st.sampled_from(["007", "-01", "00", "-0", "$007", "${07}", "$0", "1-2", "$", "${}", "${1", "--1", "-", "{}"]),
)


@SETTINGS
@given(
    ids,
    st.lists(st.tuples(spaces, numeric_items, spaces), max_size=4),
    st.sampled_from(["", ",", " ,", ",,"]),
    st.sampled_from(["", " # note", ") extra", END_OF_PLAN, "x"]),
)
def test_a_line_of_references_and_integers_is_read_as_the_scanner_reads_it(idx, items, tail, rest):
    """A line with no quotes (`_NUMERIC_CALL`, read with str methods) gives the task that
    reading it a character at a time gives, well formed or not."""
    arguments = ",".join(f"{a}{v}{b}" for a, v, b in items) + tail
    line = f"{idx}. math({arguments}){rest}"
    whole = parse([line + "\n2. search($1)"])
    assert parse(list(line + "\n2. search($1)")) == whole


# -- arbitrary text ------------------------------------------------------------------------

hostile_pieces = st.one_of(
    st.text(max_size=20),  # any unicode, surrogates and controls included
    st.text(alphabet=st.sampled_from("1. search(math)join[]{}'\"\\$#,:=-+*~\n\r\t {}"), max_size=40),
    st.sampled_from(["1. search(", "2. math(", "Thought:", END_OF_PLAN, "<END_OF", "_PLAN>", '"""', "'''", "$1", "${2}",
                     "$", "$99999999999999999999999", "\\", "not ", "lambda: ", "**", "\x00", "\ufeff", "\u2028"]),
    st.tuples(st.sampled_from(["[", "(", "{", "-", " ", "\n", "\t", "$", '"', "'", "9", "a"]),
              st.integers(min_value=1, max_value=30_000)).map(lambda t: t[0] * t[1]),
)
line_starts = st.sampled_from(["", "1. search(", "2. math(x, ", "Thought: a", "3. a", "  ", "\n4. search("])
hostile_texts = st.lists(st.tuples(line_starts, st.lists(hostile_pieces, max_size=4)), max_size=4).map(
    lambda lines: "".join(start + "".join(pieces) for start, pieces in lines)
)


@SETTINGS
@given(hostile_texts, st.lists(st.integers(min_value=0, max_value=70_000), max_size=8))
def test_arbitrary_text_never_raises_and_is_split_independent(text, cuts):
    whole = parse([text])
    assert all(isinstance(task, Task) for task in whole)
    for task in whole:
        if task.error is not None:
            assert len(task.error) < 1_000  # quoted model text is clipped
    assert parse(split(text, cuts)) == whole


@SETTINGS
@given(hostile_texts)
def test_arbitrary_text_one_character_at_a_time(text):
    text = text[:3_000]
    assert parse(list(text)) == parse([text])


# -- the joiner's reply ----------------------------------------------------------------------

replies = st.one_of(
    st.text(),
    st.lists(
        st.one_of(
            st.sampled_from(["Thought:", "thought :", "Action:", "action:", "Finish(", "Replan(", "finish", ")", "(",
                             "\n", " ", "\n\n  ", '"', "'", "Action: Finish(", "Action: Replan(", "Action: search("]),
            st.text(max_size=10),
            st.tuples(st.sampled_from([" ", "\n", "\n ", "("]), st.integers(1, 20_000)).map(lambda t: t[0] * t[1]),
        ),
        max_size=12,
    ).map("".join),
)


@SETTINGS
@given(replies)
def test_parse_decision_never_raises_and_quotes_only_the_reply(text):
    decision = parse_decision(text)
    if decision is None:
        lowered = text.lower()
        assert not text.strip() or "thought" in lowered or "action" in lowered
        return
    assert isinstance(decision, Decision) and decision.action in ("finish", "replan")
    assert decision.content in text and decision.thought in text
    if "action" not in text.lower() and "thought" not in text.lower():
        assert decision.action == "finish" and decision.content  # plain text is the answer
