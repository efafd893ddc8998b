"""Text for people: shortened values and the one-line form of an exception.

Messages quote what users and models wrote, which may be huge or span lines; every place
that clips such text, or names an exception, does it here, so they all read alike.
"""

from __future__ import annotations

from typing import Any


def shorten(text: Any, limit: int, *, marker: str = "…", one_line: bool = True) -> str:
    """`text` in at most `limit` characters, the cut marked by `marker` (counted in the limit).

    `one_line` first collapses every run of whitespace (newlines included) into one space.
    """
    flat = one_line_text(text) if one_line else str(text)
    return flat if len(flat) <= limit else flat[: max(limit - len(marker), 0)] + marker


def one_line_text(text: Any) -> str:
    """`text` with every run of whitespace, newlines included, collapsed into one space."""
    return " ".join(str(text).split())


def first_line(text: str) -> str:
    """The first line of `text` that is not blank, stripped ('' when there is none): the
    headline of an error whose message goes on with a traceback (Ray's, say)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def describe_error(exc: BaseException) -> str:
    """`Type: message`, or `Type` alone when the message is empty; never raises."""
    message = safe_str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def safe_str(value: Any) -> str:
    """str(value), or why it cannot be shown: a broken __str__ must not end a run."""
    try:
        return str(value)
    except Exception as problem:
        return f"(its message cannot be shown: str() raised {type(problem).__name__})"


def safe_repr(value: Any) -> str:
    """repr(value), or a stand-in naming its type when its __repr__ raises."""
    try:
        return repr(value)
    except Exception as problem:
        return f"<{type(value).__name__}: repr() raised {type(problem).__name__}>"
