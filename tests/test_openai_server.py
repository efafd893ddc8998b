"""OpenAIServer, exercised through the real openai SDK clients over real HTTP."""

from __future__ import annotations

import time

import aiohttp
import openai
import pytest

from llmcompiler.testing import Break, HTTPError, OpenAIServer, RecordedRequest, Text
from llmcompiler.testing.openai_server import tokenize

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hello"}]


@pytest.fixture
async def server():
    async with OpenAIServer() as srv:
        yield srv


@pytest.fixture
async def client(server):
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
        yield c


def azure_client(server: OpenAIServer, api_key: str = "k") -> openai.AsyncAzureOpenAI:
    return openai.AsyncAzureOpenAI(
        azure_endpoint=server.azure_endpoint, api_key=api_key, api_version="2024-06-01", max_retries=0
    )


def test_tokenize_joins_back():
    for text in ["", "one", "Hello, world!", "  lead and trail  ", "a\n\n1. b(c)\n<END_OF_PLAN>\n"]:
        assert "".join(tokenize(text)) == text
    assert tokenize("Hello big world") == ["Hello", " big", " world"]


def test_urls_need_a_started_server():
    with pytest.raises(RuntimeError):
        _ = OpenAIServer().base_url


async def test_urls(server):
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.azure_endpoint == f"http://127.0.0.1:{server.port}"
    assert server.friendli_base_url == f"http://127.0.0.1:{server.port}/serverless/v1"


async def test_streaming_chat_with_usage(server, client):
    text = "Thought: easy.\n1. search('x')\n<END_OF_PLAN>"
    server.script("m", text)
    stream = await client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.prompt_tokens == 4  # "be brief" + "say hello"
    assert usage_chunk.usage.completion_tokens == len(tokenize(text))
    assert usage_chunk.usage.total_tokens == 4 + len(tokenize(text))
    assert all(c.usage is None for c in chunks[:-1])
    finish = chunks[-2].choices[0]
    assert finish.finish_reason == "stop" and finish.delta.content is None
    content = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert len(content) == len(tokenize(text))
    assert "".join(content) == text
    assert all(c.choices[0].finish_reason is None for c in chunks[:-2])


async def test_streaming_chat_without_usage_has_no_usage_chunk(server, client):
    server.script("m", "a b c")
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(len(c.choices) == 1 and c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "a b c"


async def test_streaming_completions(server, client):
    server.script("m", "one two three")
    stream = await client.completions.create(
        model="m", prompt="count to three", stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert {c.object for c in chunks} == {"text_completion"}
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 3
    assert chunks[-1].usage.completion_tokens == 3
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].text for c in chunks[:-1]) == "one two three"
    assert [c.choices[0].text for c in chunks[:3]] == ["one", " two", " three"]


async def test_non_streaming_chat_and_completions(server, client):
    server.script("m", "Hello there.", "done now")
    chat = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert chat.object == "chat.completion" and chat.model == "m"
    assert chat.choices[0].message.role == "assistant"
    assert chat.choices[0].message.content == "Hello there."
    assert chat.choices[0].finish_reason == "stop"
    assert (chat.usage.prompt_tokens, chat.usage.completion_tokens, chat.usage.total_tokens) == (4, 2, 6)

    completion = await client.completions.create(model="m", prompt=["a b", "c"])
    assert completion.object == "text_completion"
    assert completion.choices[0].text == "done now"
    assert completion.usage.prompt_tokens == 3  # a list prompt counts all its items


async def test_text_overrides_usage_and_finish_reason(server, client):
    server.script("m", Text("cut", finish_reason="length", prompt_tokens=100, completion_tokens=7))
    chat = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert chat.choices[0].finish_reason == "length"
    assert (chat.usage.prompt_tokens, chat.usage.completion_tokens, chat.usage.total_tokens) == (100, 7, 107)


async def test_stop_sequences(server, client):
    server.script("m", "plan\n<END_OF_PLAN> junk", "a STOP b END c", "no stop here", "x y")
    one = await client.chat.completions.create(model="m", messages=MESSAGES, stop="<END_OF_PLAN>")
    assert one.choices[0].message.content == "plan\n"
    assert one.choices[0].finish_reason == "stop"
    assert one.usage.completion_tokens == 2  # "plan", "\n"

    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stop=["END", "STOP"], stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "a "
    assert chunks[-1].choices[0].finish_reason == "stop"

    three = await client.completions.create(model="m", prompt="p", stop=["zzz"])
    assert three.choices[0].text == "no stop here"

    four = await client.completions.create(model="m", prompt="p", stop="y")
    assert four.choices[0].text == "x "


