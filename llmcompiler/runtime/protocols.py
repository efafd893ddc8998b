"""What the runtime needs of a tool, as a structural type.

The scheduler and the executor run anything with these attributes; `llmcompiler.tools.Tool`
is one (and is how tools normally arrive), but the runtime does not import `tools`: the
arrow goes from the agents to both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

__all__ = ["RuntimeTool"]


class RuntimeTool(Protocol):
    """A tool as the scheduler and the executor use it.

    `bind` turns a planned call's arguments into those of ``func(*a, **kw)`` and raises
    `TypeError` when they do not fit (the task then fails without being retried); `func`
    is awaited when `is_async`, else run on a worker thread; `timeout` bounds each of the
    ``1 + retries`` attempts; `max_concurrency` bounds the tool's simultaneous calls.
    """

    @property
    def name(self) -> str: ...

    @property
    def func(self) -> Callable[..., Any]: ...

    @property
    def is_async(self) -> bool: ...

    @property
    def timeout(self) -> float | None: ...

    @property
    def retries(self) -> int: ...

    @property
    def max_concurrency(self) -> int | None: ...

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], /) -> tuple[tuple[Any, ...], dict[str, Any]]: ...
