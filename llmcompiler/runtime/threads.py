"""Worker threads for sync tools.

`asyncio.to_thread` uses the loop's default executor: only min(32, cores + 4) workers (6 on
a 2-core machine, so 8 parallel sync tools would queue), and its threads are joined at
interpreter exit, so one sync tool stuck past its timeout keeps the process alive. This pool
grows on demand up to `max_workers`, and its threads are daemons, so a hung call does not
hold up exit.

A call whose caller stops waiting (its timeout, or the run was cancelled) is *dropped* if no
thread has taken it yet, and *abandoned* if one is running it: Python cannot stop a thread,
so the call goes on, and its result is thrown away when it comes. An abandoned thread no
longer counts against `max_workers`, so a replacement can start and later calls are not
starved by hung ones, up to `max_abandoned` threads left running at once. The bound, and
what happens at it:

    threads alive  <=  max_workers + max_abandoned
    past max_abandoned, a newly abandoned thread keeps its worker slot (capacity shrinks);
    when every slot is held by an abandoned call, a call that needs a thread fails at once
    with ThreadPoolExhaustedError (so do calls still queued then), instead of waiting for
    hung calls that may never return.

An abandoned thread whose call does return becomes an ordinary worker again, or ends if
the pool is full. Each abandonment is logged (logger `llmcompiler.runtime.threads`) and
reported by `ThreadCall.state`, which the executor puts into the task's observation.

Idle workers block on a queue; nothing polls.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from llmcompiler._validate import non_negative_int, positive_int
from llmcompiler.exceptions import ThreadPoolExhaustedError

log = logging.getLogger(__name__)

# ThreadCall.state values
QUEUED = "queued"  # waiting for a thread
RUNNING = "running"  # a thread runs it and its caller waits
DONE = "done"  # it returned or raised, and the caller was told
DROPPED = "dropped"  # the caller gave up before a thread took it: it never ran
ABANDONED = "abandoned"  # the caller gave up while it ran: a thread still runs it
FAILED = "failed"  # refused: no thread could ever take it (ThreadPoolExhaustedError)


class ThreadCall:
    """One call handed to a `ThreadRunner`; await `result()` on the loop that made it."""

    def __init__(self, runner: ThreadRunner, func: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
        self._runner = runner
        self.func = func
        self._args = args
        self._kwargs = kwargs
        self._context = contextvars.copy_context()
        self._loop = asyncio.get_running_loop()
        self._future: asyncio.Future[Any] = self._loop.create_future()
        self.state = QUEUED  # changed under the runner's lock only
        self._holds_slot = False  # abandoned but still counted against max_workers

    @property
    def name(self) -> str:
        return getattr(self.func, "__qualname__", None) or type(self.func).__name__

    async def result(self) -> Any:
        try:
            return await self._future
        except asyncio.CancelledError:
            self._runner._give_up(self)
            raise

    def _deliver(self, result: Any, exc: BaseException | None) -> None:
        future = self._future

        def settle() -> None:
            if future.done():  # the awaiting task gave up (timeout or cancellation)
                return
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result)

        try:
            self._loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop closed while the call ran: nobody is waiting
            pass


class ThreadRunner:
    """Runs sync calls in daemon threads; see the module docstring for the bounds."""

    def __init__(
        self, max_workers: int = 64, *, max_abandoned: int | None = None, name: str = "llmcompiler-tool"
    ) -> None:
        self.max_workers: int = positive_int("ThreadRunner max_workers", max_workers)  # type: ignore[assignment]
        self.max_abandoned: int = non_negative_int(  # type: ignore[assignment]
            "ThreadRunner max_abandoned", self.max_workers if max_abandoned is None else max_abandoned
        )
        self._name = name
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[ThreadCall | None] = queue.SimpleQueue()  # None: a closed pool's "end"
        self._queued: set[ThreadCall] = set()  # in _jobs and not given up on: what a full pool refuses
        self._workers = 0  # threads holding a worker slot: idle, busy or stuck
        self._idle = 0  # of those, waiting for a call
        self._stuck = 0  # of those, running an abandoned call (past max_abandoned)
        self._abandoned = 0  # threads running an abandoned call, outside the slots
        self._started = 0  # for thread names
        self._closed = False

    @property
    def abandoned(self) -> int:
        """Threads still running calls whose callers gave up on them."""
        with self._lock:
            return self._abandoned + self._stuck

    async def run(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call `func(*args, **kwargs)` in a worker thread and await its result."""
        return await self.submit(func, *args, **kwargs).result()

    def submit(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> ThreadCall:
        """Queue a call (from a coroutine); raises ThreadPoolExhaustedError when no thread
        can take it until a hung call returns."""
        call = ThreadCall(self, func, args, kwargs)
        with self._lock:
            if self._closed:
                raise RuntimeError("this ThreadRunner is closed")
            if self._idle <= len(self._queued) and self._workers >= self.max_workers and self._stuck >= self._workers:
                call.state = FAILED
                raise ThreadPoolExhaustedError(self._exhausted_message())
            self._queued.add(call)
            spawn = self._make_room()
        self._jobs.put(call)
        if spawn:
            self._spawn(spawn)
        return call

    def close(self) -> None:
        """Let every thread end: idle ones now, busy and abandoned ones when their call
        returns. Calls still queued run first. The shared runner is never closed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            ends = self._workers  # one for each thread holding a slot, taken after any queued call
        for _ in range(ends):
            self._jobs.put(None)

    # -- internals ------------------------------------------------------------------------

    def _make_room(self) -> str | None:
        """Under the lock: take a slot for a new thread (returns its name) if a queued call
        has no thread coming."""
        if len(self._queued) > self._idle and self._workers < self.max_workers:
            self._workers += 1
            self._started += 1
            return f"{self._name}-{self._started}"
        return None

    def _spawn(self, name: str) -> None:
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def _exhausted_message(self) -> str:
        return (
            f"no worker thread can take this call: all {self._workers} threads of the pool (max_workers="
            f"{self.max_workers}) and {self._abandoned} more (max_abandoned={self.max_abandoned}) are still "
            f"running sync tool calls whose callers gave up on them (a timeout or a cancellation); they free up only "
            f"when those calls return"
        )

    def _give_up(self, call: ThreadCall) -> None:
        """The caller stopped waiting (on its loop's thread)."""
        refused: list[ThreadCall] = []
        spawn: str | None = None
        with self._lock:
            if call.state == QUEUED:
                call.state = DROPPED  # the thread that takes it skips it
                self._queued.discard(call)
                return
            if call.state != RUNNING:
                return
            call.state = ABANDONED
            if self._abandoned < self.max_abandoned:
                self._abandoned += 1
                self._workers -= 1  # its slot goes to a replacement
                spawn = self._make_room()
            else:
                call._holds_slot = True
                self._stuck += 1
                spawn = self._make_room()
                if spawn is None and self._stuck >= self._workers and self._queued:
                    refused = list(self._queued)
                    self._queued.clear()
                    for queued in refused:
                        queued.state = FAILED
            message = self._exhausted_message()
            count = self._abandoned + self._stuck
        log.warning(
            "sync tool call %s was given up on (timeout or cancellation), but a thread cannot be stopped: "
            "it is still running (%d such thread(s) in this pool)",
            call.name,
            count,
        )
        for queued in refused:
            queued._deliver(None, ThreadPoolExhaustedError(message))
        if spawn:
            self._spawn(spawn)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            call = self._jobs.get()
            with self._lock:
                self._idle -= 1
                if call is None:  # the pool is closed
                    self._workers -= 1
                    return
                if call.state != QUEUED:  # dropped or refused while it waited
                    continue
                self._queued.discard(call)
                call.state = RUNNING
            try:
                result, error = call._context.run(call.func, *call._args, **call._kwargs), None
            except BaseException as exc:  # delivered to the awaiting coroutine
                result, error = None, exc
            with self._lock:
                abandoned = call.state == ABANDONED
                if not abandoned:
                    call.state = DONE
                elif call._holds_slot:
                    self._stuck -= 1  # back to an ordinary worker in its own slot
                else:
                    self._abandoned -= 1
                    if self._workers >= self.max_workers or self._closed:
                        return  # replaced while it hung; the pool is full without it
                    self._workers += 1
            if abandoned:
                log.info("abandoned sync tool call %s returned; its thread is free again", call.name)
            else:
                call._deliver(result, error)


_shared: ThreadRunner | None = None
_shared_lock = threading.Lock()


def shared_runner() -> ThreadRunner:
    """The process-wide runner used unless a compiler is given its own."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ThreadRunner()
        return _shared