async def test_max_tokens(server, client):
    server.script("m", "one two three four", "one two three four", "one two")
    chat = await client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=2)
    assert chat.choices[0].message.content == "one two"
    assert chat.choices[0].finish_reason == "length"
    assert chat.usage.completion_tokens == 2

    stream = await client.chat.completions.create(model="m", messages=MESSAGES, max_completion_tokens=3, stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three"
    assert chunks[-1].choices[0].finish_reason == "length"

    enough = await client.completions.create(model="m", prompt="p", max_tokens=2)
    assert enough.choices[0].text == "one two" and enough.choices[0].finish_reason == "stop"


async def test_rate_limit_with_retry_after(server, client):
    server.script("m", HTTPError(429, "slow down", retry_after=0.05))
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(model="m", messages=MESSAGES)
    err = info.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "0.05"
    assert "slow down" in str(err)
    assert err.body == {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}


async def test_sdk_retries_after_retry_after(server):
    server.script("m", HTTPError(429, "slow down", retry_after=0.01), "after the retry")
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=1) as c:
        chat = await c.chat.completions.create(model="m", messages=MESSAGES)
    assert chat.choices[0].message.content == "after the retry"
    assert len(server.requests) == 2


async def test_server_error_and_custom_error_fields(server, client):
    custom = HTTPError(400, "bad", error_type="custom", code="c1", headers={"x-a": "1"})
    server.script("m", HTTPError(500, "boom"), custom)
    with pytest.raises(openai.InternalServerError) as info:
        await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert info.value.status_code == 500 and info.value.type == "server_error"
    with pytest.raises(openai.BadRequestError) as info:
        await client.completions.create(model="m", prompt="p")
    assert (info.value.type, info.value.code, info.value.response.headers["x-a"]) == ("custom", "c1", "1")


async def test_wrong_key_is_401():
    async with OpenAIServer(api_key="secret") as server:
        server.script("m", "welcome")
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="wrong", max_retries=0) as bad:
            with pytest.raises(openai.AuthenticationError) as info:
                await bad.chat.completions.create(model="m", messages=MESSAGES)
            assert info.value.code == "invalid_api_key"
            assert info.value.type == "invalid_request_error"
            with pytest.raises(openai.AuthenticationError):
                await bad.models.list()
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="secret", max_retries=0) as good:
            chat = await good.chat.completions.create(model="m", messages=MESSAGES)
            assert chat.choices[0].message.content == "welcome"
        # the rejected request is recorded and did not use up the reply
        assert [r.headers["authorization"] for r in server.requests] == [
            "Bearer wrong",
            "Bearer wrong",
            "Bearer secret",
        ]


@pytest.mark.parametrize("stream", [True, False])
async def test_break_fails_the_client(server, client, stream):
    server.script("m", Break("partial te"))
    received = []
    with pytest.raises(openai.APIConnectionError):
        if stream:
            response = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            async for chunk in response:
                received.append(chunk.choices[0].delta.content)
        else:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    if stream:
        assert "".join(received) == "partial te"
    # the server keeps serving after a broken connection
    server.script("m", "fine")
    chat = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert chat.choices[0].message.content == "fine"


async def test_break_in_completions_stream(server, client):
    server.script("m", Break("some words"))
    texts = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in await client.completions.create(model="m", prompt="p", stream=True):
            texts.append(chunk.choices[0].text)
    assert "".join(texts) == "some words"


async def test_azure_route():
    async with OpenAIServer(api_key="azkey") as server:
        server.script("my-deployment", "from azure", "streamed from azure")
        async with azure_client(server, api_key="azkey") as az:
            chat = await az.chat.completions.create(model="my-deployment", messages=MESSAGES)
            assert chat.choices[0].message.content == "from azure"
            assert chat.model == "my-deployment"
            stream = await az.chat.completions.create(model="my-deployment", messages=MESSAGES, stream=True)
            assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == (
                "streamed from azure"
            )
        request = server.requests[0]
        assert request.path == "/openai/deployments/my-deployment/chat/completions"
        assert request.query == {"api-version": "2024-06-01"}
        assert request.headers["api-key"] == "azkey"
        assert request.model == "my-deployment"

        async with azure_client(server, api_key="wrong") as bad:
            with pytest.raises(openai.AuthenticationError):
                await bad.chat.completions.create(model="my-deployment", messages=MESSAGES)

        # the SDK always sends api-version, so check its absence with a plain HTTP client
        url = f"{server.azure_endpoint}/openai/deployments/my-deployment/chat/completions"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json={"messages": []}, headers={"api-key": "azkey"}) as resp:
                assert resp.status == 400
                body = await resp.json()
        assert "api-version" in body["error"]["message"]
        assert body["error"]["type"] == "invalid_request_error"


