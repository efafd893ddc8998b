from __future__ import annotations

import asyncio

import pytest

from llmcompiler.exceptions import ConfigurationError, ScriptExhaustedError
from llmcompiler.llm import ChatModel, Reply, ScriptedModel, Usage, complete, flatten_messages, system, user


async def collect(model, messages, stop=()):
    items = [item async for item in model.stream(messages, stop=stop)]
    return items


async def test_replies_in_order_with_usage_last():
    model = ScriptedModel(["first reply", "second"])
    assert isinstance(model, ChatModel)
    items = await collect(model, [user("hi there")])
    assert "".join(i for i in items if isinstance(i, str)) == "first reply"
    assert isinstance(items[-1], Usage) and sum(isinstance(i, Usage) for i in items) == 1
    assert items[-1].output_tokens == 2 and items[-1].input_tokens >= 2
    text, _ = await complete(model, [user("again")])
    assert text == "second"
    assert [m[0].content for m in model.calls] == ["hi there", "again"]
    with pytest.raises(ScriptExhaustedError, match="has 2 replies but was called 3 times"):
        await complete(model, [user("third")])


async def test_chunks_join_back_to_the_text():
    text = "1. search('a b')\n  2. join()"
    items = await collect(ScriptedModel([text], chunk_tokens=2), [user("q")])
    chunks = [i for i in items if isinstance(i, str)]
    assert "".join(chunks) == text and len(chunks) > 2


async def test_stop_sequences_cut_the_text():
    model = ScriptedModel(["plan text<END_OF_PLAN> never seen", "no stop here"])
    assert (await complete(model, [user("q")], stop=["<END_OF_PLAN>"]))[0] == "plan text"
    assert (await complete(model, [user("q")], stop=["zzz", ""]))[0] == "no stop here"


async def test_reply_function_sync_and_async():
    async def echo_async(messages):
        return f"async {messages[-1].content}"

    model = ScriptedModel([lambda messages: f"sync {len(messages)}", echo_async])
    assert (await complete(model, [system("s"), user("u")]))[0] == "sync 2"
    assert (await complete(model, [user("u")]))[0] == "async u"
    every = ScriptedModel(lambda messages: messages[-1].content.upper())
    assert (await complete(every, [user("x")]))[0] == "X"
    assert (await complete(every, [user("y")]))[0] == "Y"


async def test_errors_before_and_after_text():
    model = ScriptedModel([ConnectionError("refused"), Reply("partial text", error=ConnectionResetError("reset"))])
    with pytest.raises(ConnectionError, match="refused"):
        await complete(model, [user("q")])
    seen = []
    with pytest.raises(ConnectionResetError):
        async for item in model.stream([user("q")]):
            seen.append(item)
    assert "".join(seen) == "partial text"


async def test_simulated_latency_orders_chunks_in_time():
    loop = asyncio.get_running_loop()
    model = ScriptedModel(["a b c d"], ttft=0.02, tokens_per_second=200)
    start = loop.time()
    arrivals = []
    async for item in model.stream([user("q")]):
        if isinstance(item, str):
            arrivals.append(loop.time() - start)
    assert len(arrivals) == 4
    assert arrivals[0] >= 0.02  # never earlier than the time to first token
    assert arrivals == sorted(arrivals)
    assert arrivals[-1] >= 0.02 + 3 / 200


def test_invalid_settings():
    with pytest.raises(ConfigurationError):
        ScriptedModel(["x"], tokens_per_second=0)
    with pytest.raises(ConfigurationError):
        ScriptedModel(["x"], ttft=-1)


async def test_bad_reply_type_is_a_programmer_error():
    with pytest.raises(TypeError, match="must be a str, Reply or exception"):
        await complete(ScriptedModel([lambda m: 42]), [user("q")])


def test_flatten_messages():
    assert flatten_messages([system("rules"), user("question")]) == "rules\n\nquestion\n"
