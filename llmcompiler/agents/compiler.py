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
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from llmcompiler._compat import TaskGroup
from llmcompiler._compat import timeout as timeout_scope
from llmcompiler.agents.joiner import Decision, joiner_messages, parse_decision, render_scratchpad
from llmcompiler.agents.planner import EarlierRound, planner_messages
from llmcompiler.exceptions import ConfigurationError, LLMCompilerError
from llmcompiler.llm.base import NO_USAGE, CallRecord, ChatModel, Message, Usage, call_sink
from llmcompiler.llm.factory import as_model
from llmcompiler.llm.pricing import Price, cost
from llmcompiler.plan.parser import END_OF_PLAN, PlanParser
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.scheduler import Scheduler, TaskRecord
from llmcompiler.runtime.threads import ThreadRunner
from llmcompiler.tools import Tool, as_tools


class RunFailedError(LLMCompilerError):
    """`arun`/`run` finished without an answer; `.result` holds everything that happened."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.error or "the run ended without an answer")
        self.result = result


@dataclass
class RunResult:
    """Everything about one finished run."""

    question: str
    answer: str
    error: str | None
    tasks: list[TaskRecord]  # by id; a bad line that reused an id comes after its namesake
    plans: list[str]  # the planner's text, one per round
    decisions: list[ev.JoinerFinished]
    usage: dict[str, Usage]  # per role: planner, joiner, ...
    events: list[ev.Event] = field(repr=False)
    cancelled: bool = False

    @property
    def rounds(self) -> int:
        return len(self.plans)

    @property
    def duration(self) -> float:
        return self.events[-1].t - self.events[0].t if self.events else 0.0

    @property
    def total_usage(self) -> Usage:
        total = NO_USAGE
        for usage in self.usage.values():
            total = total + usage
        return total

    @property
    def model_calls(self) -> list[ev.ModelCall]:
        return [e for e in self.events if isinstance(e, ev.ModelCall)]

    def cost(self, prices: Mapping[str, Price] | None = None) -> dict[str, float | None]:
        """Dollars per role from the price table; None for a role with any unpriced model."""
        totals: dict[str, float | None] = {}
        for call in self.model_calls:
            dollars = cost(call.usage, call.model, prices)
            before = totals.get(call.role, 0.0)
            totals[call.role] = None if before is None or dollars is None else before + dollars
        return totals

    def latency(self) -> dict[str, dict[str, float]]:
        """Per role: calls, summed seconds of model calls and mean time to first token."""
        out: dict[str, dict[str, float]] = {}
        for call in self.model_calls:
            stats = out.setdefault(call.role, {"calls": 0, "seconds": 0.0, "ttft_mean": 0.0, "_ttft_n": 0})
            stats["calls"] += 1
            stats["seconds"] += call.t - call.started
            if call.first_token is not None:
                stats["ttft_mean"] += call.first_token - call.started
                stats["_ttft_n"] += 1
        for stats in out.values():
            n = stats.pop("_ttft_n")
            stats["ttft_mean"] = stats["ttft_mean"] / n if n else 0.0
        return out

    def task(self, idx: int) -> TaskRecord:
        for record in self.tasks:
            if record.idx == idx:
                return record
        raise KeyError(idx)


class LLMCompiler:
    """Answers questions by planning parallel tool calls; see the module docstring.

    `tools`: functions, `Tool`s or langchain-core tools. `planner`/`joiner`: models that
    speak `llmcompiler.llm.ChatModel` (the joiner defaults to the planner).
    `max_replans`: how many new plans the joiner may ask for (0 = one round only).
    `max_concurrency`: tool calls in flight at once (None = no limit).
    `stream=False` waits for the whole plan before running anything (for comparisons).
    `timeout`: seconds for a whole run; past it the run ends with an error.
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
    ) -> None:
        if max_replans < 0:
            raise ConfigurationError("max_replans must be >= 0")
        if max_concurrency is not None and max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be >= 1 or None")
        if timeout is not None and timeout <= 0:
            raise ConfigurationError("timeout must be > 0 or None")
        self.tools: dict[str, Tool] = as_tools(tools)
        self.planner = as_model(planner, role="planner")
        self.joiner = as_model(joiner, role="joiner") if joiner is not None else self.planner
        self.planner_examples = planner_examples
        self.joiner_examples = joiner_examples
        self.max_replans = max_replans
        self.max_concurrency = max_concurrency
        self.stream = stream
        self.timeout = timeout
        self.threads = threads

    # -- public API ----------------------------------------------------------------

    async def ainvoke(self, question: str) -> RunResult:
        """Run to the end and return everything that happened."""
        log = ev.EventLog()
        run = _Run(self, question, log)
        await run.execute()
        return run.result()

    async def arun(self, question: str) -> str:
        """Run and return the answer; raises `RunFailedError` when there is none."""
        result = await self.ainvoke(question)
        if result.error is not None:
            raise RunFailedError(result)
        return result.answer

    def run(self, question: str) -> str:
        """`arun` for synchronous code (not from inside a running event loop)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(question))
        raise RuntimeError("LLMCompiler.run() cannot be called from a running event loop; use `await arun()`")

    async def astream(self, question: str) -> AsyncIterator[ev.Event]:
        """Yield the run's events as they happen, ending with `RunFinished`.

        Leaving the loop early (break, an exception, aclose) cancels the run.
        """
        queue: asyncio.Queue[ev.Event] = asyncio.Queue()
        run = _Run(self, question, ev.EventLog(queue.put_nowait))
        worker = asyncio.ensure_future(run.execute())
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, worker}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                event = getter.result()
                yield event
                if isinstance(event, ev.RunFinished):
                    break
            while not queue.empty():
                yield queue.get_nowait()
            await worker  # re-raises a programmer error from inside the run
        finally:
            if not worker.done():
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker


class _Run:
    """The state of one run; `execute()` may be called once."""

    def __init__(self, compiler: LLMCompiler, question: str, log: ev.EventLog) -> None:
        self.c = compiler
        self.question = question
        self.log = log
        self.emit = log.emit
        self.answer = ""
        self.error: str | None = None
        self.cancelled = False
        self.plans: list[str] = []
        self.decisions: list[ev.JoinerFinished] = []
        self.earlier: list[EarlierRound] = []
        self.scheduler: Scheduler | None = None
        self.next_id = 1

    async def execute(self) -> None:
        self.emit(ev.RunStarted(question=self.question))
        scope = timeout_scope(self.c.timeout)
        sink_token = call_sink.set(self._tool_call_sink())
        try:
            async with scope:
                async with TaskGroup() as group:
                    self.scheduler = Scheduler(
                        self.c.tools,
                        group=group,
                        emit=self.emit,
                        max_concurrency=self.c.max_concurrency,
                        threads=self.c.threads,
                    )
                    await self._rounds()
        except TimeoutError:
            if not scope.expired():
                raise
            self.error = f"the run timed out after {self.c.timeout:g}s"
        except asyncio.CancelledError:
            self.cancelled = True
            self.error = "the run was cancelled"
            raise
        except BaseException as exc:
            self.error = f"internal error: {type(exc).__name__}: {exc}"
            raise
        finally:
            call_sink.reset(sink_token)
            self.emit(ev.RunFinished(answer=self.answer, error=self.error, cancelled=self.cancelled))

    def _tool_call_sink(self) -> Any:
        """Report model calls made by tools (through `llm.complete`) as ModelCall events."""
        loop = asyncio.get_running_loop()

        def record(call: CallRecord) -> None:
            event = ev.ModelCall(
                role="tool",
                round=len(self.plans) or 1,
                model=call.model,
                usage=call.usage,
                started=call.started,
                first_token=call.first_token,
                error=call.error,
            )
            if loop.is_closed():
                return
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self.emit(event)
            else:  # a sync tool in a worker thread: hand the event to the run's loop
                loop.call_soon_threadsafe(self.emit, event)

        return record

    async def _rounds(self) -> None:
        last = self.c.max_replans + 1
        for round in range(1, last + 1):
            plan_error = await self._plan(round)
            assert self.scheduler is not None
            await self.scheduler.drained()
            if plan_error is not None:
                self.error = f"the planner failed in round {round}: {plan_error}"
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

    async def _plan(self, round: int) -> str | None:
        """Stream one plan into the scheduler; returns an error message or None."""
        scheduler = self.scheduler
        assert scheduler is not None
        known = set(scheduler.records)
        parser = PlanParser(self.c.tools, first_id=self.next_id, known_ids=known)
        messages = planner_messages(
            question=self.question,
            tool_lines=[t.prompt_line() for t in self.c.tools.values()],
            examples=self.c.planner_examples,
            first_id=self.next_id,
            earlier=self.earlier,
        )
        self.emit(ev.PlannerStarted(round=round))

        def take(tasks: Iterable[Any]) -> None:
            for task in tasks:
                self.emit(ev.TaskParsed(round=round, task=task))
                scheduler.submit(task, round)
                self.next_id = max(self.next_id, task.idx + 1)

        def on_text(chunk: str) -> None:
            self.emit(ev.PlannerToken(round=round, text=chunk))
            if self.c.stream:
                take(parser.feed(chunk))

        text, error = await self._call_model("planner", round, self.c.planner, messages, stop=[END_OF_PLAN], on_text=on_text)
        if error is None:
            if not self.c.stream:
                take(parser.feed(text))
            take(parser.close())
        self.plans.append(text)
        self.emit(ev.PlannerFinished(round=round, text=text, error=error))
        return error

    # -- joiner ----------------------------------------------------------------------

    async def _join(self, round: int, *, final: bool) -> Decision | None:
        self.emit(ev.JoinerStarted(round=round))
        messages = joiner_messages(
            question=self.question,
            scratchpad="\n\n".join([*(r.plan for r in self.earlier), self._scratchpad(round)]),
            examples=self.c.joiner_examples,
            last_round=final,
        )
        text, error = await self._call_model(
            "joiner",
            round,
            self.c.joiner,
            messages,
            stop=(),
            on_text=lambda chunk: self.emit(ev.JoinerToken(round=round, text=chunk)),
        )
        if error is not None:
            self.error = f"the joiner failed in round {round}: {error}"
            return None
        decision = parse_decision(text)
        forced = final and decision.action == "replan"
        event = ev.JoinerFinished(
            round=round,
            action="finish" if forced else decision.action,
            thought=decision.thought,
            content="" if forced else decision.content,
            forced=forced,
        )
        self.decisions.append(event)
        self.emit(event)
        if forced:
            self.error = (
                f"the joiner asked for another plan after the last allowed round "
                f"(max_replans={self.c.max_replans}): {decision.content}"
            )
            return None
        return decision

    def _scratchpad(self, round: int) -> str:
        assert self.scheduler is not None
        lines = []
        for record in _ordered(self.scheduler):
            if record.round != round:
                continue
            task = record.task
            tool = self.c.tools.get(task.tool)
            call = tool.stringify(task.args, task.kwargs) if tool is not None and task.error is None else task.call_text()
            lines.append((task.thought, f"{task.idx}. {call}", record.observation))
        return render_scratchpad(lines)

    # -- models ----------------------------------------------------------------------

    async def _call_model(
        self,
        role: ev.Role,
        round: int,
        model: ChatModel,
        messages: list[Message],
        *,
        stop: Sequence[str],
        on_text: Any,
    ) -> tuple[str, str | None]:
        """Stream one model call; returns its text and an error message (None if it ended well)."""
        started = perf_counter()
        first: float | None = None
        usage = NO_USAGE
        parts: list[str] = []
        error: str | None = None
        stream: Any = None
        try:
            stream = model.stream(messages, stop=stop)
            async for item in stream:
                if isinstance(item, Usage):
                    usage = item
                    continue
                if first is None:
                    first = perf_counter()
                parts.append(item)
                on_text(item)
        except Exception as exc:  # the model or its connection failed; the run reports it
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            closer = getattr(stream, "aclose", None)  # close the connection on cancellation too
            if closer is not None:
                await closer()
        if usage.calls == 0:  # the backend reported nothing (it failed, or cannot count)
            usage = Usage(0, 0, 1)
        self.emit(
            ev.ModelCall(
                role=role,
                round=round,
                model=getattr(model, "name", type(model).__name__),
                usage=usage,
                started=started,
                first_token=first,
                error=error,
            )
        )
        return "".join(parts), error

    # -- result ------------------------------------------------------------------------

    def result(self) -> RunResult:
        usage: dict[str, Usage] = {}
        for event in self.log.events:
            if isinstance(event, ev.ModelCall):
                usage[event.role] = usage.get(event.role, NO_USAGE) + event.usage
        tasks = _ordered(self.scheduler) if self.scheduler is not None else []
        return RunResult(
            question=self.question,
            answer=self.answer,
            error=self.error,
            tasks=tasks,
            plans=self.plans,
            decisions=self.decisions,
            usage=usage,
            events=list(self.log.events),
            cancelled=self.cancelled,
        )


def _ordered(scheduler: Scheduler) -> list[TaskRecord]:
    records = sorted(scheduler.records.values(), key=lambda r: r.idx)
    for rejected in scheduler.rejected:
        position = next((i + 1 for i, r in enumerate(records) if r.idx == rejected.idx), len(records))
        records.insert(position, rejected)
    return records
