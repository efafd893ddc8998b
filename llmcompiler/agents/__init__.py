"""The agents: LLMCompiler (planner, joiner, replanning) and the ReAct baseline."""

from llmcompiler.agents.base import Agent, RunFailedError, RunResult, RunStatus
from llmcompiler.agents.compiler import LLMCompiler
from llmcompiler.agents.react import ReActAgent

__all__ = ["Agent", "LLMCompiler", "ReActAgent", "RunFailedError", "RunResult", "RunStatus"]
