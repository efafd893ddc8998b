"""The typed events of a run: the one record of what happened and when.

Every event carries `t`, a `time.perf_counter()` reading taken when it was emitted (a
monotonic clock, comparable within a process). `EventLog` folds each event into its
`Ledger` (`runtime.ledger`) as it is emitted; the CLI view, traces, timelines, summaries
and benchmark statistics all read the ledger; nothing else measures time.

One run emits, in order of time:

    RunStarted(agent="llmcompiler")
      PlannerStarted(round) PlannerToken* TaskParsed* PlannerFinished(round)
      TaskReady / TaskStarted / TaskRetrying / TaskFinished | TaskFailed | TaskSkipped
      JoinerStarted(round) JoinerToken* JoinerFinished(round, action)
      [Replan(round) ... the same again for the next round]
    RunFinished(status)

and a ReAct run, step by step:

    RunStarted(agent="react")
      StepStarted(step) StepToken* StepFinished(step, thought, action | answer)
      [TaskParsed TaskReady TaskStarted ... TaskFinished | TaskFailed: the step's action]
    RunFinished(status)

(traces of older versions show ReAct's steps as PlannerStarted/Token/Finished and its
Finish as a JoinerFinished; the view still reads them.)

`ModelCall` is emitted after every model call (planner, joiner, or a tool that calls a
model) with its usage and timings. Task events are interleaved with planner tokens:
that overlap is the point of streaming.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from llmcompiler.llm.base import Usage
    from llmcompiler.plan.task import Task

# Who made a model call; not `llm.base.Role`, which is a chat message's speaker.
ModelRole = Literal["planner", "joiner", "react", "tool"]
Role = ModelRole  # the name before issue 10


# slots: a 10,000-task run makes 40,000+ of these and keeps them all; without a __dict__
# each is smaller and is one tracked object instead of two (instance and dict). It is still
# tracked by the cyclic garbage collector, and never untracked: CPython untracks only exact
# tuples and dicts of atomic values, not slotted instances nor tuple subclasses such as
# NamedTuple (checked on 3.11), so every kept event is traversed by each full collection.
# (A library must not change the collector's settings to avoid that: no gc.freeze or
# set_threshold here; the fix is fewer objects kept per task.)
@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    t: float = field(default_factory=time.perf_counter)

    @property
    def kind(self) -> str:
        return type(self).__name__


# A field with this metadata holds a Python object for the run's own consumers (the
# ledger, RunResult); traces do not save it, and a loaded trace has the default.
IN_MEMORY = {"trace": False}


@dataclass(frozen=True, kw_only=True, slots=True)
class RunStarted(Event):
    question: str
    agent: str = "llmcompiler"  # or "react"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannerStarted(Event):
    round: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannerToken(Event):
    round: int
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannerFinished(Event):
    round: int
    text: str
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class StepStarted(Event):
    """ReAct: the model call of one step begins."""

    step: int


@dataclass(frozen=True, kw_only=True, slots=True)
class StepToken(Event):
    step: int
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StepFinished(Event):
    """ReAct: what the model wrote in one step, and what it asks for."""

    step: int
    text: str
    thought: str = ""
    action: str = ""  # the tool call as written ("" when there is none, or it is Finish)
    answer: str | None = None  # the step said Finish(answer)
    error: str | None = None  # the model call failed


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelCall(Event):
    """One finished model call; `started`/`first_token` are perf_counter readings too."""

    role: ModelRole
    round: int
    model: str
    usage: Usage
    started: float
    first_token: float | None
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskParsed(Event):
    round: int
    task: Task


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskReady(Event):
    idx: int


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskStarted(Event):
    idx: int
    tool: str
    attempt: int = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskRetrying(Event):
    idx: int
    attempt: int
    error: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskFinished(Event):
    idx: int
    observation: str
    attempts: int = 1
    value: Any = field(default=None, compare=False, repr=False, metadata=IN_MEMORY)  # the tool's result


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskFailed(Event):
    idx: int
    error: str
    attempts: int = 0  # tool calls made (0: it never ran)


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskSkipped(Event):
    idx: int
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class JoinerStarted(Event):
    round: int


@dataclass(frozen=True, kw_only=True, slots=True)
class JoinerToken(Event):
    round: int
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class JoinerFinished(Event):
    round: int
    action: Literal["finish", "replan"]
    thought: str
    content: str
    forced: bool = False  # a Replan on the last allowed round, taken as the answer


@dataclass(frozen=True, kw_only=True, slots=True)
class Replan(Event):
    round: int  # the round about to start
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RunFinished(Event):
    answer: str
    error: str | None = None
    cancelled: bool = False
    status: str = ""  # a `ledger.RunStatus` value ("" in traces of older versions)
    exception: Any = field(default=None, compare=False, repr=False, metadata=IN_MEMORY)  # what ended it


# -- the log ------------------------------------------------------------------------------

# The four events every task has are kept in the log as tuples (code, t, *fields) rather
# than as Event instances: see EventList.
_PARSED, _READY, _STARTED, _FINISHED = range(4)


class EventList(Sequence[Event]):
    """A run's events in the order they were emitted; reading gives `Event` objects.

    Each task of a run has four events (TaskParsed, TaskReady, TaskStarted, TaskFinished),
    and a run keeps them all. Kept as Event instances, a 10,000-task run would hold 40,000
    objects that every full pass of the cyclic garbage collector traverses -- the longest
    stalls of the event loop during such a run. So `EventLog` keeps those four as plain
    tuples of their fields: CPython stops tracking a tuple whose items are all atomic
    (numbers, strings, None) at the first collection that sees it, which an Event instance
    never is. A TaskParsed keeps the position of its task in the ledger's `plan` instead of
    the task. Reading an item builds its Event (a new object each time, equal to the one the
    subscribers got); anything else emitted is kept as the object itself.
    """

    __slots__ = ("_items", "_plan")

    def __init__(self, items: list[Any], plan: list[Task]) -> None:
        self._items = items
        self._plan = plan

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self._event(item) for item in self._items[index]]
        return self._event(self._items[index])

    def __iter__(self) -> Iterator[Event]:
        event = self._event
        for item in self._items:
            yield event(item)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (EventList, list, tuple)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # (a list's equality: not hashable)

    def __repr__(self) -> str:
        return f"<EventList of {len(self)} events>"

    def _event(self, item: Any) -> Event:
        if type(item) is not tuple:
            return item
        code = item[0]
        if code == _FINISHED:
            return TaskFinished(t=item[1], idx=item[2], observation=item[3], attempts=item[4], value=item[5])
        if code == _STARTED:
            return TaskStarted(t=item[1], idx=item[2], tool=item[3], attempt=item[4])
        if code == _READY:
            return TaskReady(t=item[1], idx=item[2])
        return TaskParsed(t=item[1], round=item[2], task=self._plan[item[3]])


class EventLog:
    """Collects a run's events in order, folds each into `ledger`, then hands it to the
    subscribers (which may read the ledger: it already includes the event).

    `emit(event)` takes any event. The scheduler reports the four events of every task
    through `task_parsed`, `task_ready`, `task_started` and `task_finished` instead: the
    same events in the same order, folded the same way, but kept packed (see `EventList`),
    and built as objects only for subscribers.
    """

    def __init__(self, *subscribers: Callable[[Event], Any]) -> None:
        from llmcompiler.runtime.ledger import FOLD, Ledger  # the ledger reads these event types

        self._items: list[Any] = []
        self.ledger = Ledger()
        self.events = EventList(self._items, self.ledger.plan)
        self._fold = FOLD  # Ledger.apply's table, used here directly: this runs for every event
        self._subscribers = list(subscribers)

    def subscribe(self, callback: Callable[[Event], Any]) -> None:
        self._subscribers.append(callback)

    def emit(self, event: Event) -> None:
        self._items.append(event)
        fold = self._fold.get(type(event))
        if fold is not None:
            fold(self.ledger, event)
        if self._subscribers:
            self._tell(event)

    def task_parsed(self, round: int, task: Task) -> None:
        """Emit TaskParsed(round, task)."""
        t = perf_counter()
        self._items.append((_PARSED, t, round, len(self.ledger.plan)))
        self.ledger.task_parsed(round, task, t)
        if self._subscribers:
            self._tell(TaskParsed(t=t, round=round, task=task))

    def task_ready(self, idx: int) -> None:
        """Emit TaskReady(idx)."""
        t = perf_counter()
        self._items.append((_READY, t, idx))
        self.ledger.task_ready(idx, t)
        if self._subscribers:
            self._tell(TaskReady(t=t, idx=idx))

    def task_started(self, idx: int, tool: str, attempt: int = 1) -> None:
        """Emit TaskStarted(idx, tool, attempt)."""
        t = perf_counter()
        self._items.append((_STARTED, t, idx, tool, attempt))
        self.ledger.task_started(idx, t)
        if self._subscribers:
            self._tell(TaskStarted(t=t, idx=idx, tool=tool, attempt=attempt))

    def task_finished(self, idx: int, observation: str, attempts: int, value: Any) -> None:
        """Emit TaskFinished(idx, observation, attempts, value)."""
        t = perf_counter()
        self._items.append((_FINISHED, t, idx, observation, attempts, value))
        self.ledger.task_finished(idx, observation, attempts, value, t)
        if self._subscribers:
            self._tell(TaskFinished(t=t, idx=idx, observation=observation, attempts=attempts, value=value))

    def _tell(self, event: Event) -> None:
        for callback in self._subscribers:
            callback(event)
