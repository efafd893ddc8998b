"""Anything tool-like to `Tool`: `as_tool` for one, `as_tools` for a plan's whole set."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llmcompiler.tools.langchain import LangChainTool, is_langchain_tool
from llmcompiler.tools.tool import Tool

__all__ = ["as_tool", "as_tools"]


def as_tool(obj: Any, **options: Any) -> Tool:
    """Convert `obj` to a `Tool`.

    - a `Tool` is returned as is (unless `options` are given: then a copy with them);
    - a langchain-core `BaseTool` (`StructuredTool`, `@langchain_core.tools.tool`
      functions, `Tool`, subclasses) is adapted: see `LangChainTool`;
    - any other callable is wrapped as with `@tool`.

    `options` are `Tool.from_function`'s keywords (name, description, timeout, retries,
    max_concurrency, stringify_rule; and args_schema for callables).
    """
    if isinstance(obj, LangChainTool):
        if not options:
            return obj
        kept: dict[str, Any] = {"name": obj.name, "description": obj.description}
        return LangChainTool(obj.langchain_tool, **{**kept, **_kept_options(obj), **options})
    if isinstance(obj, Tool):
        if not options:
            return obj
        copied = {"name": obj.name, "description": obj.description, "args_schema": obj.args_schema}
        return Tool.from_function(obj.func, **{**copied, **_kept_options(obj), **options})
    if is_langchain_tool(obj):
        return LangChainTool(obj, **options)
    if callable(obj):
        return Tool.from_function(obj, **options)
    raise TypeError(f"cannot make a tool of {type(obj).__name__} {obj!r}: it is not callable")


def _kept_options(tool: Tool) -> dict[str, Any]:
    return {
        "stringify_rule": tool.stringify_rule,
        "timeout": tool.timeout,
        "retries": tool.retries,
        "max_concurrency": tool.max_concurrency,
    }


def as_tools(items: Iterable[Any] | Mapping[str, Any]) -> dict[str, Tool]:
    """Convert tools (see `as_tool`) to a ``{name: Tool}`` dict, in order.

    From a mapping, each key is the tool's name: a value whose own name differs (a
    lambda, a function or tool named otherwise) is renamed. Duplicate names raise
    `ValueError`.
    """
    result: dict[str, Tool] = {}
    if isinstance(items, Mapping):
        pairs = list(items.items())
    elif isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(
            f"as_tools() expects a sequence or a mapping of tools, not {type(items).__name__}"
        )
    else:
        pairs = [(None, item) for item in items]
    for key, item in pairs:
        if key is None:
            converted = as_tool(item)
        elif isinstance(item, Tool) or is_langchain_tool(item):
            converted = as_tool(item)
            if converted.name != key:
                converted = as_tool(converted, name=key)
        else:
            converted = as_tool(item, name=key)
        if converted.name in result:
            raise ValueError(f"duplicate tool name {converted.name!r}")
        result[converted.name] = converted
    return result
