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
