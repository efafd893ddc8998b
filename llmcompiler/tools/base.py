"""The names `llmcompiler.tools.base` has always offered, now kept in modules of their own.

`Tool` and the `tool` decorator live in `llmcompiler.tools.tool`, `LangChainTool` in
`llmcompiler.tools.langchain`, `as_tool` / `as_tools` in `llmcompiler.tools.convert`.
"""

from llmcompiler.tools.convert import as_tool, as_tools
from llmcompiler.tools.langchain import LangChainTool
from llmcompiler.tools.tool import RESERVED_NAMES, Tool, tool

__all__ = ["RESERVED_NAMES", "LangChainTool", "Tool", "as_tool", "as_tools", "tool"]
