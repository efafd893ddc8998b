"""An ArgumentParser whose usage errors are one line (the commands' rule for user mistakes),
and the `type=` functions of the commands' numeric flags.

`int` and `float` alone accept what no flag means: `float("nan")` and `float("inf")` parse,
and so do negative counts (`--N -1` used to drop the last question). Each type below applies
the rule of `llmcompiler._validate` (the one the Python API applies to the same parameter),
and the parser turns its complaint into

    error: --timeout must be a finite number of seconds > 0, got 'nan' (see llmcompiler ask --help)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from llmcompiler import _validate

__all__ = [
    "ArgumentParser",
    "count",
    "nonnegative_count",
    "nonnegative_seconds",
    "port",
    "positive_number",
    "positive_seconds",
]

# argparse reports a type's complaint as "argument --flag: complaint" (or "-q/--question: ...")
_TYPE_COMPLAINT = re.compile(r"argument (?:\S+/)?(\S+): (must .*)", re.S)


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        complaint = _TYPE_COMPLAINT.fullmatch(message)
        if complaint:
            message = f"{complaint.group(1)} {complaint.group(2)}"
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def _flag_value(text: str, parse: Callable[[str], Any], check: Callable[[str, Any], Any], what: str) -> Any:
    """`check` (from llmcompiler._validate, the rule the Python API applies) on the parsed text;
    the complaint quotes what was typed, which for NaN or 1e999 is clearer than its repr."""
    try:
        return check("value", parse(text))
    except (ValueError, OverflowError):  # ConfigurationError is a ValueError
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def _int(text: str) -> int:
    return int(text.strip().replace("_", ""))


def positive_seconds(text: str) -> float:
    """A duration: finite and > 0 (a timeout of 0 s or NaN s cannot be meant)."""
    return _flag_value(text, float, _validate.positive_seconds, "a finite number of seconds > 0")


def nonnegative_seconds(text: str) -> float:
    """A pause or a delay: finite and >= 0."""
    return _flag_value(text, float, _validate.non_negative_seconds, "a finite number of seconds >= 0")


def positive_number(text: str) -> float:
    """A factor or a rate (a speed, a scale, tokens per second): finite and > 0."""
    return _flag_value(text, float, _validate.positive_number, "a finite number > 0")


def count(text: str) -> int:
    """How many (questions, repetitions, workers): a whole number >= 1."""
    return _flag_value(text, _int, _validate.positive_int, "a whole number >= 1")


def nonnegative_count(text: str) -> int:
    """A limit where 0 means none (replans): a whole number >= 0."""
    return _flag_value(text, _int, _validate.non_negative_int, "a whole number >= 0")


def _port(name: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{name} is not a port")
    return value


def port(text: str) -> int:
    """A TCP port: 1 to 65535."""
    return _flag_value(text, _int, _port, "a port number from 1 to 65535")
