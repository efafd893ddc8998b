"""`stream_call` closes the model's stream when its consumer stops early.

An async generator that is merely dropped is closed later by the event loop's finalizer,
so these tests keep every stream referenced: only `stream_call`'s own close can then end
it. A stream whose consumer is cancelled gets the cancellation at its own await; that
path is checked too, over HTTP, for a whole run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from aiohttp import web

from llmcompiler import LLMCompiler
from llmcompiler.llm.base import Message, Usage, stream_call
from llmcompiler.llm.factory import get_model
from llmcompiler.testing import OpenAIServer, Text

MESSAGES = [Message("user", "plan")]


class Consumer(Exception):
    pass


class HeldStreams:
    """A model whose streams stay referenced, and which records how each one ended."""

    def __init__(self, chunks: int = 1000) -> None:
        self.chunks = chunks
        self.streams: list[AsyncIterator[str | Usage]] = []
        self.ended: list[str] = []

    def stream(self, messages: Sequence[Message], *, stop: Sequence[str] = ()) -> AsyncIterator[str | Usage]:
        self.streams.append(self._stream())
        return self.streams[-1]

    async def _stream(self) -> AsyncIterator[str | Usage]:
        try:
            for i in range(self.chunks):
                yield f"chunk {i} "
                await asyncio.sleep(0)
            yield Usage(1, self.chunks)
        except GeneratorExit:
            self.ended.append("closed")
            raise
        except asyncio.CancelledError:
            self.ended.append("cancelled")
            raise
        else:
            self.ended.append("finished")


async def test_a_consumer_that_raises_closes_the_stream_before_stream_call_returns():
    model = HeldStreams()
    seen: list[str] = []

    def on_text(chunk: str) -> None:
        seen.append(chunk)
        if len(seen) == 3:
            raise Consumer("enough")

    done = await stream_call(model, MESSAGES, on_text=on_text)
    assert isinstance(done.error, Consumer) and done.text == "chunk 0 chunk 1 chunk 2 "
    assert model.ended == ["closed"]


async def test_a_stream_read_to_its_end_is_not_closed_early():
    model = HeldStreams(chunks=3)
    done = await stream_call(model, MESSAGES)
    assert done.error is None and done.usage == Usage(1, 3)
    assert model.ended == ["finished"]


async def test_a_cancelled_consumer_ends_the_stream():
    model = HeldStreams(chunks=10**6)
    started = asyncio.Event()
    call = asyncio.ensure_future(stream_call(model, MESSAGES, on_text=lambda chunk: started.set()))
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert model.ended == ["cancelled"]


# -- over HTTP: the server sees the client go ------------------------------------------------


class WatchedServer(OpenAIServer):
    """Records when each request's handler ends: early when the client closed its connection."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.handled = asyncio.Event()

    def _make_app(self) -> web.Application:
        app = super()._make_app()

        @web.middleware
        async def watch(request: web.Request, handler):
            try:
                return await handler(request)
            finally:
                self.handled.set()

        app.middlewares.append(watch)
        return app


LONG_REPLY = Text(" ".join(f"word{i}" for i in range(400)), delay=0.02)  # 8 s if streamed to the end


class Holding:
    """Keeps the streams a model hands out, so that no finalizer closes them for stream_call."""

    def __init__(self, model) -> None:
        self.model = model
        self.streams: list[AsyncIterator[str | Usage]] = []

    def stream(self, messages: Sequence[Message], *, stop: Sequence[str] = ()) -> AsyncIterator[str | Usage]:
        self.streams.append(self.model.stream(messages, stop=stop))
        return self.streams[-1]


async def test_the_http_connection_closes_when_the_consumer_stops_early():
    async with WatchedServer() as server:
        server.script(None, LONG_REPLY)
        model = get_model("openai", "gpt-test", base_url=server.base_url, api_key="sk-test", max_retries=0)
        try:

            def on_text(chunk: str) -> None:
                raise Consumer("stop reading")

            done = await stream_call(Holding(model), MESSAGES, on_text=on_text)
            assert isinstance(done.error, Consumer)
            # the reply would take 8 s more; the server's next write finds the client gone
            await asyncio.wait_for(server.handled.wait(), timeout=4)
        finally:
            await model.aclose()


async def test_a_cancelled_run_closes_the_planner_connection():
    async with WatchedServer() as server:
        server.script(None, Text("1. add(1, 2)\n" + " ".join(f"thought{i}" for i in range(400)), delay=0.02))
        model = get_model("openai", "gpt-test", base_url=server.base_url, api_key="sk-test", max_retries=0)
        try:
            started = asyncio.Event()

            def add(a: int, b: int) -> int:
                """Adds two numbers."""
                started.set()
                return a + b

            agent = LLMCompiler(tools=[add], planner=model)
            run = asyncio.ensure_future(agent.arun("what is 1 + 2?"))
            await asyncio.wait_for(started.wait(), timeout=4)  # mid-plan: the first task ran
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
            await asyncio.wait_for(server.handled.wait(), timeout=4)
            assert len(server.requests) == 1
        finally:
            await model.aclose()
