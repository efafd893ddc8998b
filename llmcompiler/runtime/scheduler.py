"""The task fetching unit: starts every task the moment its inputs are ready.

What a task *is* now (waiting, running, done, failed, skipped; its observation, its value,
its times) is the run's ledger (`runtime.ledger`): the scheduler changes it only by
emitting events into the run's `EventLog`, which folds each one before `emit` returns, and
reads it back through `records` (the ledger's `tasks`). The values that `$N` references
resolve to are the ledger's too (`TaskRecord.value`/`.text`). What the scheduler keeps of
its own is only what deciding *when* needs, all touched only from the event loop's thread:

    remaining   id -> int             dependencies of a waiting task not finished yet
    dependents  id -> [id, ...]       waiting tasks to tell when this one finishes
    unfinished  int                   submitted tasks not yet done/failed/skipped;
                                      `idle` (an asyncio.Event) is set while it is 0

It reads no clock: every time is the `t` of the event that reports the change.

`submit(task)` is called by the planner loop for each task as the parser emits it; it
emits `TaskParsed` (for `join()` too, which is only a marker and goes no further), then:

    - a task the parser marked with an error fails at once;
    - a dependency that already failed or was skipped skips the task at once;
    - otherwise remaining[id] = number of unfinished dependencies, and the task is added
      to each of those dependencies' `dependents`; with none, it starts now.

When a task finishes, each dependent's count goes down by one and those reaching zero
start at once (a new asyncio task in the run's TaskGroup); if it failed, its dependents
(and theirs, transitively) are skipped with "skipped: $k failed". Nothing polls or sleeps:
every state change is caused by a submit or a finishing task.

Worked example, plan `1. a()  2. b()  3. c($1, $2)  4. d($3)`:

    submit 1      remaining={}            start 1
    submit 2      remaining={}            start 2          (1 and 2 run in parallel)
    submit 3      remaining={3: 2}        dependents={1: [3], 2: [3]}
    submit 4      remaining={3: 2, 4: 1}  dependents={..., 3: [4]}
    1 finishes    remaining={3: 1, 4: 1}
    2 finishes    remaining={4: 1}        start 3
    3 finishes    remaining={}            start 4
    4 finishes    unfinished=0            idle is set: the round can be joined

Had 1 failed: 3 is skipped ("skipped: $1 failed"), then 4 ("skipped: $3 failed"), and 2
still runs to its end.

A run that stops early (its timeout, a cancellation) cancels the TaskGroup; once the group
has exited, the run calls `stop(why)`, which ends every task still open so that no record
stays waiting or running: one that was running fails with "ERROR: cancelled: <why> while
the tool was running", one that had not started (waiting for inputs or for a concurrency
slot) is skipped with "skipped: <why> before the task could start".
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable, Mapping
from types import CoroutineType

from llmcompiler._compat import TaskGroup
from llmcompiler.plan.task import JOIN, Task
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.executor import call_tool, error_text, failure_of, observe, resolve, resolve_args
from llmcompiler.runtime.ledger import _DONE, _FAILED, _SKIPPED, TaskRecord, TaskStatus
from llmcompiler.runtime.protocols import RuntimeTool
from llmcompiler.runtime.threads import ThreadRunner, shared_runner

__all__ = ["Scheduler", "TaskRecord", "TaskStatus"]  # the record types live in the ledger

# At most this many tasks are started (created in the TaskGroup) per event-loop iteration.
# Every task created in one iteration runs its first step in the next one, before any timer
# or I/O callback that falls due meanwhile: a task finishing with 10,000 dependents would
# stall the loop for the whole batch (tens of ms). The rest wait in `_ready`, in order, and
# go in the next iterations (a `call_soon`, so nothing polls or sleeps); a small plan never
# reaches this and starts every task at once.
START_SLICE = 128

_FAILED_OR_SKIPPED = frozenset({_FAILED, _SKIPPED})  # (the ledger's members, looked up once)


class Scheduler:
    """See the module docstring. Use inside the run's TaskGroup; one per run."""

    def __init__(
        self,
        tools: Mapping[str, RuntimeTool],
        *,
        group: TaskGroup,
        log: ev.EventLog,
        max_concurrency: int | None = None,
        threads: ThreadRunner | None = None,
    ) -> None:
        self._tools = tools
        self._group = group
        self._log = log
        self._emit = log.emit
        self._ledger = log.ledger
        self._threads = threads or shared_runner()
        self._limit = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._tool_limits = {
            name: asyncio.Semaphore(t.max_concurrency) for name, t in tools.items() if t.max_concurrency
        }
        # each tool's coroutine function: `_run_direct` for a tool that is async, with no
        # timeout, no retries and no limit of its own or of the run's; `_run` for the others
        self._runs = {
            name: Scheduler._run_direct
            if t.is_async and t.timeout is None and t.retries <= 0 and not t.max_concurrency and not max_concurrency
            else Scheduler._run
            for name, t in tools.items()
        }
        self.records: dict[int, TaskRecord] = log.ledger.tasks  # read only: the ledger keeps it
        self._remaining: dict[int, int] = {}
        self._dependents: dict[int, list[int]] = {}
        self._unfinished = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._ready: deque[TaskRecord] = deque()  # ready tasks past this iteration's START_SLICE
        self._started_now = 0  # tasks started since the last `_next_slice`
        self._slice_pending = False  # a `_next_slice` is scheduled

    # -- public --------------------------------------------------------------------

    def submit(self, task: Task, round: int) -> None:
        """Take a task the parser has just emitted (a `join()` is only a marker)."""
        self._log.task_parsed(round, task)
        if task.tool == JOIN and task.error is None:  # (`task.is_join`, without the property call)
            return
        if task.error is not None:
            self._emit(ev.TaskFailed(idx=task.idx, error=f"ERROR: PlanError: {task.error}"))
            return
        records = self.records
        record = records[task.idx]
        if not self._unfinished:  # going busy
            self._idle.clear()
        self._unfinished += 1
        waiting = 0
        for dep in task.deps:
            upstream = records.get(dep)
            if upstream is None or upstream.status in _FAILED_OR_SKIPPED:
                why = f"skipped: ${dep} failed" if upstream else f"skipped: ${dep} does not exist"
                self._skip_from(record, why)
                return
            if upstream.status is not _DONE:
                self._dependents.setdefault(dep, []).append(task.idx)
                waiting += 1
        if waiting:
            self._remaining[task.idx] = waiting
        else:
            self._start(record)

    @property
    def rejected(self) -> list[TaskRecord]:
        """Bad lines whose id was already taken (the ledger's)."""
        return self._ledger.rejected

    def ordered(self) -> list[TaskRecord]:
        """Every task by id; a bad line that reused an id comes right after its namesake."""
        return self._ledger.ordered()

    async def drained(self) -> None:
        """Wait until every submitted task has finished."""
        await self._idle.wait()

    def stop(self, why: str) -> None:
        """End every unfinished task, saying `why` (the run stopped; its TaskGroup has exited)."""
        self._ready.clear()  # never to be started now
        if self._unfinished == 0:  # the usual end: nothing to stop, and no 10,000-record sort
            return
        for record in sorted(self.records.values(), key=lambda r: r.idx):
            if record.status.finished:
                continue
            self._remaining.pop(record.idx, None)
            if record.status is TaskStatus.RUNNING:
                error = f"ERROR: cancelled: {why} while the tool was running"
                self._emit(ev.TaskFailed(idx=record.idx, error=error))
            else:
                self._emit(ev.TaskSkipped(idx=record.idx, reason=f"skipped: {why} before the task could start"))
            self._end()

    # -- internals -----------------------------------------------------------------

    def _start(self, record: TaskRecord) -> None:
        idx = record.task.idx
        self._log.task_ready(idx)
        if self._started_now < START_SLICE and not self._ready:
            self._started_now += 1
            # (no name=: formatting one and setting it costs ~1 us a task, a twentieth of the
            # whole per-task cost; the task's coroutine, `Scheduler._run` or `_run_direct`, says what it is)
            self._group.create_task(self._runs[record.task.tool](self, record))
        else:
            self._ready.append(record)
            if not self._slice_pending:
                self._slice_pending = True
                asyncio.get_running_loop().call_soon(self._next_slice)

    def _next_slice(self) -> None:
        """A new loop iteration: a new START_SLICE budget, spent first on the tasks waiting.

        Scheduled only once the budget is spent (not after every start: a chain of 10,000
        tasks starts one per iteration, and a callback each would be 10,000 callbacks), so
        the count can span iterations; it is reset here, where it ran out, which keeps the
        bound -- at most START_SLICE starts in one iteration -- and costs a task at most one
        iteration's wait when the count ran out early."""
        self._slice_pending = False
        self._started_now = 0
        ready = self._ready
        while ready and self._started_now < START_SLICE:
            record = ready[0]
            run = self._runs[record.task.tool](self, record)
            try:
                self._group.create_task(run)
            except RuntimeError:  # the TaskGroup is shutting down: `stop` skips what is left
                run.close()  # (never to run: no "was never awaited" warning)
                ready.clear()
                return
            ready.popleft()
            self._started_now += 1
        if self._started_now:  # (reset the budget once more, one iteration later)
            self._slice_pending = True
            asyncio.get_running_loop().call_soon(self._next_slice)

    async def _run(self, record: TaskRecord) -> None:
        """A task's asyncio task: the tool called through `call_tool`, with its limits."""
        task = record.task
        tool = self._tools[task.tool]
        arguments = self._arguments(task)
        if arguments is None:
            self._finish(record)
            return
        args, kwargs = arguments
        tool_limit = self._tool_limits.get(task.tool)
        if tool_limit is not None:
            await tool_limit.acquire()
        try:
            if self._limit is not None:
                await self._limit.acquire()
            try:
                self._log.task_started(task.idx, task.tool)
                outcome = await call_tool(
                    tool,
                    args,
                    kwargs,
                    threads=self._threads,
                    # a closure only for a tool that retries: most never do, and each closure
                    # is one more container per task for the garbage collector
                    on_retry=self._retry_reporter(task.idx) if tool.retries else None,
                )
            finally:
                if self._limit is not None:
                    self._limit.release()
        finally:
            if tool_limit is not None:
                tool_limit.release()
        if outcome.ok:
            self._log.task_finished(task.idx, outcome.observation, outcome.attempts, outcome.value)
        else:
            self._emit(ev.TaskFailed(idx=task.idx, error=outcome.observation, attempts=outcome.attempts))
        self._finish(record)

    async def _run_direct(self, record: TaskRecord) -> None:
        """`_run` for a tool `_runs` gives it to (async, no timeout, no retries, no limit: nearly
        every task of a large plan): called right here, as `call_tool` would call it, with
        no limit to take, no timeout scope, no retry loop and no `Outcome` -- one coroutine
        and two objects less per task."""
        task = record.task
        tool = self._tools[task.tool]
        arguments = self._arguments(task)
        if arguments is not None:
            self._log.task_started(task.idx, task.tool)
            try:
                args, kwargs = tool.bind(*arguments)
                value = tool.func(*args, **kwargs)
                if type(value) is CoroutineType or inspect.isawaitable(value):
                    value = await value
            except BaseException as exc:
                failure = failure_of(tool, exc)
                if failure is None:
                    raise
                self._emit(ev.TaskFailed(idx=task.idx, error=failure, attempts=1))
            else:
                observation, ok = observe(value)
                if ok:
                    self._log.task_finished(task.idx, observation, 1, value)
                else:
                    self._emit(ev.TaskFailed(idx=task.idx, error=observation, attempts=1))
        self._finish(record)

    def _arguments(self, task: Task) -> tuple[tuple, dict] | None:
        """The task's arguments with their references resolved; None (the task failed) if
        that went wrong, which is a bug in resolution: it must not hang the run."""
        try:
            args = resolve_args(task.args, self.records)
            return args, (resolve(task.kwargs, self.records) if task.kwargs else {})
        except Exception as exc:
            self._emit(ev.TaskFailed(idx=task.idx, error=error_text(exc, about="cannot resolve arguments: ")))
            return None

    def _retry_reporter(self, idx: int) -> Callable[[int, str], None]:
        emit = self._emit
        return lambda attempt, error: emit(ev.TaskRetrying(idx=idx, attempt=attempt, error=error))

    def _finish(self, record: TaskRecord) -> None:
        """Release or skip the waiting dependents of a task whose end was just emitted."""
        dependents = self._dependents.pop(record.task.idx, ())
        if record.status is _DONE:
            remaining = self._remaining
            for idx in dependents:
                left = remaining.get(idx)
                if left is None:  # skipped already, through another dependency
                    continue
                if left > 1:
                    remaining[idx] = left - 1
                else:
                    del remaining[idx]
                    self._start(self.records[idx])
        else:
            for idx in dependents:
                self._skip_from(self.records[idx], f"skipped: ${record.idx} failed")
        self._unfinished -= 1  # (`_end`, inline: once for every task)
        if self._unfinished == 0:
            self._idle.set()

    def _skip_from(self, first: TaskRecord, reason: str) -> None:
        """Skip a task and, transitively, everything waiting on it (no recursion)."""
        stack = [(first, reason)]
        while stack:
            record, why = stack.pop()
            if record.status.finished:
                continue
            self._remaining.pop(record.idx, None)
            self._emit(ev.TaskSkipped(idx=record.idx, reason=why))
            stack.extend(
                (self.records[d], f"skipped: ${record.idx} failed") for d in self._dependents.pop(record.idx, ())
            )
            self._end()

    def _end(self) -> None:
        self._unfinished -= 1
        if self._unfinished == 0:
            self._idle.set()
