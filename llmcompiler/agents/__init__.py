"""The agents: LLMCompiler (planner, joiner, replanning), the ReAct baseline and the cascade of both."""

from llmcompiler.agents.base import Agent, RunFailedError, RunResult, RunStatus
from llmcompiler.agents.cascade import Cascade, CascadeResult, HumanJudge, LevelOutcome, ModelJudge, NoJudge
from llmcompiler.agents.compiler import LLMCompiler
from llmcompiler.agents.react import ReActAgent

__all__ = [
    "Agent",
    "Cascade",
    "CascadeResult",
    "HumanJudge",
    "LLMCompiler",
    "LevelOutcome",
    "ModelJudge",
    "NoJudge",
    "ReActAgent",
    "RunFailedError",
    "RunResult",
    "RunStatus",
]
