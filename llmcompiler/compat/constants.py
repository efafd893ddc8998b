"""`src.llm_compiler.constants`: the plan's end marker and the joiner's two actions."""

from __future__ import annotations

from llmcompiler.plan.parser import END_OF_PLAN

__all__ = ["END_OF_PLAN", "JOINNER_FINISH", "JOINNER_REPLAN"]

JOINNER_FINISH = "Finish"
JOINNER_REPLAN = "Replan"
