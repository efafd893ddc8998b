"""Checks for the numbers users hand us: one rule and one wording for every parameter.

Each function returns the value (seconds as a float, counts as an int) or raises
`ConfigurationError` with one line that names the parameter as the caller spells it
(``"timeout"``, ``"--timeout"``, ``"tool 'search': retries"``) and shows what was given.

What they reject, and why it is not left to comparisons: ``nan > 0`` and ``nan < 0`` are
both false, so a check written as ``if x <= 0: raise`` lets NaN through; ``inf`` passes
``> 0`` but means "never" for a timeout (say None for that) and "forever" for a count;
``True`` is an int to Python but never what someone meant by a count; ``2.0`` or ``"3"`` for
a count is a mistake to report, not to round.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from llmcompiler.exceptions import ConfigurationError

__all__ = [
    "positive_seconds",
    "non_negative_seconds",
    "positive_number",
    "int_at_least",
    "positive_int",
    "non_negative_int",
]


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not replace the message we mean to give
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _real(name: str, value: Any, what: str, *, allow_none: bool) -> float:
    none = " or None" if allow_none else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationError(f"{name} must be {what}{none}, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigurationError(f"{name} must be {what}{none}, got {_shown(value)}")
    return number


def positive_seconds(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    """A finite number of seconds > 0 (None passes through when `allow_none`)."""
    if value is None and allow_none:
        return None
    number = _real(name, value, "a finite number of seconds > 0", allow_none=allow_none)
    if not number > 0:
        raise ConfigurationError(
            f"{name} must be a finite number of seconds > 0{' or None' if allow_none else ''}, got {_shown(value)}"
        )
    return number


def non_negative_seconds(name: str, value: Any) -> float:
    """A finite number of seconds >= 0."""
    number = _real(name, value, "a finite number of seconds >= 0", allow_none=False)
    if number < 0:
        raise ConfigurationError(f"{name} must be a finite number of seconds >= 0, got {_shown(value)}")
    return number


def positive_number(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    """A finite number > 0 that is not a duration (a rate, a scale)."""
    if value is None and allow_none:
        return None
    number = _real(name, value, "a finite number > 0", allow_none=allow_none)
    if not number > 0:
        raise ConfigurationError(
            f"{name} must be a finite number > 0{' or None' if allow_none else ''}, got {_shown(value)}"
        )
    return number


def int_at_least(name: str, value: Any, minimum: int, *, allow_none: bool = False) -> int | None:
    """An int (not a bool, not a float) >= `minimum`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigurationError(
            f"{name} must be an int >= {minimum}{' or None' if allow_none else ''}, got {_shown(value)}"
        )
    number = int(value)
    if number < minimum:
        raise ConfigurationError(
            f"{name} must be an int >= {minimum}{' or None' if allow_none else ''}, got {_shown(value)}"
        )
    return number


def positive_int(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    """An integer >= 1."""
    return int_at_least(name, value, 1, allow_none=allow_none)


def non_negative_int(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    """An integer >= 0."""
    return int_at_least(name, value, 0, allow_none=allow_none)
