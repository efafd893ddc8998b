"""The ledger: the one fold of a run's events into what is known about the run.

Every consumer of a run — `RunResult`, the live view, timelines, summaries, the benchmark
statistics, and the scheduler itself when it asks whether a dependency is done — reads this
state; none of them folds events or measures time on its own. Times are the events' `t`.

State, updated by `apply(event)` in O(1) per event (a dict lookup by event type, then a few
assignments; nothing is sorted or copied on the way):

    question, agent            from RunStarted (`agent`: "llmcompiler" or "react")
    started, finished          RunStarted.t / RunFinished.t (None until seen)
    tasks      id -> TaskRecord
                 created by TaskParsed (not for `join()`, a marker), parsed_at = its t;
                 TaskReady -> ready_at; TaskStarted -> RUNNING, started_at;
                 TaskRetrying -> retry (the attempt about to start), retry_error;
                 TaskFinished -> DONE (value, observation, attempts), finished_at;
                 TaskFailed -> FAILED; TaskSkipped -> SKIPPED (observation = reason)
    plan       [Task]          every task parsed, `join()` markers included, in order
    parsed     [TaskRecord]    every record in the order its TaskParsed came, an id that a
                               (malformed) plan reused included: what a timeline draws
    rejected   [TaskRecord]    bad lines that reused a taken id: TaskParsed of a taken id
                               with a parse error waits in `_pending` for its TaskFailed
                               (the scheduler emits it at once), so the first task keeps id
    usage      role -> Usage   summed over ModelCall events; `model_calls` lists them
    plans      [str]           PlannerFinished.text, one per round (ReAct: StepFinished.text)
    planner_started  int       PlannerStarted (ReAct: StepStarted) events; a round cut
                               short has no text
    plan_done  round -> t      PlannerFinished.t (ReAct: StepFinished.t)
    steps      [StepFinished]  ReAct only: what each step asked for
    join_started  round -> t   JoinerStarted.t
    decisions  [JoinerFinished]
    replans    [Replan]
    answer, error, status, exception   from RunFinished (status RUNNING until then)

What a live display shows of the model call under way (the view, the web UI):

    round      int             the round being planned or last planned (ReAct: the step)
    streaming  "planner" | "joiner" | None
                               from PlannerStarted/StepStarted (planner: ReAct's model too)
                               or JoinerStarted to its *Finished; None between and after
    progress   role -> CallProgress   per "planner"/"joiner": chunks streamed by the call
                               of that role now under way or last made (reset when one
                               starts), replaced by the reported output tokens of its
                               ModelCall (`estimated` when the server sent no usage);
                               `tasks` counts the round's parsed tasks (planner only)

A trace with no RunStarted (older versions) names its agent from its model calls: a
"react" call means ReAct.

A trace saved by an older version has no `RunFinished.status`; it is then read from
`cancelled` and `error` (never from the message's text): cancelled, failed or answered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmcompiler.plan.task import JOIN
from llmcompiler.runtime import events as ev

if TYPE_CHECKING:
    from llmcompiler.exceptions import LLMCompilerError
    from llmcompiler.llm.base import Usage
    from llmcompiler.plan.task import Task


class TaskStatus(str, enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


# The members looked up once: `TaskStatus.DONE` is an attribute lookup on the enum's class
# (~70 ns on CPython 3.11), and every task passes several on its way.
_WAITING, _RUNNING, _DONE = TaskStatus.WAITING, TaskStatus.RUNNING, TaskStatus.DONE
_FAILED, _SKIPPED = TaskStatus.FAILED, TaskStatus.SKIPPED
_FINISHED = frozenset({_DONE, _FAILED, _SKIPPED})


class RunStatus(str, enum.Enum):
    """How a run ended (RUNNING until its RunFinished)."""

    RUNNING = "running"
    ANSWERED = "answered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


@dataclass(slots=True)
class CallProgress:
    """The current (or last) call of one model role, as a live display shows it."""

    tokens: int = 0
    estimated: bool = False
    tasks: int = 0  # tasks parsed in the planner's round

    @property
    def count(self) -> str:
        """The token count as shown: "~" marks our estimate."""
        return f"{'~' if self.estimated else ''}{self.tokens}"


@dataclass(eq=False, slots=True)  # slots: 10,000s of them per run, read on every event
class TaskRecord:
    """A task and what became of it; times are the `t` of the events that said so."""

    task: Task
    round: int
    status: TaskStatus = TaskStatus.WAITING
    result: Any = None  # the tool's return value (DONE only)
    observation: str = ""
    attempts: int = 0
    parsed_at: float = 0.0
    ready_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    retry: int = 0  # the attempt a TaskRetrying announced (0: none yet)
    retry_error: str = ""  # what the attempt before it failed with

    @property
    def idx(self) -> int:
        return self.task.idx

    @property
    def tool(self) -> str:
        return self.task.tool

    @property
    def deps(self) -> tuple[int, ...]:
        return self.task.deps

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    # what a finished task offers the references of its dependents (`executor.resolve`)
    @property
    def value(self) -> Any:
        return self.result

    @property
    def text(self) -> str:
        return self.observation


class Ledger:
    """See the module docstring. Feed it every event of one run, in order."""

    def __init__(self) -> None:
        self.question = ""
        self.agent = "llmcompiler"
        self.started: float | None = None
        self.finished: float | None = None
        self.tasks: dict[int, TaskRecord] = {}
        self.plan: list[Task] = []
        self.parsed: list[TaskRecord] = []
        self.rejected: list[TaskRecord] = []
        self._pending: dict[int, TaskRecord] = {}
        self.usage: dict[str, Usage] = {}
        self.model_calls: list[ev.ModelCall] = []
        self.plans: list[str] = []
        self.planner_started = 0
        self.plan_done: dict[int, float] = {}
        self.steps: list[ev.StepFinished] = []
        self.join_started: dict[int, float] = {}
        self.decisions: list[ev.JoinerFinished] = []
        self.replans: list[ev.Replan] = []
        self.answer = ""
        self.error: str | None = None
        self.status = RunStatus.RUNNING
        self.exception: LLMCompilerError | None = None
        self.round = 0
        self.streaming: str | None = None
        self.progress = {"planner": CallProgress(), "joiner": CallProgress()}

    def apply(self, event: ev.Event) -> None:
        handler = FOLD.get(type(event))
        if handler is not None:
            handler(self, event)

    # -- readers -------------------------------------------------------------------

    @property
    def rounds(self) -> int:
        return len(self.plans)

    def dispatch_delays(self) -> list[float]:
        """Seconds from each task's TaskReady to its TaskStarted (tasks that started)."""
        return [
            r.started_at - r.ready_at
            for r in self.tasks.values()
            if r.started_at is not None and r.ready_at is not None
        ]

    @property
    def cancelled(self) -> bool:
        return self.status is RunStatus.CANCELLED

    def ordered(self) -> list[TaskRecord]:
        """Every task by id; a bad line that reused an id comes right after its namesake."""
        # sorting the int keys (each record's own idx), not the records by a key function:
        # ~10x faster, and this runs before the joiner and for the result (10,000 records:
        # 2 ms a time, in one step of the event loop)
        tasks = self.tasks
        records = [tasks[idx] for idx in sorted(tasks)]
        if not self.rejected:
            return records
        by_id: dict[int, list[TaskRecord]] = {}
        for record in self.rejected:
            by_id.setdefault(record.idx, []).append(record)
        return [r for first in records for r in (first, *by_id.get(first.idx, ()))]

    # -- the fold ------------------------------------------------------------------

    def _run_started(self, e: ev.RunStarted) -> None:
        self.question, self.agent, self.started = e.question, e.agent, e.t

    def _planner_started(self, e: ev.PlannerStarted) -> None:
        self.planner_started += 1
        self._call_started("planner", e.round)

    def _step_started(self, e: ev.StepStarted) -> None:
        self.planner_started += 1
        self._call_started("planner", e.step)

    def _call_started(self, role: str, round: int | None = None) -> None:
        self.streaming = role
        self.progress[role] = CallProgress()
        if round is not None:
            self.round = round

    def _planner_token(self, e: ev.Event) -> None:
        self.progress["planner"].tokens += 1

    def _joiner_token(self, e: ev.JoinerToken) -> None:
        self.progress["joiner"].tokens += 1

    def _planner_finished(self, e: ev.PlannerFinished) -> None:
        self.plans.append(e.text)
        self.plan_done[e.round] = e.t
        self.streaming = None

    def _step_finished(self, e: ev.StepFinished) -> None:
        self.plans.append(e.text)
        self.plan_done[e.step] = e.t
        self.steps.append(e)
        self.streaming = None

    def _joiner_started(self, e: ev.JoinerStarted) -> None:
        self.join_started[e.round] = e.t
        self._call_started("joiner")

    def _model_call(self, e: ev.ModelCall) -> None:
        self.model_calls.append(e)
        before = self.usage.get(e.role)
        self.usage[e.role] = e.usage if before is None else before + e.usage
        if self.started is None and e.role == "react":
            self.agent = "react"  # a trace from before RunStarted named the agent
        role = "planner" if e.role in ("planner", "react") else e.role
        progress = self.progress.get(role)
        if progress is not None and e.usage.output_tokens:
            progress.tokens, progress.estimated = e.usage.output_tokens, e.usage.estimated

    def _task_parsed(self, e: ev.TaskParsed) -> None:
        self.task_parsed(e.round, e.task, e.t)

    def _task_ready(self, e: ev.TaskReady) -> None:
        self.task_ready(e.idx, e.t)

    def _task_started(self, e: ev.TaskStarted) -> None:
        self.task_started(e.idx, e.t)

    # The fold of the four events every task has, by their fields: `EventLog` calls these
    # directly for the events it keeps packed (`events.EventList`), the methods above for
    # the Event objects -- one fold either way.

    def task_parsed(self, round: int, task: Task, t: float) -> None:
        self.plan.append(task)
        if task.tool == JOIN and task.error is None:  # (`task.is_join`, without the property call)
            return
        # (positionally, to parsed_at: a keyword doubles the cost of the call, 0.2 us a task)
        record = TaskRecord(task, round, _WAITING, None, "", 0, t)
        self.parsed.append(record)
        self.progress["planner"].tasks += 1
        if task.idx in self.tasks and task.error is not None:
            self._pending[task.idx] = record
        else:
            self.tasks[task.idx] = record

    def task_ready(self, idx: int, t: float) -> None:
        record = self.tasks.get(idx)
        if record is not None:  # (a hand-edited trace may name a task it never parsed)
            record.ready_at = t

    def task_started(self, idx: int, t: float) -> None:
        record = self.tasks.get(idx)
        if record is None:
            return
        record.status = _RUNNING
        record.started_at = t

    def task_finished(self, idx: int, observation: str, attempts: int, value: Any, t: float) -> None:
        record = self.tasks.get(idx)
        if record is None:
            return
        record.status = _DONE
        record.result = value
        record.observation = observation
        record.attempts = attempts
        record.finished_at = t

    def _task_retrying(self, e: ev.TaskRetrying) -> None:
        record = self.tasks.get(e.idx)
        if record is not None:
            record.retry, record.retry_error = e.attempt, e.error

    def _task_finished(self, e: ev.TaskFinished) -> None:
        self.task_finished(e.idx, e.observation, e.attempts, e.value, e.t)

    def _task_failed(self, e: ev.TaskFailed) -> None:
        record = self._pending.pop(e.idx, None)
        if record is not None:
            self.rejected.append(record)
        else:
            record = self.tasks.get(e.idx)
            if record is None:
                return
        record.status = _FAILED
        record.observation = e.error
        record.attempts = e.attempts
        record.finished_at = e.t

    def _task_skipped(self, e: ev.TaskSkipped) -> None:
        record = self.tasks.get(e.idx)
        if record is None:
            return
        record.status = _SKIPPED
        record.observation = e.reason
        record.finished_at = e.t

    def _joiner_finished(self, e: ev.JoinerFinished) -> None:
        self.streaming = None
        self.decisions.append(e)

    def _replan(self, e: ev.Replan) -> None:
        self.replans.append(e)

    def _run_finished(self, e: ev.RunFinished) -> None:
        self.finished = e.t
        self.streaming = None
        self.answer, self.error, self.exception = e.answer, e.error, e.exception
        if e.status:
            self.status = RunStatus(e.status)
        elif e.cancelled:
            self.status = RunStatus.CANCELLED
        else:
            self.status = RunStatus.ANSWERED if e.error is None else RunStatus.FAILED


