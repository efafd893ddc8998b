"""What every agent shares: the run machinery, the public API and `RunResult`.

An agent (LLMCompiler, ReAct) defines how a run proceeds (`Run.proceed`); everything around
it is the same for all of them, which is what makes comparisons fair: one TaskGroup per run
(cancelling the run cancels every tool call and model stream), the same scheduler and
executor for tool calls, the same typed events, the run `timeout`, usage per role, and the
same `RunResult`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmcompiler._compat import TaskGroup
from llmcompiler._compat import timeout as timeout_scope
from llmcompiler._text import describe_error
from llmcompiler._validate import positive_int, positive_seconds
from llmcompiler.exceptions import (
    ConfigurationError,
    InternalError,
    LLMCompilerError,
    ModelError,
    ModelTruncatedError,
    RunCancelledError,
    RunFailedError,
    RunTimeoutError,
)
from llmcompiler.llm.base import NO_USAGE, CallRecord, ChatModel, Message, Usage, call_sink, stream_call
from llmcompiler.llm.pricing import Price, cost
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import Ledger, RunStatus, TaskRecord, fold
from llmcompiler.runtime.scheduler import Scheduler
from llmcompiler.runtime.threads import ThreadRunner
from llmcompiler.tools import Tool, as_tools

# In-context examples are separated by "###" and start with "Question:". A completion
# model that finished its answer tends to go on writing the next example; stopping there
# keeps that text out of the parser and the joiner's decision.
EXAMPLE_BOUNDARIES = ("###", "\nQuestion:")


__all__ = ["Agent", "Run", "RunFailedError", "RunResult", "RunStatus"]


@dataclass
class RunResult:
    """Everything about one finished run, as its ledger (`runtime.ledger`) has it.

    `status` says how it ended (answered, failed, cancelled, timed out); `exception` is what
    ended a run without an answer (a `ModelError` from a model call, or a `RunError`), and
    `error` its one-line message.
    """

    question: str
    answer: str
    error: str | None
    # kept out of repr: a 10,000-task run would print megabytes
    tasks: list[TaskRecord] = field(repr=False)  # by id; a bad line that reused an id follows its namesake
    plans: list[str] = field(repr=False)  # the planner's text, one per round
    decisions: list[ev.JoinerFinished] = field(repr=False)
    usage: dict[str, Usage]  # per role: planner, joiner, ...
    events: Sequence[ev.Event] = field(repr=False)  # (a run's own: `events.EventList`)
    cancelled: bool = False
    status: RunStatus = RunStatus.ANSWERED
    exception: LLMCompilerError | None = field(default=None, repr=False)
    agent: str = "llmcompiler"  # which agent ran: "llmcompiler" or "react"
    ledger: Ledger | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_ledger(cls, ledger: Ledger, events: Sequence[ev.Event]) -> RunResult:
        return cls(
            question=ledger.question,
            answer=ledger.answer,
            error=ledger.error,
            tasks=ledger.ordered(),
            plans=ledger.plans,
            decisions=ledger.decisions,
            usage=dict(ledger.usage),
            events=events,
            cancelled=ledger.cancelled,
            status=ledger.status,
            exception=ledger.exception,
            agent=ledger.agent,
            ledger=ledger,
        )

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
        return (self.ledger if self.ledger is not None else fold(self.events)).model_calls

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


class Agent:
    """The public API every agent shares. Subclasses set the attributes below and `_new_run`."""

    tools: dict[str, Tool]
    max_concurrency: int | None
    timeout: float | None
    threads: ThreadRunner | None

    def _setup(
        self,
        tools: Sequence[Any] | Mapping[str, Any],
        *,
        max_concurrency: int | None,
        timeout: float | None,
        threads: ThreadRunner | None,
    ) -> None:
        max_concurrency = positive_int("max_concurrency", max_concurrency, allow_none=True)
        timeout = positive_seconds("timeout", timeout, allow_none=True)
        if threads is not None and not isinstance(threads, ThreadRunner):
            raise ConfigurationError(f"threads must be a ThreadRunner or None, got {type(threads).__name__}")
        self.tools = as_tools(tools)
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.threads = threads

    def _new_run(self, question: str, log: ev.EventLog) -> Run:
        raise NotImplementedError

    async def ainvoke(self, question: str, *, on_event: Callable[[ev.Event], Any] | None = None) -> RunResult:
        """Run to the end and return everything that happened.

        `on_event` is called with every event as it happens (a live view, a logger); it
        runs on the event loop, so it must be quick.
        """
        log = ev.EventLog(on_event) if on_event is not None else ev.EventLog()
        run = self._new_run(question, log)
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
        raise RuntimeError(
            f"{type(self).__name__}.run() cannot be called from a running event loop; use `await arun()`"
        )

    async def astream(self, question: str) -> AsyncIterator[ev.Event]:
        """Yield the run's events as they happen, ending with `RunFinished`.

        Leaving the loop early (break, an exception, aclose) cancels the run.
        """
        queue: asyncio.Queue[ev.Event] = asyncio.Queue()
        run = self._new_run(question, ev.EventLog(queue.put_nowait))
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


class Run:
    """One run; `execute()` may be called once. Subclasses implement `proceed`.

    What happened is in `self.log.ledger`; a run keeps only what drives it: the answer, or
    the status and exception that end it without one (reported in `RunFinished`).
    """

    kind = "llmcompiler"  # the agent named in RunStarted

    def __init__(self, agent: Agent, question: str, log: ev.EventLog) -> None:
        self.agent = agent
        self.question = question
        self.log = log
        self.emit = log.emit
        self.answer = ""
        self.error: str | None = None
        self.exception: LLMCompilerError | None = None
        self.status = RunStatus.ANSWERED
        self.scheduler: Scheduler | None = None
        self.group: TaskGroup | None = None

    @property
    def plans(self) -> list[str]:
        return self.log.ledger.plans

    def fail(
        self, exception: LLMCompilerError, message: str | None = None, *, status: RunStatus = RunStatus.FAILED
    ) -> None:
        """End the run without an answer; its error is `message`, else the exception's."""
        self.exception = exception
        self.error = str(exception) if message is None else message
        self.status = status

    async def execute(self) -> None:
        self.emit(ev.RunStarted(question=self.question, agent=self.kind))
        scope = timeout_scope(self.agent.timeout)
        sink_token = call_sink.set(self._tool_call_sink())
        try:
            async with scope:
                async with TaskGroup() as group:
                    self.group = group  # the run's one TaskGroup, for helpers of `proceed` too
                    self.scheduler = Scheduler(
                        self.agent.tools,
                        group=group,
                        log=self.log,
                        max_concurrency=self.agent.max_concurrency,
                        threads=self.agent.threads,
                    )
                    await self.proceed()
        except TimeoutError:
            if not scope.expired():
                raise
            self.fail(RunTimeoutError(f"the run timed out after {self.agent.timeout:g}s"), status=RunStatus.TIMED_OUT)
        except asyncio.CancelledError:
            self.fail(RunCancelledError("the run was cancelled"), status=RunStatus.CANCELLED)
            raise
        except BaseException as exc:
            internal = InternalError(f"internal error: {describe_error(exc)}")
            internal.__cause__ = exc
            self.fail(internal)
            raise
        finally:
            call_sink.reset(sink_token)
            if self.scheduler is not None:  # no record may stay waiting or running in the result
                self.scheduler.stop(self.error or "the run ended")
            self.emit(
                ev.RunFinished(
                    answer=self.answer,
                    error=self.error,
                    cancelled=self.status is RunStatus.CANCELLED,
                    status=self.status.value,
                    exception=self.exception,
                )
            )

    def _tool_call_sink(self) -> Any:
        """Report model calls made by tools (through `llm.complete`) as ModelCall events."""
        loop = asyncio.get_running_loop()

        def record(call: CallRecord) -> None:
            event = ev.ModelCall(
                role="tool",
                round=self.log.ledger.rounds or 1,
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

    async def proceed(self) -> None:
        """Drive the run: model calls, tasks via `self.scheduler`, and set `answer`/`error`."""
        raise NotImplementedError

    # -- models ----------------------------------------------------------------------

    async def _call_model(
        self,
        role: ev.ModelRole,
        round: int,
        model: ChatModel,
        messages: list[Message],
        *,
        stop: Sequence[str],
        on_text: Any,
        drain: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[str, str | None, ModelError | None]:
        """Stream one model call; returns its text, an error message and the error (None if
        it ended well; an exception that is not ours comes wrapped in a `ModelError`).

        A reply cut at its token limit is an error too: its text is only the start of what
        the model meant to write (callers must not parse it as whole).
        """
        done = await stream_call(model, messages, stop=stop, on_text=on_text)
        if drain is not None:  # what `on_text` handed on is handled before the call is reported
            await drain()
        self.emit(
            ev.ModelCall(
                role=role,
                round=round,
                model=getattr(model, "name", type(model).__name__),
                usage=done.usage,
                started=done.started,
                first_token=done.first_token,
                error=done.error_text,
            )
        )
        error = done.error
        if error is None:
            return done.text, None, None
        if not isinstance(error, ModelError):
            wrapped = ModelError(done.error_text or type(error).__name__)
            wrapped.__cause__ = error
            error = wrapped
        if isinstance(error, ModelTruncatedError):  # the callers' messages name the role
            limit = "the server's token limit" if error.limit is None else f"max_tokens={error.limit}"
            return done.text, f"its reply was cut at {limit}; raise max_tokens (--max_tokens)", error
        return done.text, done.error_text, error

    # -- result ------------------------------------------------------------------------

    def result(self) -> RunResult:
        # the log's own list, not a copy: it builds the packed task events only when read
        return RunResult.from_ledger(self.log.ledger, self.log.events)
