"""Scripted replies from a JSON file: `--model_type scripted --replies FILE` on the commands.

Try a suite offline, with no key and no server: every model call is answered from the file,
streamed like a real model would stream it. The file is either an object by role,

    {
      "planner": ["Thought: ...\\n1. search(\\"x\\")\\n2. join()<END_OF_PLAN>"],
      "joiner":  ["Thought: ...\\nAction: Finish(42)"],
      "react":   ["Thought: ...\\nAction: Finish(42)"],
      "tools":   ["```text\\n6 * 7\\n```"],
      "ttft": 0.2, "tokens_per_second": 50, "chunk_tokens": 1
    }

or a plain list of replies, `["1. search(\\"x\\")\\n2. join()<END_OF_PLAN>", "Action: Finish(42)"]`,
which answers every model call in the order the calls are made, whichever role makes them.

- `planner` and `joiner` serve LLMCompiler, `react` the ReAct baseline (`--react`), `tools`
  the model a tool asks (the math tool); only the roles a command uses are required.
- A role's value is one reply (a string) or a list of them. A list is cycled: after its last
  reply the first comes again, so one reply per role answers every question of a benchmark.
- `ttft` (seconds to the first token, default 0), `tokens_per_second` (word-sized tokens,
  default: as fast as the event loop) and `chunk_tokens` (tokens per chunk, default 1) set
  the simulated speed of every role.

A file that cannot be used is a `ConfigurationError` of one line naming the file and what
is wrong with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmcompiler.exceptions import ConfigurationError, ScriptExhaustedError
from llmcompiler.llm.base import Message
from llmcompiler.llm.scripted import ScriptedModel

__all__ = ["REPLIES_HELP", "ROLES", "ReplyScript", "ScriptedModels", "load_replies", "scripted_models"]

ROLES = ("planner", "joiner", "react", "tools")
_SPEED = ("ttft", "tokens_per_second", "chunk_tokens")
_EVERY_ROLE = "*"  # the plain-list form: one sequence shared by all roles

# the commands' --help text for --replies
REPLIES_HELP = (
    "with --model_type scripted: a JSON file answering every model call, offline. "
    '{"planner": [...], "joiner": [...], "react": [...], "tools": [...], "ttft": 0.2, "tokens_per_second": 50} '
    "(replies by role; a role needs only one: lists are cycled), or a plain list answering the calls in order"
)


@dataclass(frozen=True)
class ReplyScript:
    """The contents of a replies file; `replies` by role, or under "*" for a plain list."""

    source: str
    replies: dict[str, tuple[str, ...]]
    ttft: float = 0.0
    tokens_per_second: float | None = None
    chunk_tokens: int = 1

    def has(self, role: str) -> bool:
        return _EVERY_ROLE in self.replies or role in self.replies

    def require(self, *roles: str) -> None:
        """Raise a one-line error naming the roles the file lacks."""
        missing = [role for role in roles if not self.has(role)]
        if missing:
            wanted = " and ".join(f'"{r}"' for r in roles)
            lacking = ", ".join(f'"{r}"' for r in missing)
            raise ConfigurationError(
                f"the replies file {self.source} has no {lacking} replies (this run needs {wanted})"
            )


def load_replies(path: str | Path) -> ReplyScript:
    """Read and check a replies file (the format is in the module docstring)."""
    source = str(path)
    try:
        text = Path(path).expanduser().read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"no replies file {source}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"the replies file {source} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read the replies file {source}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"the replies file {source} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    if isinstance(data, list):
        return ReplyScript(source, {_EVERY_ROLE: _replies(data, source, "the list")})
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"the replies file {source} must hold a list of replies or an object with "
            f'"planner"/"joiner"/"react"/"tools" replies, not {_json_kind(data)}'
        )
    unknown = sorted(set(data) - set(ROLES) - set(_SPEED))
    if unknown:
        raise ConfigurationError(
            f"the replies file {source} has an unknown key {unknown[0]!r} (known: {', '.join((*ROLES, *_SPEED))})"
        )
    replies = {role: _replies(data[role], source, f'"{role}"') for role in ROLES if role in data}
    if not replies:
        raise ConfigurationError(f'the replies file {source} has no replies (give "planner" and "joiner", or "react")')
    ttft = _number(data, "ttft", source, minimum=0.0, default=0.0)
    tokens_per_second = _number(data, "tokens_per_second", source, minimum=None, default=None)
    chunk_tokens = data.get("chunk_tokens", 1)
    if isinstance(chunk_tokens, bool) or not isinstance(chunk_tokens, int) or chunk_tokens < 1:
        raise ConfigurationError(
            f'the replies file {source}: "chunk_tokens" must be a whole number >= 1, not {chunk_tokens!r}'
        )
    return ReplyScript(source, replies, ttft=ttft, tokens_per_second=tokens_per_second, chunk_tokens=chunk_tokens)


def _json_kind(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "true/false", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _replies(value: Any, source: str, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ConfigurationError(
            f"the replies file {source}: {where} must be a reply (a string) or a list of them, not {_json_kind(value)}"
        )
    if not items:
        raise ConfigurationError(f"the replies file {source}: {where} has no replies")
    for number, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise ConfigurationError(
                f"the replies file {source}: reply {number} of {where} must be a string, not {_json_kind(item)}"
            )
    return tuple(items)


def _number(data: dict[str, Any], key: str, source: str, *, minimum: float | None, default: float | None) -> Any:
    if key not in data:
        return default
    value = data[key]
    # JSON's parser accepts NaN and Infinity; neither is a speed
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= minimum if minimum is not None else value > 0)
    if not ok:
        what = "a number of seconds >= 0" if minimum is not None else "a positive number"
        raise ConfigurationError(f'the replies file {source}: "{key}" must be {what}, not {value!r}')
    return float(value)


class _Cycle:
    """Replies in order, starting again after the last; one cursor for every model that shares it."""

    def __init__(self, replies: Sequence[str]) -> None:
        self._replies = replies
        self._calls = 0

    def __call__(self, messages: list[Message]) -> str:
        reply = self._replies[self._calls % len(self._replies)]
        self._calls += 1
        return reply


class _Missing:
    def __init__(self, message: str) -> None:
        self._message = message

    def __call__(self, messages: list[Message]) -> BaseException:
        return ScriptExhaustedError(self._message)


@dataclass
class ScriptedModels:
    """`ModelPool`'s interface (`first`, `new`, `aclose`) over a `ReplyScript`.

    `first()` is the planner, or the ReAct model with `react=True`; `new(role)` another model,
    a joiner unless told otherwise; `tools_model()` is the model tools ask. Models of one role
    share one cursor.
    """

    script: ReplyScript
    react: bool = False
    name: str = "scripted"
    _cycles: dict[str, Any] = field(default_factory=dict, repr=False)
    _first: ScriptedModel | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.react:
            self.script.require("react")
        else:
            self.script.require("planner", "joiner")

    def _model(self, role: str) -> ScriptedModel:
        key = _EVERY_ROLE if _EVERY_ROLE in self.script.replies else role
        if key not in self._cycles:
            if self.script.has(role):
                self._cycles[key] = _Cycle(self.script.replies[key])
            else:
                self._cycles[key] = _Missing(f'the replies file {self.script.source} has no "{role}" replies')
        s = self.script
        return ScriptedModel(
            self._cycles[key],
            ttft=s.ttft,
            tokens_per_second=s.tokens_per_second,
            chunk_tokens=s.chunk_tokens,
            name=self.name,
        )

    def first(self) -> ScriptedModel:
        if self._first is None:
            self._first = self._model("react" if self.react else "planner")
        return self._first

    def new(self, role: str = "joiner", **overrides: Any) -> ScriptedModel:
        """Another model of `role` (ModelPool's signature); replies have no request options."""
        if overrides:
            raise ConfigurationError(f"scripted replies take no model options ({', '.join(sorted(overrides))})")
        return self._model(role)

    def tools_model(self) -> ScriptedModel:
        return self._model("tools")

    async def aclose(self) -> None:
        """Nothing to close; here so that the commands treat every pool alike."""


def scripted_models(
    model_type: str, replies: str | None, *, react: bool = False, name: str | None = None
) -> ScriptedModels | None:
    """The commands' `--model_type scripted --replies FILE`: the models, or None for another type."""
    if (model_type or "").strip().lower() == "scripted":
        if not replies:
            raise ConfigurationError(
                "--model_type scripted needs --replies FILE, a JSON file of the planner's and joiner's replies "
                "(the format is in --help)"
            )
        return ScriptedModels(load_replies(replies), react=react, name=name or "scripted")
    if replies:
        raise ConfigurationError(
            f"--replies FILE answers from a file; it needs --model_type scripted, not {model_type!r}"
        )
    return None
