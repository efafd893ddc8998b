"""llmcompiler: parallel function calling with LLMs.

A planner model streams a plan (a DAG of tool calls), each call starts the moment its
inputs are ready, and a joiner model answers or asks for a new plan.

    from llmcompiler import LLMCompiler, tool
    from llmcompiler.llm import ScriptedModel
"""

from llmcompiler.agents import Cascade, CascadeResult, LLMCompiler, ReActAgent, RunFailedError, RunResult
from llmcompiler.exceptions import LLMCompilerError
from llmcompiler.runtime.events import Event
from llmcompiler.runtime.scheduler import TaskRecord, TaskStatus
from llmcompiler.tools import Tool, tool

__version__ = "0.1.0"  # the one version number: pyproject.toml reads it from here

__all__ = [
    "Cascade",
    "CascadeResult",
    "Event",
    "LLMCompiler",
    "LLMCompilerError",
    "ReActAgent",
    "RunFailedError",
    "RunResult",
    "TaskRecord",
    "TaskStatus",
    "Tool",
    "__version__",
    "tool",
]
