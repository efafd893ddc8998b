"""The planner's prompt: tools, rules, the user's examples and, when replanning, what came before."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmcompiler.exceptions import ConfigurationError, SolutionMemoryError
from llmcompiler.llm.base import Message, system, user
from llmcompiler.plan.parser import END_OF_PLAN

if TYPE_CHECKING:
    from llmcompiler.memory import SolutionMemory

_INTRO = """\
You plan how to answer a question with tools. Write the plan as numbered tool calls; the
calls run as soon as they are written, all at the same time unless one needs the result of
another. A reader then sees every result and either answers or asks you for a new plan."""

_RULES = """\
How to write the plan:
- One call per line, `ID. tool(arguments)`, with IDs counting up from {first_id}.
- Arguments are Python literals: strings, numbers, lists, dicts, True/False/None.
- `${{ID}}` or `$ID` stands for the result of call ID, alone (`f($2)`) or inside a string
  (`"compare $1 and $2"`). A call can only use results of calls above it.
- Give every call only the inputs it really needs, so that independent calls run in
  parallel; never make a call wait for a result it does not use.
- Call only the tools listed. A line `Thought: ...` before a call may explain it.
- End with a numbered `join()` call on its own line, directly followed by {end}."""

_TOOLS_HEADER = "Tools:"
_JOIN_LINE = "join(): ends the plan and hands every result to the reader. Always the last call."


@dataclass(frozen=True)
class EarlierRound:
    """What a replan is told about one earlier round."""

    plan: str  # the calls with their observations, as the joiner saw them
    thought: str  # the joiner's reasoning
    reason: str  # what the joiner said is missing


def planner_messages(
    *,
    question: str,
    tool_lines: Sequence[str],
    examples: str = "",
    first_id: int = 1,
    earlier: Iterable[EarlierRound] = (),
) -> list[Message]:
    """Messages for one planner call. `first_id` > 1 means a replan continuing the ids."""
    tools = "\n".join(f"{i}. {line}" for i, line in enumerate([*tool_lines, _JOIN_LINE], start=1))
    rules = _RULES.format(first_id=first_id, end=END_OF_PLAN)
    parts = [_INTRO, f"{_TOOLS_HEADER}\n{tools}", rules]
    if examples.strip():
        parts.append(f"Examples:\n{examples.strip()}")
    request = f"Question: {question}"
    earlier = list(earlier)
    if earlier:
        history = "\n\n".join(
            f"Round {n}:\n{r.plan}\nReader's thought: {r.thought}\nReader asked for: {r.reason}"
            for n, r in enumerate(earlier, start=1)
        )
        request += (
            f"\n\nEarlier rounds and their results:\n{history}\n\n"
            f"Write a new plan for what is still missing. Results above can be used as $ID; "
            f"do not call again what already succeeded. Number the new calls from {first_id}."
        )
    return [system("\n\n".join(parts)), user(request)]


# -- the memory of solved questions (shared by LLMCompiler and ReAct) ---------------------


def check_memory(memory: Any, suite: str, k: int) -> tuple[SolutionMemory | None, str, int]:
    """An agent's `memory`, `memory_suite` and `memory_k`, checked."""
    if memory is not None and not (callable(getattr(memory, "arecall", None)) and hasattr(memory, "examples_text")):
        raise ConfigurationError(f"memory must be a SolutionMemory or None, got {type(memory).__name__}")
    if not isinstance(suite, str):
        raise ConfigurationError(f"memory_suite must be a string, got {type(suite).__name__}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigurationError(f"memory_k must be a whole number >= 1, got {k!r}")
    return memory, suite, k


async def examples_with_memory(run: Any, examples: str, *, agent: str) -> str | None:
    """`examples` with the stored solutions most like the run's question ahead of them (the
    agent's `memory`, `memory_suite`, `memory_k`); `examples` as they are without a memory.
    None when the memory cannot be read: the run has then failed with its error."""
    memory = run.agent.memory
    if memory is None:
        return examples
    try:
        solutions = await memory.arecall(run.question, suite=run.agent.memory_suite, k=run.agent.memory_k, agent=agent)
    except SolutionMemoryError as exc:
        run.fail(exc)
        return None
    return join_examples(memory.examples_text(solutions), examples)


def join_examples(recalled: str, examples: str) -> str:
    """Recalled solutions first, then the suite's examples, separated as examples are ("###")."""
    parts = [part.strip() for part in (recalled, examples) if part.strip()]
    return "\n###\n".join(parts)
