"""The shared helpers for shortened text, exception lines and percentiles."""

from __future__ import annotations

import pytest

from llmcompiler._stats import percentile
from llmcompiler._text import describe_error, safe_repr, safe_str, shorten
from llmcompiler.evaluation import percentile as public_percentile


def test_shorten_counts_the_marker_in_the_limit():
    assert shorten("abcdef", 6) == "abcdef"
    assert shorten("abcdefg", 6) == "abcde…"
    assert shorten("abcdefg", 6, marker="...") == "abc..."
    assert len(shorten("x" * 1000, 200, marker="...")) == 200
    assert shorten("abc", 0) == "…"  # a limit under the marker keeps only the marker


def test_shorten_collapses_whitespace_unless_told_not_to():
    assert shorten("a \n\t b\n", 10) == "a b"
    assert shorten("a \n b", 10, one_line=False) == "a \n b"
    assert shorten(None, 10) == "None" and shorten(12345, 3) == "12…"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __repr__(self) -> str:
        raise RuntimeError("no")


def test_exception_lines_never_raise():
    assert describe_error(ValueError("bad value")) == "ValueError: bad value"
    assert describe_error(TimeoutError()) == "TimeoutError"
    assert describe_error(Unprintable()) == "Unprintable: (its message cannot be shown: str() raised RuntimeError)"
    assert safe_str(Unprintable()).startswith("(its message cannot be shown")
    assert safe_repr(Unprintable()) == "<Unprintable: repr() raised RuntimeError>"


def test_one_percentile_on_the_0_to_100_scale():
    assert public_percentile is percentile
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0 and percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    values = [float(i) for i in range(101)]
    assert percentile(values, 99) == pytest.approx(99.0)
    assert percentile([1.0, 11.0], 99) == pytest.approx(10.9)
