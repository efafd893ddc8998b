"""The things a plan is made of: `Task` (one numbered line of a plan) and `Ref` (a `$N`).

A task is not changed once the parser has emitted it (by convention: `Task` and `Ref` are
not frozen dataclasses, which are 2.3x slower to build, one of each per call of a plan).
Its arguments are Python values in which a lone reference (`$3`, `${3}` or the string
`"$3"`) is a `Ref`, and a string that mentions references among other text (`"compare $1
and $2"`) stays a `str`; both kinds count towards `deps`. Resolution into real values
happens in the runtime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JOIN = "join"

# `$3` or `${3}`; the braces let a reference sit right before other digits or letters.
REF_PATTERN = re.compile(r"\$\{(\d+)\}|\$(\d+)")


@dataclass(slots=True, unsafe_hash=True)
class Ref:
    """A reference to the result of task `id`, standing alone as one argument."""

    id: int

    def __repr__(self) -> str:
        return f"${self.id}"


def refs_in_text(text: str) -> list[int]:
    """Ids referenced in a string, in order of appearance."""
    return [int(m.group(1) or m.group(2)) for m in REF_PATTERN.finditer(text)]


def collect_refs(value: Any) -> set[int]:
    """Every id referenced anywhere inside an argument value (nested containers included)."""
    found: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Ref):
            found.add(item.id)
        elif isinstance(item, str):
            found.update(refs_in_text(item))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return found


@dataclass(slots=True, unsafe_hash=True)
class Task:
    """One call of a plan, as the planner wrote it.

    `error` is set when the line could not become a valid call (unknown tool, bad
    arguments, bad reference, ...): such a task fails at once with that message and its
    dependents are skipped, so the joiner sees what went wrong.
    """

    idx: int
    tool: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    deps: tuple[int, ...] = ()
    thought: str | None = None
    text: str = ""
    error: str | None = None

    @property
    def is_join(self) -> bool:
        """True for a well-formed `join()`: the marker that closes a round's plan."""
        return self.tool == JOIN and self.error is None

    def call_text(self) -> str:
        """The call written back in plan syntax, e.g. `search("x", k=2)`."""
        parts = [_render(a) for a in self.args]
        parts += [f"{k}={_render(v)}" for k, v in self.kwargs.items()]
        return f"{self.tool}({', '.join(parts)})"


def _render(value: Any) -> str:
    if isinstance(value, Ref):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_render(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in value.items()) + "}"
    return repr(value)
