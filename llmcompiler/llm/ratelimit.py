"""A rate limiter shared by every question of a run: requests and tokens per minute, per model.

A provider's limit is what should bind a benchmark, not the run's concurrency, so the run
keeps itself under it instead of collecting 429s. `RateLimiter(rpm=, tpm=)` holds one
`ModelLimit` per model name; an `OpenAIModel` with a `rate_limit` asks it before each
request attempt (`acquire`, which reserves the estimated tokens: the prompt plus
`max_tokens`, as providers count them) and tells it afterwards what the provider reported
(`settle`), so an over-estimate is handed back at once.

The budget is a rolling window: what a grant spends comes back exactly one `window` after
it was granted, so no span of `window` seconds ever holds more than `rpm` requests or
`tpm` tokens (a refill-rate bucket with a full burst would allow twice that across a
window's edge). A `Retry-After` from the provider pauses the model's whole budget
(`pause`), not just the call that got it.

A grant is held for `window` plus a small margin (`margin`; by default 2.5% of the window,
at most half a second). A request granted here reaches the provider a little later (a
connection to take or open, the body to send), and the provider counts arrivals: if the
request granted one window after another arrived sooner than that one did, the provider
would see both inside its window and answer 429. Measured against the loopback server's
simulated limit (benchmarks/batch.py): 12 429s in 80 requests without the margin, none with it.

Waiting is one timed sleep on the event loop's clock until the earliest moment the budget
allows, cut short when a settle or a pause changes the budget; callers take it in arrival
order behind an `asyncio.Lock` (they queue on the lock, not on timers of their own). The
clock is injectable, for tests.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from llmcompiler._validate import positive_int, positive_seconds

__all__ = ["Clock", "LoopClock", "ModelLimit", "RateLimiter", "Reservation"]

MINUTE = 60.0


class Clock(Protocol):
    """Where the limiter reads the time and waits."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running event loop's monotonic clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class Reservation:
    """One granted request: when, and how many tokens it holds in the window."""

    granted_at: float
    tokens: int


class ModelLimit:
    """One model's budget: at most `rpm` requests and `tpm` tokens in any `window` seconds."""

    def __init__(self, *, rpm: int | None, tpm: int | None, window: float, clock: Clock, margin: float = 0.0) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.window = window
        self._hold = window + margin  # how long a grant counts against the budget
        self._clock = clock
        self._requests: deque[float] = deque()  # grant times still inside the window
        self._spends: deque[Reservation] = deque()  # token holders still inside the window
        self._tokens = 0
        self._paused_until = float("-inf")
        self._turn: asyncio.Lock | None = None
        self._changed: asyncio.Future[None] | None = None  # set while the head caller waits

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def acquire(self, tokens: int = 0) -> Reservation:
        """Wait until one more request of `tokens` (clamped to `tpm`) fits, then take it."""
        wanted = min(max(tokens, 0), self.tpm) if self.tpm else 0
        if self._turn is None:
            self._turn = asyncio.Lock()
        async with self._turn:
            # a wake-up can come early (the loop's clock resolution) or from a change to the
            # budget (a settle handing tokens back, a pause): each round recomputes the moment
            while (delay := self._delay(wanted)) > 0:
                await self._wait(delay)
            return self._grant(wanted)

    async def _wait(self, delay: float) -> None:
        """Sleep `delay` on the clock, or less when the budget changes meanwhile."""
        changed = self._changed = asyncio.get_running_loop().create_future()
        sleeper = asyncio.ensure_future(self._clock.sleep(delay))
        try:
            await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._changed = None
            sleeper.cancel()
            await asyncio.wait({sleeper})  # reaped, without raising its cancellation here

    def _wake(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)

    def settle(self, reservation: Reservation, tokens: int | None) -> None:
        """Replace the reservation's estimate by the tokens the provider reported (None: keep it)."""
        if tokens is None or not self.tpm:
            return
        if any(held is reservation for held in self._spends):  # still counted in the window
            used = max(tokens, 0)
            self._tokens += used - reservation.tokens
            reservation.tokens = used
            self._wake()

    def pause(self, seconds: float) -> None:
        """Hold every request of this model for `seconds` (the provider's Retry-After)."""
        self._paused_until = max(self._paused_until, self._clock.now() + max(seconds, 0.0))
        self._wake()

    def _expire(self, now: float) -> None:
        edge = now - self._hold
        while self._requests and self._requests[0] <= edge:
            self._requests.popleft()
        while self._spends and self._spends[0].granted_at <= edge:
            self._tokens -= self._spends.popleft().tokens

    def _delay(self, wanted: int) -> float:
        now = self._clock.now()
        self._expire(now)
        ready = self._paused_until
        if self.rpm and len(self._requests) >= self.rpm:
            ready = max(ready, self._requests[len(self._requests) - self.rpm] + self._hold)
        if self.tpm and self._tokens + wanted > self.tpm:
            left = self._tokens
            for held in self._spends:  # oldest first: the earliest grant whose expiry makes room
                left -= held.tokens
                if left + wanted <= self.tpm:
                    ready = max(ready, held.granted_at + self._hold)
                    break
        return ready - now

    def _grant(self, wanted: int) -> Reservation:
        granted = Reservation(self._clock.now(), wanted)
        if self.rpm:
            self._requests.append(granted.granted_at)
        if self.tpm:
            self._spends.append(granted)
            self._tokens += wanted
        return granted


class RateLimiter:
    """The run's limits, one `ModelLimit` per model name (`--rpm`, `--tpm`).

    `window` is the span the limits are counted over (a minute; tests shrink it); `margin`
    the seconds a grant is held beyond it (None: 2.5% of the window, at most 0.5 s; see the
    module docstring).
    """

    def __init__(
        self,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        window: float = MINUTE,
        clock: Clock | None = None,
        margin: float | None = None,
    ) -> None:
        self.rpm = None if rpm is None else positive_int("rpm", rpm)
        self.tpm = None if tpm is None else positive_int("tpm", tpm)
        self.window = float(positive_seconds("window", window) or MINUTE)  # never None: allow_none is off
        self.margin = min(0.025 * self.window, 0.5) if margin is None else max(float(margin), 0.0)
        self._clock = clock or LoopClock()
        self._models: dict[str, ModelLimit] = {}

    def for_model(self, name: str) -> ModelLimit:
        """The budget every call to model `name` shares."""
        if name not in self._models:
            self._models[name] = ModelLimit(
                rpm=self.rpm, tpm=self.tpm, window=self.window, clock=self._clock, margin=self.margin
            )
        return self._models[name]

    def __repr__(self) -> str:
        return f"RateLimiter(rpm={self.rpm}, tpm={self.tpm}, window={self.window}, margin={self.margin})"
