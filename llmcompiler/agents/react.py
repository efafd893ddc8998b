"""ReAct, the sequential baseline: one model call per step, one tool call per step.

The model writes

    Thought: what to do next
    Action: search("Mount Everest")

and is stopped at `Observation:`; the runtime runs the call and appends
`Observation: <result>` to the transcript, and the next step begins. The action uses the
plan's call syntax, so the same parser reads it (unknown tools and bad arguments become
failed tasks with the same precise messages). `Action: Finish(answer)` ends the run.

It runs on the same machinery as LLMCompiler (`agents.base`): the same tools, models,
scheduler and executor (timeouts, retries, worker threads), so the two are compared on
equal terms. Its events say what it did: `RunStarted(agent="react")`, then per step
`StepStarted`, `StepToken`s and `StepFinished` (the thought, and the action or the
answer), model calls with role "react"; each action is task number `step`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmcompiler._validate import positive_int
from llmcompiler.agents.base import EXAMPLE_BOUNDARIES, Agent, Run
from llmcompiler.agents.joiner import parse_decision
from llmcompiler.agents.planner import check_memory, examples_with_memory
from llmcompiler.exceptions import StepLimitError
from llmcompiler.llm.base import ChatModel, Message, system, user
from llmcompiler.llm.factory import as_model
from llmcompiler.plan.parser import PlanParser
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.threads import ThreadRunner

if TYPE_CHECKING:
    from llmcompiler.memory import SolutionMemory

OBSERVATION = "Observation:"

_INTRO = """\
You answer a question step by step with tools. Each step is exactly two lines:
Thought: <what you need next and why>
Action: <one tool call, e.g. tool("argument")>
Then stop: the result comes back as a line "Observation: ...". Repeat until you know the
answer, then write:
Thought: <why this is the answer>
Action: Finish(<the answer, as short as the question allows>)
Arguments are Python literals (strings, numbers, lists). Call only the tools below."""

_ACTION = re.compile(r"Action\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)


def _thought_of(text: str) -> str:
    """A step's reasoning: its text before `Action:`, without `Thought:`."""
    head = re.split(r"\bAction\s*:", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return re.sub(r"^\s*Thought\s*:\s*", "", head, flags=re.IGNORECASE).strip()


def react_messages(*, question: str, tool_lines: Sequence[str], examples: str, transcript: str) -> list[Message]:
    tools = "\n".join(f"{i}. {line}" for i, line in enumerate(tool_lines, start=1))
    parts = [_INTRO, f"Tools:\n{tools}"]
    if examples.strip():
        parts.append(f"Examples:\n{examples.strip()}")
    request = f"Question: {question}"
    if transcript:
        request += f"\n{transcript}"
    return [system("\n\n".join(parts)), user(request)]


class ReActAgent(Agent):
    """The ReAct baseline; same API as `LLMCompiler` (`arun`, `ainvoke`, `astream`, `run`).

    `max_steps`: model calls allowed before the run ends without an answer.
    `memory`, `memory_suite`, `memory_k`: as on `LLMCompiler`; the recalled ReAct solutions
    go ahead of `examples`.
    """

    def __init__(
        self,
        *,
        tools: Sequence[Any] | Mapping[str, Any],
        model: ChatModel,
        examples: str = "",
        max_steps: int = 10,
        timeout: float | None = None,
        threads: ThreadRunner | None = None,
        memory: SolutionMemory | None = None,
        memory_suite: str = "",
        memory_k: int = 3,
    ) -> None:
        checked = positive_int("max_steps", max_steps)
        assert checked is not None  # (None only where allowed)
        max_steps = checked
        self._setup(tools, max_concurrency=None, timeout=timeout, threads=threads)
        self.model = as_model(model, role="model")
        self.examples = examples
        self.max_steps = max_steps
        self.memory, self.memory_suite, self.memory_k = check_memory(memory, memory_suite, memory_k)

    def _new_run(self, question: str, log: ev.EventLog) -> Run:
        return _ReActRun(self, question, log)


class _ReActRun(Run):
    agent: ReActAgent
    kind = "react"

    async def proceed(self) -> None:
        transcript: list[str] = []
        tool_lines = [t.prompt_line() for t in self.agent.tools.values()]
        examples = await examples_with_memory(self, self.agent.examples, agent="react")
        if examples is None:
            return
        for step in range(1, self.agent.max_steps + 1):
            messages = react_messages(
                question=self.question,
                tool_lines=tool_lines,
                examples=examples,
                transcript="\n".join(transcript),
            )
            self.emit(ev.StepStarted(step=step))
            text, error, exception = await self._call_model(
                "react",
                step,
                self.agent.model,
                messages,
                stop=[OBSERVATION, *EXAMPLE_BOUNDARIES],
                on_text=lambda chunk, step=step: self.emit(ev.StepToken(step=step, text=chunk)),
            )
            text = text.strip()
            if error is not None and exception is not None:
                self.emit(ev.StepFinished(step=step, text=text, error=error))
                self.fail(exception, f"the model failed at step {step}: {error}")
                return
            match = _ACTION.search(text)
            action = match.group(1).strip() if match else ""
            # (with `action` a Finish, parse_decision finds it: None is only for the type)
            decision = parse_decision(text) if re.match(r"Finish\b", action, re.IGNORECASE) else None
            if decision is not None:
                self.emit(ev.StepFinished(step=step, text=text, thought=_thought_of(text), answer=decision.content))
                self.answer = decision.content
                return
            head = text[: match.start()].rstrip() if match else text
            call = action.splitlines()[0].strip() if action else ""
            self.emit(ev.StepFinished(step=step, text=text, thought=_thought_of(text), action=call))
            if action:
                observation = await self._act(step, call)
                transcript.append(f"{head}\nAction: {call}\n{OBSERVATION} {observation}")
            else:
                observation = "ERROR: no action found; write `Action: tool(arguments)` or `Action: Finish(answer)`"
                transcript.append(f"{head}\n{OBSERVATION} {observation}")
        self.fail(StepLimitError(f"ReAct reached its step limit ({self.agent.max_steps}) without an answer"))

    async def _act(self, step: int, call: str) -> str:
        """Run one action as task number `step` and return its observation."""
        assert self.scheduler is not None
        parser = PlanParser(self.agent.tools, first_id=step, known_ids=set(self.scheduler.records))
        tasks = parser.feed(f"{step}. {call}\n") + parser.close()
        task = tasks[0] if tasks else None
        if task is None or task.idx != step or task.is_join:
            return f"ERROR: cannot run the action {call!r}; write `Action: tool(arguments)` or `Action: Finish(answer)`"
        self.scheduler.submit(task, step)
        await self.scheduler.drained()
        return self.scheduler.records[step].observation
