"""What a solved run leaves for later runs: its demonstration and the code it ran.

An LLMCompiler demonstration is the run's successful calls as ONE plan in the planner's
example format: the calls that finished well, in order, renumbered from 1 (references
rewritten to match), closed by `join()<END_OF_PLAN>`. Failed and skipped calls are left
out, and so are the `join()`s between rounds, so a run that needed a replan teaches the
plan that would have worked at once. A ReAct demonstration is its steps as ReAct's
examples write them (Thought / Action / Observation, then `Action: Finish(...)`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmcompiler.agents.base import RunResult
    from llmcompiler.memory.store import Solution

__all__ = ["code_of", "demonstration", "examples_text"]

END_OF_PLAN = "<END_OF_PLAN>"
HEADER = (
    "Questions like this one that were solved before, each with how it was solved "
    "(follow them where they fit, but answer the new question):"
)
_OBSERVATION_CHARS = 400
_NUMBER = re.compile(r"^\s*\d+\s*\.\s*")
_REFERENCE = re.compile(r"\$\{(\d+)\}|\$(\d+)")
# the code tool ends a success with its final code: "Code:" (or "Code (worked on try N):") and a fence
_FINAL_CODE = re.compile(r"\nCode(?: \(worked on try \d+\))?:\n```python\n(.*?)\n```\s*\Z", re.S)


def code_of(result: RunResult) -> tuple[str, ...]:
    """The final code of every task that finished with the code tool's success report."""
    found = []
    for record in result.tasks:
        if getattr(record.status, "value", record.status) != "done":
            continue
        match = _FINAL_CODE.search("\n" + record.observation)
        if match:
            found.append(match.group(1) + "\n")
    return tuple(found)


def demonstration(result: RunResult) -> str:
    return _react_demonstration(result) if result.agent == "react" else _plan_demonstration(result)


def _plan_demonstration(result: RunResult) -> str:
    kept = [
        r
        for r in sorted(result.tasks, key=lambda r: r.idx)
        if getattr(r.status, "value", r.status) == "done" and not r.task.is_join and r.task.error is None
    ]
    renumber = {record.idx: n for n, record in enumerate(kept, start=1)}

    def rewrite(match: re.Match[str]) -> str:
        old = int(match.group(1) or match.group(2))
        return f"${renumber[old]}" if old in renumber else match.group(0)

    lines = []
    for n, record in enumerate(kept, start=1):
        task = record.task
        call = _NUMBER.sub("", task.text.strip(), count=1) if task.text.strip() else task.call_text()
        if task.thought:
            lines.append(f"Thought: {' '.join(task.thought.split())}")
        lines.append(f"{n}. {_REFERENCE.sub(rewrite, call)}")
    lines.append(f"{len(kept) + 1}. join(){END_OF_PLAN}")
    return "\n".join(lines)


def _react_demonstration(result: RunResult) -> str:
    from llmcompiler.runtime.ledger import fold

    ledger = result.ledger if result.ledger is not None else fold(result.events)
    observations = {r.idx: r.observation for r in result.tasks}
    lines = []
    for step in ledger.steps:
        if step.answer is not None:
            lines += [f"Thought: {step.thought}", f"Action: Finish({step.answer})"]
            break
        if step.action:
            observation = " ".join(observations.get(step.step, "").split())
            if len(observation) > _OBSERVATION_CHARS:
                observation = observation[:_OBSERVATION_CHARS] + " ..."
            lines += [f"Thought: {step.thought}", f"Action: {step.action}", f"Observation: {observation}"]
    return "\n".join(lines)


def examples_text(solutions: Sequence[Solution]) -> str:
    blocks = [f"Question: {s.question.strip()}\n{(s.example or _fallback(s)).strip()}" for s in solutions]
    if not blocks:
        return ""
    return f"{HEADER}\n" + "\n###\n".join(blocks)


def _fallback(solution: Solution) -> str:
    """A stored row without a demonstration (written by hand, an import): its last plan."""
    plan = solution.plans[-1].strip() if solution.plans else ""
    if solution.agent != "react" and plan and END_OF_PLAN not in plan:
        plan += END_OF_PLAN
    return plan
