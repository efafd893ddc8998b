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


# -- long replies and prompts, a slice at a time (issue 16) -------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from llmcompiler._compat import TaskGroup  # noqa: E402
from llmcompiler.exceptions import ModelTruncatedError  # noqa: E402
from llmcompiler.llm import scripted as scripted_module  # noqa: E402
from llmcompiler.llm.base import estimate_tokens, split_tokens, token_chunks, word_slices  # noqa: E402

TEXTS = st.text(alphabet=st.sampled_from("ab $1(),\n\t  \u00a0\u3000é"), max_size=300)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, size=st.integers(1, 40))
def test_word_slices_split_no_token(text, size):
    slices = list(word_slices(text, size))
    assert "".join(slices) == text
    assert [piece for s in slices for piece in split_tokens(s)] == split_tokens(text)


def _stream(model):
    """Everything the model's stream yields, and the exception that ended it (or None)."""
    out: list = []

    async def collect():
        async for piece in model.stream([user("q")]):
            out.append(piece)

    try:
        asyncio.run(collect())
    except ModelTruncatedError as exc:
        return out, exc
    return out, None


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, n=st.integers(1, 9))
def test_token_chunks_are_the_pieces_n_at_a_time(text, n):
    pieces = split_tokens(text)
    expected = [("".join(pieces[i : i + n]), len(pieces[i : i + n])) for i in range(0, len(pieces), n)]
    assert list(token_chunks(text, n)) == expected


def test_token_chunks_of_a_size_past_the_regex_limit_is_one_chunk():
    text = "1. a()\n2. b($1)  \n"
    assert list(token_chunks(text, 10**12)) == [(text, len(split_tokens(text)))]


@settings(max_examples=150, deadline=None)
@given(text=TEXTS, chunk=st.integers(1, 9), limit=st.none() | st.integers(1, 60))
def test_a_reply_streams_chunks_of_its_tokens_cut_at_the_limit(text, chunk, limit):
    """A reply streams chunks of `chunk` tokens from the start, cut at `limit`, and the
    usage of what was sent."""
    tokens = split_tokens(text)
    sent = tokens if limit is None else tokens[:limit]
    expected = ["".join(sent[i : i + chunk]) for i in range(0, len(sent), chunk)]
    out, error = _stream(ScriptedModel([text], chunk_tokens=chunk, max_tokens=limit))
    assert (error is not None) == (limit is not None and len(tokens) > limit)
    assert [p for p in out if isinstance(p, str)] == expected
    assert [p.output_tokens for p in out if isinstance(p, Usage)] == [len(sent)]


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=3), window=st.integers(1, 30))
def test_a_long_prompt_is_counted_as_estimate_tokens_counts_it(texts, window):
    before = scripted_module.TEXT_SLICE
    scripted_module.TEXT_SLICE = window
    try:
        counted = asyncio.run(scripted_module._estimate_prompt([user(t) for t in texts]))
    finally:
        scripted_module.TEXT_SLICE = before
    assert counted == sum(estimate_tokens(t) for t in texts)


def test_a_long_reply_is_cut_into_chunks_as_they_are_sent(monkeypatch):
    """A 10,000-line plan is cut one chunk at a time, each as it is about to be sent: when
    the first chunk arrives, no more than the next one has been cut."""
    text = "\n".join(f"{i}. op(${i - 1})" for i in range(1, 10_001))
    cut = 0
    cut_at_arrival = []

    def recording(text, n):
        nonlocal cut
        for chunk in token_chunks(text, n):
            cut += 1
            yield chunk

    monkeypatch.setattr(scripted_module, "token_chunks", recording)

    async def collect():
        out = []
        async for piece in ScriptedModel([text], chunk_tokens=256).stream([user("q")]):
            cut_at_arrival.append(cut)
            out.append(piece)
        return out

    out = asyncio.run(collect())
    assert "".join(p for p in out if isinstance(p, str)) == text
    assert out[-1].output_tokens == len(split_tokens(text))
    chunks = len(out) - 1
    assert chunks == -(-len(split_tokens(text)) // 256)
    assert cut_at_arrival[:chunks] == list(range(1, chunks + 1))  # (one cut per chunk sent, in step)


async def test_a_long_prompt_is_counted_with_turns_of_the_loop():
    """A 0.5 MB prompt: a ticker task gets a turn between the slices of its count (none
    if it were counted in one step)."""
    prompt = "x " * 250_000
    model = ScriptedModel(["ok"])
    turns = 0
    done = False

    async def ticker():
        nonlocal turns
        while not done:
            turns += 1
            await scripted_module.yield_to_loop()

    async def call():
        nonlocal done
        try:
            return [p async for p in model.stream([user(prompt)])]
        finally:
            done = True

    async with TaskGroup() as group:
        group.create_task(ticker())
        pieces = await group.create_task(call())
    assert pieces == ["ok", Usage(estimate_tokens(prompt), 1)]
    assert turns >= len(prompt) // scripted_module.TEXT_SLICE
