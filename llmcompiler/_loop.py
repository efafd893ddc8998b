"""`yield_to_loop()`: let the event loop run everything else that is ready, once.

A long synchronous step (parsing a chunk that completes hundreds of tasks, rendering a
10,000-task scratchpad) delays every timer and I/O callback of the loop until it ends. Cut
into slices with `await yield_to_loop()` between them, the loop gets a turn after each
slice. This waits for no time and no condition: the coroutine is simply rescheduled behind
the callbacks already ready (what `asyncio.sleep(0)` does inside asyncio).
"""

from __future__ import annotations

import types
from collections.abc import Generator

__all__ = ["yield_to_loop"]


@types.coroutine
def yield_to_loop() -> Generator[None, None, None]:
    # A bare `yield` inside a Task's coroutine tells the Task to run its next step on the
    # loop's next iteration.
    yield
