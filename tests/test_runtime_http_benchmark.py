"""The HTTP benchmark's floor of each way of making a request (benchmarks/runtime_http.py),
against the in-process loopback server: every client configuration must really carry the
streamed reply, or its floor would measure nothing."""

from __future__ import annotations

import pytest

from benchmarks import runtime_http
from llmcompiler.testing import OpenAIServer

TEXT = "w0 w1 w2 w3"


async def test_every_client_configuration_streams_the_whole_reply():
    async with OpenAIServer(api_key="test-key") as server:
        server.script("floor", *[TEXT] * (2 * len(runtime_http.CLIENTS)))
        floors = await runtime_http.request_floors(server.base_url, 0.0, text=TEXT, warm=1, samples=1)
        assert list(floors) == list(runtime_http.CLIENTS)
        assert all(value > 0 for value in floors.values())
        # one request per configuration and round, each a streamed chat completion
        assert len(server.requests) == 2 * len(runtime_http.CLIENTS)


async def test_a_reply_that_is_not_the_text_is_an_error_naming_the_client():
    async with OpenAIServer(api_key="test-key") as server:
        server.script("floor", "something else")
        with pytest.raises(RuntimeError, match=r"openai raw lines, reused connection: the reply was 'something else'"):
            await runtime_http.request_floors(
                server.base_url, 0.0, text=TEXT, warm=0, samples=1, kinds=["openai raw lines, reused connection"]
            )


async def test_one_run_over_http_answers_and_reports_its_collections():
    w = runtime_http.wl.build("hotpotqa", 0, runtime_http.ModelTiming(ttft=0.0, tokens_per_second=None))
    async with OpenAIServer(api_key="test-key") as server:
        server.script("planner", w.plan_text)
        server.script("joiner", w.final_text)
        took, delays, problem, seen = await runtime_http.one_run(w, server.base_url)
    assert problem is None and took > 0 and len(delays) == len(w.calls)
    assert set(seen) == {"young", "young_max_ms", "full", "full_max_ms", "dispatch_max_outside_collections_ms"}
    assert seen["dispatch_max_outside_collections_ms"] <= max(delays) * 1e3 + 1e-9


def test_a_dispatch_delay_a_collection_overlapped_is_set_apart():
    class Record:
        def __init__(self, ready: float, started: float) -> None:
            self.ready_at, self.started_at = ready, started

    class Result:
        tasks = [Record(1.0, 1.0004), Record(2.0, 2.009), Record(3.0, None)]

    collections = runtime_http.Collections()
    collections.seen = [(1, 2.001, 2.008), (0, 5.0, 5.0005)]
    seen = runtime_http._collections_seen(Result(), collections)
    assert seen["young"] == 2 and seen["full"] == 0 and seen["full_max_ms"] == 0.0
    assert seen["young_max_ms"] == pytest.approx(7.0)
    # the 9 ms start waited on the 7 ms collection; the 0.4 ms one is what is left
    assert seen["dispatch_max_outside_collections_ms"] == pytest.approx(0.4)
