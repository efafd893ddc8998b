"""The agents: LLMCompiler (planner, joiner, replanning)."""

from llmcompiler.agents.compiler import LLMCompiler, RunFailedError, RunResult

__all__ = ["LLMCompiler", "RunFailedError", "RunResult"]
