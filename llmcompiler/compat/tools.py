"""`src.tools.base` and `src.agents.tools`: the original's `Tool` as one of ours.

The original's `Tool(name, func, description, stringify_rule=...)` was a langchain tool; here
it is an `llmcompiler.tools.Tool` built from the same arguments. langchain's bookkeeping
options (`return_direct`, `verbose`, `callbacks`, ...) are accepted and have no effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmcompiler.tools.tool import Tool as _Tool
from llmcompiler.tools.tool import tool

__all__ = ["StructuredTool", "Tool", "tool"]

_IGNORED = frozenset(
    {"return_direct", "verbose", "callbacks", "callback_manager", "handle_tool_error", "tags", "metadata"}
)


class Tool(_Tool):
    """`Tool(name, func, description, stringify_rule=None, coroutine=None, args_schema=None)`."""

    def __init__(
        self,
        name: str,
        func: Callable[..., Any] | None = None,
        description: str = "",
        stringify_rule: Callable[[list[Any]], str] | None = None,
        *,
        coroutine: Callable[..., Any] | None = None,
        args_schema: Any = None,
        **langchain_options: Any,
    ) -> None:
        unknown = sorted(set(langchain_options) - _IGNORED)
        if unknown:
            raise TypeError(f"Tool {name!r}: unexpected option(s) {', '.join(unknown)}")
        # The runtime awaits when it can: the coroutine, when given, is the one to call.
        target = coroutine if coroutine is not None else func
        if target is None:
            raise ValueError(f"Tool {name!r}: give func or coroutine")
        super().__init__(name, target, description or "", stringify_rule, args_schema=args_schema)

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        coroutine: Callable[..., Any] | None = None,
        **options: Any,
    ) -> Tool:
        target = func if func is not None else coroutine
        shown = str(name or getattr(target, "__name__", ""))
        return cls(shown, func, description or (getattr(target, "__doc__", None) or ""), coroutine=coroutine, **options)


StructuredTool = Tool
