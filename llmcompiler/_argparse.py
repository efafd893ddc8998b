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
from collections.abc import Callable, Sequence
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
    """The commands' parser: one-line usage errors; `--version`; every `--long_flag` also read as
    `--long-flag` and the reverse (only the declared spelling is shown in --help)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.add_help:  # (subcommands' parsers, made with this class, get it too)
            from llmcompiler import __version__

            self.add_argument(
                "--version", action="version", version=f"llmcompiler {__version__}", help="print the version and exit"
            )

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self._respelled(words), namespace)

    def _respelled(self, words: list[str]) -> list[str]:
        """`--max-replans` as `--max_replans` where only the other spelling is an option here
        (an abbreviation too, when it names one option); everything after `--` is left alone."""
        spellings: dict[str, set[str]] = {}
        for option in self._option_string_actions:
            if option.startswith("--"):
                spellings.setdefault(_spelling_key(option), set()).add(option)
        out: list[str] = []
        for at, word in enumerate(words):
            if word == "--":
                return out + words[at:]
            name, equals, value = word.partition("=")
            if name.startswith("--") and len(name) > 2 and name not in self._option_string_actions:
                found = self._other_spelling(name, spellings)
                if found is not None:
                    word = found + equals + value
            out.append(word)
        return out

    def _other_spelling(self, name: str, spellings: dict[str, set[str]]) -> str | None:
        key = _spelling_key(name)
        exact = spellings.get(key)
        if exact is not None:
            return next(iter(exact)) if len(exact) == 1 else None
        if not self.allow_abbrev or any(option.startswith(name) for option in self._option_string_actions):
            return None  # argparse's own abbreviation (or its ambiguity) stands
        actions = {
            id(self._option_string_actions[o]): o
            for k, options in spellings.items()
            if k.startswith(key)
            for o in options
        }
        return next(iter(actions.values())) if len(actions) == 1 else None

    def error(self, message: str) -> NoReturn:
        complaint = _TYPE_COMPLAINT.fullmatch(message)
        if complaint:
            message = f"{complaint.group(1)} {complaint.group(2)}"
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def _spelling_key(option: str) -> str:
    return option.replace("_", "-")


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
