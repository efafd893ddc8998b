"""The shared rate limiter (--rpm / --tpm): many concurrent model calls through the real
`openai` client against the loopback server stay under the limit, as the server counts
them; a Retry-After pauses the model's budget; bad values are refused in one line.

The limiter's window is shrunk to a fraction of a second so the runs are fast. The server
stamps each request with the event loop's clock when it arrives; a request arrives after
its grant, so in any half-window the server must never see more than the limit (loopback
latency is far below half a window), while without the limiter all of them land at once.
"""

from __future__ import annotations

import asyncio

import pytest

from llmcompiler._compat import TaskGroup
from llmcompiler.cli import main
from llmcompiler.evaluation.suite import ModelPool
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.llm import get_model, user
from llmcompiler.llm.ratelimit import RateLimiter
from llmcompiler.testing import HTTPError, OpenAIServer, Text

pytestmark = pytest.mark.usefixtures("close_openai_clients")

WINDOW = 0.5


class ManualClock:
    """A clock that moves only when told; each sleep wakes when its deadline is reached."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, future))
        await future

    @property
    def sleeping(self) -> int:
        return sum(not f.done() for _, f in self._sleepers)

    def advance(self, seconds: float) -> None:
        self.t += seconds
        for deadline, future in self._sleepers:
            if deadline <= self.t and not future.done():
                future.set_result(None)


def stamped(server_times: list[float], text: str = "ok", **options):
    def reply(body):
        server_times.append(asyncio.get_running_loop().time())
        return Text(text, **options)

    return reply


def most_in_any_span(times: list[float], span: float) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t < start + span) for i, start in enumerate(ordered))


async def call(model) -> str:
    parts = []
    async for item in model.stream([user("hello there")]):
        if isinstance(item, str):
            parts.append(item)
    return "".join(parts)


def limited_model(server, limiter, name="gpt-limited", **options):
    model = get_model("openai", name, base_url=server.base_url, api_key="k", retry_base_delay=0.001, **options)
    model.rate_limit = limiter.for_model(model.name)
    return model


async def test_many_concurrent_calls_stay_under_rpm_as_the_server_counts_them():
    arrivals: list[float] = []
    async with OpenAIServer() as server:
        server.script(None, *[stamped(arrivals) for _ in range(12)])
        limiter = RateLimiter(rpm=4, window=WINDOW)
        models = [limited_model(server, limiter) for _ in range(12)]  # one budget, many clients
        async with TaskGroup() as group:
            tasks = [group.create_task(call(m)) for m in models]
    assert [t.result() for t in tasks] == ["ok"] * 12
    assert len(arrivals) == 12
    assert most_in_any_span(arrivals, WINDOW / 2) <= 4
    assert max(arrivals) - min(arrivals) > 1.5 * WINDOW  # three windows' worth: 4, 4, 4


async def test_without_a_limiter_the_same_calls_land_together():
    arrivals: list[float] = []
    async with OpenAIServer() as server:
        server.script(None, *[stamped(arrivals) for _ in range(12)])
        models = [get_model("openai", "gpt-free", base_url=server.base_url, api_key="k") for _ in range(12)]
        async with TaskGroup() as group:
            for m in models:
                group.create_task(call(m))
    assert most_in_any_span(arrivals, WINDOW / 2) == 12  # what the limited test would catch


async def test_tokens_per_window_are_reserved_then_settled_with_the_reported_usage():
    arrivals: list[float] = []
    async with OpenAIServer() as server:
        # each call reserves its prompt + max_tokens (about 52) but reports 30 tokens used
        server.script(None, *[stamped(arrivals, prompt_tokens=20, completion_tokens=10) for _ in range(6)])
        limiter = RateLimiter(tpm=100, window=WINDOW)
        models = [limited_model(server, limiter, max_tokens=50) for _ in range(6)]
        async with TaskGroup() as group:
            for m in models:
                group.create_task(call(m))
    assert len(arrivals) == 6
    # the reservation lets one call at a time in; settled usage (30) lets the next in at once
    assert most_in_any_span(arrivals, WINDOW / 2) <= 3
    assert max(arrivals) - min(arrivals) >= WINDOW


async def test_a_429_with_retry_after_pauses_the_models_budget():
    arrivals: list[float] = []
    async with OpenAIServer() as server:

        def rejected(body):
            arrivals.append(asyncio.get_running_loop().time())
            return HTTPError(429, "slow down", retry_after=0.2)

        server.script(None, rejected, stamped(arrivals))
        limiter = RateLimiter(rpm=1000, window=WINDOW)
        model = limited_model(server, limiter)
        assert await call(model) == "ok"
    limit = limiter.for_model("gpt-limited")
    rejected_at, retried_at = arrivals
    assert rejected_at < limit.paused_until <= retried_at  # the retry waited for the pause


async def test_a_pause_holds_every_caller_of_the_model_and_only_that_model():
    clock = ManualClock()
    limiter = RateLimiter(rpm=100, window=60, clock=clock)
    paused, other = limiter.for_model("a"), limiter.for_model("b")
    paused.pause(5)
    async with TaskGroup() as group:
        waiting = [group.create_task(paused.acquire()) for _ in range(3)]
        free = await other.acquire()
        for _ in range(5):
            await asyncio.sleep(0)
        assert free.granted_at == 0 and not any(t.done() for t in waiting)
        clock.advance(5)
    assert [t.result().granted_at for t in waiting] == [5, 5, 5]


async def test_requests_wait_their_turn_in_a_rolling_window():
    clock = ManualClock()
    limit = RateLimiter(rpm=2, tpm=10, window=60, clock=clock, margin=0).for_model("m")
    first = await limit.acquire(4)
    await limit.acquire(4)
    async with TaskGroup() as group:
        third = group.create_task(limit.acquire(4))
        while not clock.sleeping:
            await asyncio.sleep(0)
        limit.settle(first, 1)  # frees tokens (and wakes the waiter), but the request budget still binds
        while not clock.sleeping:
            await asyncio.sleep(0)
        clock.advance(59)
        await asyncio.sleep(0)
        assert not third.done()
        clock.advance(1)
    assert third.result().granted_at == 60
    clock.advance(60)  # the third call's window is over
    huge = await limit.acquire(10**6)  # more than tpm: held as the whole budget, not refused
    assert huge.tokens == 10


@pytest.mark.parametrize(
    "kwargs, message",
    [({"rpm": 0}, "rpm"), ({"tpm": -5}, "tpm"), ({"rpm": 2.5}, "rpm"), ({"rpm": True}, "rpm"), ({"window": 0}, "window")],
)
def test_bad_limits_are_refused(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        RateLimiter(**kwargs)


@pytest.mark.parametrize("command", [["ask", "q"], ["bench", "--store", "s.json"]])
@pytest.mark.parametrize("flag", ["--rpm", "--tpm"])
def test_bad_flags_are_one_line(command, flag, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, flag, "0"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {flag} must be a whole number >= 1, got '0'")


async def test_a_pools_models_share_one_budget_per_model_name():
    async with OpenAIServer() as server:
        pool = ModelPool("openai", "gpt-pool", base_url=server.base_url, api_key="k", rpm=30, tpm=9000)
        planner, joiner = pool.first(), pool.new("joiner")
        assert planner.rate_limit is joiner.rate_limit
        assert (planner.rate_limit.rpm, planner.rate_limit.tpm, planner.rate_limit.window) == (30, 9000, 60.0)
        unlimited = ModelPool("openai", "gpt-pool", base_url=server.base_url, api_key="k").first()
        assert unlimited.rate_limit is None
        await pool.aclose()
        await unlimited.aclose()



def test_the_margin_defaults_to_a_fortieth_of_the_window_at_most_half_a_second():
    assert RateLimiter(rpm=1, window=2).margin == 0.05
    assert RateLimiter(rpm=1, window=60).margin == 0.5
    assert RateLimiter(rpm=1, window=60, margin=0).margin == 0


async def test_a_grant_is_held_for_the_window_and_its_margin():
    """A request granted one window after another may reach the provider sooner than that one
    did: the margin keeps both out of one provider window."""
    clock = ManualClock()
    limit = RateLimiter(rpm=1, window=10, clock=clock, margin=0.25).for_model("m")
    await limit.acquire()
    async with TaskGroup() as group:
        second = group.create_task(limit.acquire())
        while not clock.sleeping:
            await asyncio.sleep(0)
        clock.advance(10)
        for _ in range(5):
            await asyncio.sleep(0)
        assert not second.done()  # the window alone is over, the margin is not
        clock.advance(0.25)
    assert second.result().granted_at == 10.25
