"""Worker threads for sync tools.

`asyncio.to_thread` uses the loop's default executor: only min(32, cores + 4) workers (6 on
a 2-core machine, so 8 parallel sync tools would queue), and its threads are joined at
interpreter exit, so one sync tool stuck past its timeout keeps the process alive. This pool
grows on demand up to `max_workers`, and its threads are daemons: a timed-out call is
abandoned (Python cannot kill a thread) without holding up exit.

Idle workers block on a queue; nothing polls.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any


class ThreadRunner:
    def __init__(self, max_workers: int = 64, *, name: str = "llmcompiler-tool") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be >= 1")
        self.max_workers = max_workers
        self._name = name
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0  # workers blocked on the queue
        self._pending = 0  # jobs queued and not yet taken

    async def run(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call `func(*args, **kwargs)` in a worker thread and await its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()
        self._jobs.put((loop, future, context, func, args, kwargs))
        self._maybe_add_worker()
        return await future

    def _maybe_add_worker(self) -> None:
        with self._lock:
            self._pending += 1
            if self._pending <= self._idle or self._workers >= self.max_workers:
                return
            self._workers += 1
        threading.Thread(target=self._work, name=f"{self._name}-{self._workers}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            loop, future, context, func, args, kwargs = job
            try:
                result = context.run(func, *args, **kwargs)
            except BaseException as exc:  # delivered to the awaiting coroutine
                _deliver(loop, future, None, exc)
            else:
                _deliver(loop, future, result, None)


def _deliver(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    def settle() -> None:
        if future.cancelled():  # the awaiting task gave up (timeout or cancellation)
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop closed while the call ran: nobody is waiting
        pass


_shared: ThreadRunner | None = None
_shared_lock = threading.Lock()


def shared_runner() -> ThreadRunner:
    """The process-wide runner used unless a compiler is given its own."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ThreadRunner()
        return _shared
