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

import asyncio
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmcompiler._loop import yield_to_loop
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
            self.earlier.append(EarlierRound(await self._scratchpad(round), decision.thought, decision.content))
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
            last = 0
            for task in tasks:
                scheduler.submit(task, round)  # (which reports it: TaskParsed)
                if task.idx > last:
                    last = task.idx
            if last >= self.next_id:
                self.next_id = last + 1

        feed = _SlicedFeed(self, round, parser, take, stream=self.agent.stream)
        text, error, exception = await self._call_model(
            "planner",
            round,
            self.agent.planner,
            messages,
            stop=[END_OF_PLAN, *EXAMPLE_BOUNDARIES],
            on_text=feed.on_text,
            drain=feed.drain,
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
        scratchpad = await self._scratchpad(round)
        messages = joiner_messages(
            question=self.question,
            scratchpad="\n\n".join([*(r.plan for r in self.earlier), scratchpad]),
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

    async def _scratchpad(self, round: int) -> str:
        """The round's calls and observations for the joiner (and the next planner).

        Rendered SCRATCHPAD_SLICE records at a time with a turn of the event loop between
        slices: for 10,000 tasks it is ~10 ms of work, which would otherwise be one stall.
        """
        assert self.scheduler is not None
        lines: list[tuple[str | None, str, str]] = []
        rendered: list[str] = []  # the slices so far (render_scratchpad joins lines with "\n" too)
        for n, record in enumerate(self.scheduler.ordered(), 1):
            if n % SCRATCHPAD_SLICE == 0:
                if lines:
                    rendered.append(render_scratchpad(lines))
                    lines = []
                await yield_to_loop()
            if record.round != round:
                continue
            task = record.task
            tool = self.agent.tools.get(task.tool)
            if tool is not None and tool.stringify_rule is not None and task.error is None:
                line = f"{task.idx}. {tool.stringify(task.args, task.kwargs)}"
            else:  # as the planner wrote it, which is also how the examples show calls
                line = task.text or f"{task.idx}. {task.call_text()}"
            lines.append((task.thought, line, record.observation))
        if lines:
            rendered.append(render_scratchpad(lines))
        return "\n".join(rendered)


# A chunk with more lines than this is parsed and dispatched in slices of this many lines,
# with a turn of the event loop between slices (see `_SlicedFeed`).
SLICE_LINES = 16
# Records rendered between two turns of the event loop in `_scratchpad`.
SCRATCHPAD_SLICE = 500


class _SlicedFeed:
    """Hands the planner's chunks to the parser and the scheduler without stalling the loop.

    A small chunk (the usual: a few tokens) is handled at once, inside the model's stream,
    as it always was. A large one (a fast server's 256 tokens can complete hundreds of
    calls) would be parsed and dispatched in one synchronous step of tens of ms, during
    which no task that is already ready can start and no timer fires. Such a chunk goes to
    a consumer task in the run's TaskGroup instead, which feeds the parser SLICE_LINES
    lines at a time (the parser takes text in any pieces) and yields to the loop after each
    slice, so the tasks of the first lines start while the rest is parsed. Chunks stay in
    order, each one's PlannerToken comes before the tasks it completes (the same events as
    before), and `drain` (awaited before the model call is reported) lets the consumer finish.
    """

    __slots__ = ("_busy", "_consumer", "_ended", "_parser", "_pending", "_round", "_run", "_stream", "_take", "_wake")

    def __init__(self, run: _CompilerRun, round: int, parser: PlanParser, take: Any, *, stream: bool) -> None:
        self._run = run
        self._round = round
        self._parser = parser
        self._take = take
        self._stream = stream
        self._pending: deque[str] = deque()
        self._wake: asyncio.Event | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._busy = False
        self._ended = False

    def on_text(self, chunk: str) -> bool:
        """Take a chunk of the plan; True when it started tasks (the stream then lets the loop
        turn once, so that they start before more of the reply is read)."""
        if not (self._busy or self._pending) and (not self._stream or chunk.count("\n") <= SLICE_LINES):
            return self._handle(chunk)  # nothing queued before it: at once, as it arrives
        self._pending.append(chunk)
        if self._consumer is None:
            group = self._run.group
            assert group is not None
            self._wake = asyncio.Event()
            self._consumer = group.create_task(self._consume(), name="llmcompiler-plan-feed")
        assert self._wake is not None
        self._wake.set()
        return False

    def _handle(self, chunk: str) -> bool:
        self._run.emit(ev.PlannerToken(round=self._round, text=chunk))
        if self._stream:
            tasks = self._parser.feed(chunk)
            if tasks:
                self._take(tasks)
                return True
        return False

    async def _consume(self) -> None:
        wake = self._wake
        assert wake is not None
        pending = self._pending
        while True:
            wake.clear()
            while pending:
                self._busy = True
                chunk = pending.popleft()
                self._run.emit(ev.PlannerToken(round=self._round, text=chunk))
                at = 0
                while at < len(chunk):
                    end = _after_lines(chunk, at, SLICE_LINES)
                    self._take(self._parser.feed(chunk[at:end]))
                    at = end
                    if at < len(chunk) or pending:
                        await yield_to_loop()
                self._busy = False
            if self._ended:
                return
            await wake.wait()

    async def drain(self) -> None:
        """The model's stream has ended: let the consumer (if one was started) finish."""
        self._ended = True
        if self._consumer is not None:
            assert self._wake is not None
            self._wake.set()
            await self._consumer


def _after_lines(text: str, start: int, lines: int) -> int:
    """The index just past the `lines`-th newline from `start` (or the end of `text`)."""
    # exactly `lines` lines in one match, one C call a slice (`re` caches the compiled pattern)
    match = re.compile(rf"(?:[^\n]*\n){{{lines}}}").match(text, start)
    return len(text) if match is None else match.end()
