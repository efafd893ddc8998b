"""langchain-core tools as `Tool`s.

langchain-core is imported only when a tool is actually converted: a `BaseTool` can only
exist once `langchain_core.tools` has been imported, which is what `is_langchain_tool`
checks first.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from llmcompiler.tools.docstring import parse_docstring
from llmcompiler.tools.schema import Parameters
from llmcompiler.tools.signature import annotation_text, read_signature
from llmcompiler.tools.tool import Tool

__all__ = ["LangChainTool", "is_langchain_tool"]


def is_langchain_tool(obj: Any) -> bool:
    # If langchain_core.tools was never imported, `obj` cannot be one of its tools.
    module = sys.modules.get("langchain_core.tools")
    base = getattr(module, "BaseTool", None) if module is not None else None
    return base is not None and isinstance(obj, base)


def _langchain_schema(base_tool: Any) -> dict[str, Any]:
    """The JSON schema of the arguments a model may pass to a langchain-core tool."""
    from langchain_core.tools.simple import Tool as SimpleTool  # lazy

    properties = {
        name: {k: v for k, v in dict(prop).items() if k != "title"} if isinstance(prop, Mapping) else {}
        for name, prop in base_tool.args.items()
    }
    full: Mapping[str, Any] = {}
    if isinstance(base_tool.args_schema, Mapping):
        full = base_tool.args_schema
    elif isinstance(base_tool, SimpleTool) and base_tool.args_schema is None:
        full = {"required": list(properties)}  # its one string input, `tool_input`
    else:
        try:
            model = base_tool.tool_call_schema
            if isinstance(model, Mapping):
                full = model
            elif hasattr(model, "model_json_schema"):
                full = model.model_json_schema()
            else:  # pydantic.v1 model
                full = model.schema()
        except Exception:  # a schema that can't be rendered: all arguments optional
            full = {}
    required = [r for r in full.get("required", ()) if r in properties]
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    for key in ("$defs", "definitions"):
        if key in full:
            schema[key] = full[key]
    return schema


class LangChainTool(Tool):
    """A langchain-core `BaseTool` as a `Tool`.

    The tool's JSON-schema fields become the call's parameters, in order: positional
    plan arguments map onto them in that order and keyword arguments by name. `func`
    is a coroutine function that builds the input dict and awaits
    ``langchain_tool.ainvoke(input)`` (langchain runs sync-only tools in its own
    executor), so `is_async` is true. `bind` returns ``((), input_dict)``.
    """

    def __init__(self, langchain_tool: Any, **options: Any) -> None:
        if not is_langchain_tool(langchain_tool):
            raise TypeError(f"expected a langchain-core BaseTool, got {type(langchain_tool).__name__}")
        unknown = set(options) - {"name", "description", "stringify_rule", "timeout", "retries",
                                  "max_concurrency"}
        if unknown:
            raise TypeError(f"unexpected option(s) for a langchain tool: {', '.join(sorted(unknown))}")
        self.langchain_tool = langchain_tool
        schema = _langchain_schema(langchain_tool)
        description, arg_docs = parse_docstring(langchain_tool.description or "")
        for field, text in arg_docs.items():
            prop = schema["properties"].get(field)
            if prop is not None and "description" not in prop:
                prop["description"] = text
        if options.get("description") is not None:
            description = options["description"]
        params = Parameters.from_schema(schema)
        name = options.get("name") or langchain_tool.name

        async def call_langchain_tool(*args: Any, **kwargs: Any) -> Any:
            return await langchain_tool.ainvoke(params.bind(name, args, kwargs))

        call_langchain_tool.__name__ = call_langchain_tool.__qualname__ = str(name)
        super().__init__(
            name,
            call_langchain_tool,
            description,
            options.get("stringify_rule"),
            args_schema=schema,
            timeout=options.get("timeout"),
            retries=options.get("retries", 0),
            max_concurrency=options.get("max_concurrency"),
        )
        self._call = self._shown = params
        # `@langchain_core.tools.tool` functions keep their function: show its return type.
        wrapped = getattr(langchain_tool, "coroutine", None) or getattr(langchain_tool, "func", None)
        sig = read_signature(wrapped) if callable(wrapped) else None
        self._returns = annotation_text(sig.return_annotation) if sig is not None else None

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``((), {field: value})``; `TypeError` for extra, unknown, repeated or missing
        arguments."""
        return (), self._call.bind(self.name, tuple(args), kwargs)