async def test_azure_deployment_name_selects_the_queue(server):
    server.script("dep-a", "A").script("gpt-4o", "wrong queue")
    async with azure_client(server) as az:
        # the deployment name, not the body's model, picks the queue
        pinned = az.with_options(base_url=f"{server.azure_endpoint}/openai/deployments/dep-a")
        completion = await pinned.completions.create(model="gpt-4o", prompt="p")
    assert completion.choices[0].text == "A"
    assert server.requests[-1].model == "dep-a"
    assert server.requests[-1].path == "/openai/deployments/dep-a/completions"


async def test_friendli_route(server):
    server.script("meta-llama-3.1-8b-instruct", "hi from friendli", "completion")
    async with openai.AsyncOpenAI(base_url=server.friendli_base_url, api_key="flp_x", max_retries=0) as c:
        chat = await c.chat.completions.create(model="meta-llama-3.1-8b-instruct", messages=MESSAGES)
        completion = await c.completions.create(model="meta-llama-3.1-8b-instruct", prompt="p")
    assert chat.choices[0].message.content == "hi from friendli"
    assert completion.choices[0].text == "completion"
    assert [r.path for r in server.requests] == ["/serverless/v1/chat/completions", "/serverless/v1/completions"]


async def test_model_queues_and_fallback(server, client):
    server.script("a", "a1", "a2")
    server.script(None, "any1", "any2")

    async def ask(model: str) -> str:
        chat = await client.chat.completions.create(model=model, messages=MESSAGES)
        return chat.choices[0].message.content

    assert await ask("a") == "a1"
    assert await ask("b") == "any1"  # b has no queue of its own
    assert await ask("a") == "a2"
    assert await ask("a") == "any2"  # a's queue is empty: fall back
    with pytest.raises(openai.BadRequestError) as info:
        await ask("a")
    assert "no scripted reply left for model 'a'" in str(info.value)
    assert info.value.body["message"] == "no scripted reply left for model 'a'"
    assert server.remaining("a") == server.remaining(None) == 0


async def test_exhausted_script_is_400(server, client):
    with pytest.raises(openai.BadRequestError) as info:
        await client.completions.create(model="nothing", prompt="p", stream=True)
    assert info.value.status_code == 400
    assert info.value.message == "Error code: 400 - no scripted reply left for model 'nothing'"


async def test_callable_replies(server, client):
    seen = []

    def echo(body: dict):
        seen.append(body)
        if body.get("temperature") == 2:
            return HTTPError(503, "too hot")
        return Text("echo: " + body["messages"][-1]["content"])

    server.script(None, echo, echo, lambda body: f"prompt was {body['prompt']}")
    chat = await client.chat.completions.create(model="m", messages=MESSAGES, temperature=0)
    assert chat.choices[0].message.content == "echo: say hello"
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="m", messages=MESSAGES, temperature=2)
    completion = await client.completions.create(model="m", prompt="xyz")
    assert completion.choices[0].text == "prompt was xyz"
    assert [b["temperature"] for b in seen] == [0, 2]


async def test_chunk_delay_spreads_chunks_over_time():
    async with OpenAIServer(chunk_delay=0.03) as server:
        server.script("m", "a b c d e", Text("x y z", delay=0))
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
            arrivals = []
            async for chunk in await c.chat.completions.create(model="m", messages=MESSAGES, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    arrivals.append(time.monotonic())
            assert len(arrivals) == 5
            assert arrivals == sorted(arrivals)
            assert arrivals[-1] - arrivals[0] >= 0.06  # four delays of 0.03 s, generously
            start = time.monotonic()
            async for _ in await c.chat.completions.create(model="m", messages=MESSAGES, stream=True):
                pass
            assert time.monotonic() - start < 1.0


async def test_requests_are_recorded(server, client):
    server.script("m", "ok")
    await client.chat.completions.create(model="m", messages=MESSAGES, extra_query={"q": "1"})
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="m", messages=MESSAGES)
    first, second = server.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.model) == ("POST", "/v1/chat/completions", "m")
    assert first.query == {"q": "1"}
    assert first.json["messages"] == MESSAGES
    assert first.headers["authorization"] == "Bearer k"
    assert first.headers["content-type"] == "application/json"
    assert second.json == first.json


async def test_models_list(server, client):
    server.script("a", "x").script(None, "y").script("b")
    models = await client.models.list()
    assert [m.id for m in models.data] == ["a", "b"]


async def test_bad_requests_get_openai_style_errors(server):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}/chat/completions", data=b"{not json") as resp:
            assert resp.status == 400
            assert "JSON" in (await resp.json())["error"]["message"]
        async with session.post(f"{server.base_url}/nowhere", json={}) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["type"] == "invalid_request_error"
    assert [r.path for r in server.requests] == ["/v1/chat/completions", "/v1/nowhere"]
    assert server.requests[0].json == {}