# event type -> the method that folds it; `EventLog.emit` looks it up itself (one call less
# per event on the hot path), `Ledger.apply` for everyone else.
FOLD: dict[type, Callable[[Ledger, Any], None]] = {
    ev.RunStarted: Ledger._run_started,
    ev.PlannerStarted: Ledger._planner_started,
    ev.PlannerFinished: Ledger._planner_finished,
    ev.StepStarted: Ledger._step_started,
    ev.PlannerToken: Ledger._planner_token,
    ev.StepToken: Ledger._planner_token,
    ev.JoinerToken: Ledger._joiner_token,
    ev.StepFinished: Ledger._step_finished,
    ev.ModelCall: Ledger._model_call,
    ev.TaskParsed: Ledger._task_parsed,
    ev.TaskReady: Ledger._task_ready,
    ev.TaskStarted: Ledger._task_started,
    ev.TaskRetrying: Ledger._task_retrying,
    ev.TaskFinished: Ledger._task_finished,
    ev.TaskFailed: Ledger._task_failed,
    ev.TaskSkipped: Ledger._task_skipped,
    ev.JoinerStarted: Ledger._joiner_started,
    ev.JoinerFinished: Ledger._joiner_finished,
    ev.Replan: Ledger._replan,
    ev.RunFinished: Ledger._run_finished,
}


def fold(events: Any) -> Ledger:
    """A ledger of events already recorded (a loaded trace, `RunResult.events`)."""
    ledger = Ledger()
    for event in events:
        ledger.apply(event)
    return ledger
