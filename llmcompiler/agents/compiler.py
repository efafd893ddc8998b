"""LLMCompiler: planner -> task fetching unit -> joiner, and replanning.

One run, round by round:

1. The planner model streams a plan. Every chunk goes through the `PlanParser`; each task it
   emits goes straight to the `Scheduler`, which starts it as soon as its inputs are ready,
   while the planner is still writing.
2. When the plan has ended and every task has finished, the joiner reads the calls and their
   observations and replies `Finish(answer)` or `Replan(reason)`.
3. A replan starts the next round: the planner sees the earlier rounds, their results and the
   joiner's thought, and continues the task ids, so the new plan can use earlier `$N`.
   The last allowed round (`max_replans`) always ends the run.

All of a run's asyncio tasks live in one TaskGroup; cancelling the run (or its `timeout`)
cancels every tool call and closes the planner's stream. Every step is reported as a typed
event (`llmcompiler.runtime.events`), and `RunResult` is built from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmcompiler._validate import non_negative_int
from llmcompiler.agents.base import EXAMPLE_BOUNDARIES, Agent, Run, RunFailedError, RunResult
from llmcompiler.agents.joiner import Decision, joiner_messages, parse_decision, render_scratchpad
from llmcompiler.agents.planner import EarlierRound, check_memory, examples_with_memory, planner_messages
from llmcompiler.exceptions import ModelError, NoDecisionError, ReplanLimitError
from llmcompiler.llm.base import ChatModel
from llmcompiler.llm.factory import as_model
from llmcompiler.plan.parser import END_OF_PLAN, PlanParser
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.threads import ThreadRunner

if TYPE_CHECKING:
    from llmcompiler.memory import SolutionMemory

__all__ = ["LLMCompiler", "RunFailedError", "RunResult"]


class LLMCompiler(Agent):
    """Answers questions by planning parallel tool calls; see the module docstring.

    `tools`: functions, `Tool`s or langchain-core tools. `planner`/`joiner`: models that
    speak `llmcompiler.llm.ChatModel` (the joiner defaults to the planner).
    `max_replans`: how many new plans the joiner may ask for (0 = one round only).
    `max_concurrency`: tool calls in flight at once (None = no limit).
    `stream=False` waits for the whole plan before running anything (for comparisons).
    `timeout`: seconds for a whole run; past it the run ends with an error.
    `memory`: a `SolutionMemory`; before its first plan a run recalls the `memory_k` solved
    questions of suite `memory_suite` most like its own and shows them to the planner
    ahead of `planner_examples` (it stores nothing: the caller decides what was solved).
    """

    def __init__(
        self,
        *,
        tools: Sequence[Any] | Mapping[str, Any],
        planner: ChatModel,
        joiner: ChatModel | None = None,
        planner_examples: str = "",
        joiner_examples: str = "",
        max_replans: int = 2,
        max_concurrency: int | None = None,
        stream: bool = True,
        timeout: float | None = None,
        threads: ThreadRunner | None = None,
        memory: SolutionMemory | None = None,
        memory_suite: str = "",
        memory_k: int = 3,
    ) -> None:
        checked = non_negative_int("max_replans", max_replans)
        assert checked is not None  # (None only where allowed)
        max_replans = checked
        self._setup(tools, max_concurrency=max_concurrency, timeout=timeout, threads=threads)
        self.planner = as_model(planner, role="planner")
        self.joiner = as_model(joiner, role="joiner") if joiner is not None else self.planner
        self.planner_examples = planner_examples
        self.joiner_examples = joiner_examples
        self.max_replans = max_replans
        self.stream = stream
        self.memory, self.memory_suite, self.memory_k = check_memory(memory, memory_suite, memory_k)

    def _new_run(self, question: str, log: ev.EventLog) -> Run:
        return _CompilerRun(self, question, log)


class _CompilerRun(Run):
    agent: LLMCompiler

    def __init__(self, compiler: LLMCompiler, question: str, log: ev.EventLog) -> None:
        super().__init__(compiler, question, log)
        self.earlier: list[EarlierRound] = []
        self.next_id = 1
        self.examples = compiler.planner_examples

    async def proceed(self) -> None:
        examples = await examples_with_memory(self, self.agent.planner_examples, agent="llmcompiler")
        if examples is None:
            return
        self.examples = examples
        last = self.agent.max_replans + 1
        for round in range(1, last + 1):
            plan_error = await self._plan(round)
            assert self.scheduler is not None
            await self.scheduler.drained()
            if plan_error is not None:
                message, exception = plan_error
                self.fail(exception, f"the planner failed in round {round}: {message}")
                return
            decision = await self._join(round, final=round == last)
            if decision is None:
                return
            if decision.action == "finish":
                self.answer = decision.content
                return
            self.earlier.append(EarlierRound(self._scratchpad(round), decision.thought, decision.content))
            self.emit(ev.Replan(round=round + 1, reason=decision.content))

    # -- planner ---------------------------------------------------------------------

    async def _plan(self, round: int) -> tuple[str, ModelError] | None:
        """Stream one plan into the scheduler; returns the model's error (message, exception) or None."""
        scheduler = self.scheduler
        assert scheduler is not None
        known = set(scheduler.records)
        parser = PlanParser(self.agent.tools, first_id=self.next_id, known_ids=known)
        messages = planner_messages(
            question=self.question,
            tool_lines=[t.prompt_line() for t in self.agent.tools.values()],
            examples=self.examples,
            first_id=self.next_id,
            earlier=self.earlier,
        )
        self.emit(ev.PlannerStarted(round=round))

        def take(tasks: Iterable[Any]) -> None:
            for task in tasks:
                scheduler.submit(task, round)  # (which reports it: TaskParsed)
                self.next_id = max(self.next_id, task.idx + 1)

        def on_text(chunk: str) -> None:
            self.emit(ev.PlannerToken(round=round, text=chunk))
            if self.agent.stream:
                take(parser.feed(chunk))

        text, error, exception = await self._call_model(
            "planner", round, self.agent.planner, messages, stop=[END_OF_PLAN, *EXAMPLE_BOUNDARIES], on_text=on_text
        )
        if error is None:
            if not self.agent.stream:
                take(parser.feed(text))
            take(parser.close())
        self.emit(ev.PlannerFinished(round=round, text=text, error=error))
        return None if error is None or exception is None else (error, exception)

    # -- joiner ----------------------------------------------------------------------

    async def _join(self, round: int, *, final: bool) -> Decision | None:
        self.emit(ev.JoinerStarted(round=round))
        messages = joiner_messages(
            question=self.question,
            scratchpad="\n\n".join([*(r.plan for r in self.earlier), self._scratchpad(round)]),
            examples=self.agent.joiner_examples,
            last_round=final,
        )
        text, error, exception = await self._call_model(
            "joiner",
            round,
            self.agent.joiner,
            messages,
            stop=EXAMPLE_BOUNDARIES,
            on_text=lambda chunk: self.emit(ev.JoinerToken(round=round, text=chunk)),
        )
        if error is not None and exception is not None:
            self.fail(exception, f"the joiner failed in round {round}: {error}")
            return None
        decision = parse_decision(text)
        if decision is None:
            reply = text.strip()
            if not reply:
                shown = "the reply was empty"
            else:
                shown = f"the reply was {reply!r}" if len(reply) <= 200 else f"the reply began {reply[:200]!r}"
            self.fail(
                NoDecisionError(
                    f"the joiner's reply in round {round} had no Action: Finish(...) or Replan(...); {shown}"
                )
            )
            return None
        forced = final and decision.action == "replan"
        event = ev.JoinerFinished(
            round=round,
            action="finish" if forced else decision.action,
            thought=decision.thought,
            content="" if forced else decision.content,
            forced=forced,
        )
        self.emit(event)
        if forced:
            self.fail(
                ReplanLimitError(
                    f"the joiner asked for another plan after the last allowed round "
                    f"(round {self.agent.max_replans + 1} of {self.agent.max_replans + 1}): {decision.content}"
                )
            )
            return None
        return decision

    def _scratchpad(self, round: int) -> str:
        assert self.scheduler is not None
        lines = []
        for record in self.scheduler.ordered():
            if record.round != round:
                continue
            task = record.task
            tool = self.agent.tools.get(task.tool)
            if tool is not None and tool.stringify_rule is not None and task.error is None:
                line = f"{task.idx}. {tool.stringify(task.args, task.kwargs)}"
            else:  # as the planner wrote it, which is also how the examples show calls
                line = task.text or f"{task.idx}. {task.call_text()}"
            lines.append((task.thought, line, record.observation))
        return render_scratchpad(lines)
