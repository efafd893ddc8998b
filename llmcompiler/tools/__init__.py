"""Tools the planner can call: `Tool`, the `tool` decorator and adapters.

`as_tool` / `as_tools` accept `Tool` objects, plain (sync or async) callables and
langchain-core tools; langchain-core is imported only when one is actually converted.
"""

from llmcompiler.tools.base import RESERVED_NAMES, LangChainTool, Tool, as_tool, as_tools, tool

__all__ = ["RESERVED_NAMES", "LangChainTool", "Tool", "as_tool", "as_tools", "tool"]
