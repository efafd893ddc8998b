"""Tools the planner can call: `Tool`, the `tool` decorator and adapters.

`as_tool` / `as_tools` accept `Tool` objects, plain (sync or async) callables and
langchain-core tools; langchain-core is imported only when one is actually converted.

The modules, one job each:

- `tool`: `Tool` and the `tool` decorator;
- `schema`: a tool's parameters (prompt rendering, JSON schema, argument binding);
- `signature` / `docstring`: reading a Python callable and its docstring;
- `langchain`: langchain-core tools as `Tool`s; `convert`: `as_tool` / `as_tools`;
- `remote`: `RayFunction`, the callable of a ``tool(ray=True)`` (the function runs as a
  Ray remote task; Ray is imported only by tools that ask for it);
- `math`, `wikipedia`: the tools of the paper's benchmarks.
"""

from llmcompiler.tools.convert import as_tool, as_tools
from llmcompiler.tools.langchain import LangChainTool
from llmcompiler.tools.tool import RESERVED_NAMES, Tool, tool

__all__ = ["RESERVED_NAMES", "LangChainTool", "Tool", "as_tool", "as_tools", "tool"]
