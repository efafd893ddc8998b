"""A deterministic model for tests, demos and benchmarks.

    planner = ScriptedModel(["1. search('a')\\n2. join()<END_OF_PLAN>"], ttft=0.2, tokens_per_second=50)

Replies are consumed one per call, in order. Each is a string, a `Reply` (text plus an
error raised after the text has streamed, to simulate a broken connection), an exception
(raised before any text), or a function of the messages returning one of those (sync or
async). A single function instead of a list answers every call.

Latency is simulated against the loop's clock: the first chunk arrives `ttft` seconds after
the call, then chunks of `chunk_tokens` word-sized tokens at `tokens_per_second`. Timing is
computed from the call's start, so sleeps do not accumulate drift. Without a speed, chunks
still arrive one event-loop turn apart, as they would from a socket. A reply is cut into
chunks one chunk at a time, as each is sent (`llm.base.token_chunks`), and a long prompt's
tokens are counted TEXT_SLICE characters at a time, a turn of the loop apart: a 10,000-line
plan or a 0.4 MB joiner prompt would otherwise stop the event loop for milliseconds at the
start or end of a call.

`max_tokens` simulates a server's completion limit: a longer reply streams its first
`max_tokens` word-sized tokens and its usage, then raises `ModelTruncatedError`, as an
HTTP backend does on `finish_reason: length`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from llmcompiler._loop import yield_to_loop
from llmcompiler._validate import non_negative_seconds, positive_int, positive_number
from llmcompiler.exceptions import ModelTruncatedError, ScriptExhaustedError
from llmcompiler.llm.base import (
    Message,
    Usage,
    count_split_tokens,
    cut_at_stop,
    estimate_from_count,
    split_tokens,
    token_chunks,
    word_slices,
)

# Characters of a prompt counted in one step of the event loop.
TEXT_SLICE = 16_384


@dataclass(frozen=True)
class Reply:
    """A scripted reply; `error`, if given, is raised after `text` has been streamed."""

    text: str
    error: BaseException | None = None


ReplyValue = str | Reply | BaseException
ReplyFunction = Callable[[list[Message]], ReplyValue | Awaitable[ReplyValue]]


class ScriptedModel:
    """A `ChatModel` whose replies are given in advance; see the module docstring."""

    def __init__(
        self,
        replies: Sequence[ReplyValue | ReplyFunction] | ReplyFunction,
        *,
        ttft: float = 0.0,
        tokens_per_second: float | None = None,
        chunk_tokens: int = 1,
        max_tokens: int | None = None,
        name: str = "scripted",
    ) -> None:
        # NaN passes `< 0` and `<= 0` alike: the checks below name it instead
        ttft = non_negative_seconds("ScriptedModel ttft", ttft)
        tokens_per_second = positive_number("ScriptedModel tokens_per_second", tokens_per_second, allow_none=True)
        chunk = positive_int("ScriptedModel chunk_tokens", chunk_tokens)
        assert chunk is not None  # without allow_none it returns an int or raises
        self.max_tokens = positive_int("ScriptedModel max_tokens", max_tokens, allow_none=True)
        if isinstance(replies, (str, Reply)):
            replies = [replies]
        self._replies = replies
        self.ttft = ttft
        self.tokens_per_second = tokens_per_second
        self.chunk_tokens = chunk
        self.name = name
        self.calls: list[list[Message]] = []  # the messages of every call, for inspection

    async def _next_reply(self, messages: list[Message]) -> Reply:
        value: ReplyValue | ReplyFunction | Awaitable[ReplyValue]
        if callable(self._replies):
            value = self._replies(messages)
        else:
            index = len(self.calls) - 1
            if index >= len(self._replies):
                raise ScriptExhaustedError(
                    f"ScriptedModel {self.name!r} has {len(self._replies)} replies but was called {index + 1} times"
                )
            value = self._replies[index]
            if callable(value) and not isinstance(value, BaseException):
                value = value(messages)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, BaseException):
            return Reply("", value)
        if isinstance(value, str):
            return Reply(value)
        if isinstance(value, Reply):
            return value
        raise TypeError(f"a scripted reply must be a str, Reply or exception, not {type(value).__name__}")

    async def stream(self, messages: Sequence[Message], *, stop: Sequence[str] = ()) -> AsyncIterator[str | Usage]:
        messages = list(messages)
        self.calls.append(messages)
        loop = asyncio.get_running_loop()
        start = loop.time()
        reply = await self._next_reply(messages)
        text, _ = cut_at_stop(reply.text, stop)
        if reply.error is not None and not text:
            await self._wait_until(loop, start + self.ttft)
            raise reply.error
        limit = self.max_tokens
        sent = 0
        cut = False
        for chunk, count in token_chunks(text, self.chunk_tokens):
            if limit is not None and sent + count > limit:
                cut = True
                count = limit - sent
                if not count:
                    break
                chunk = "".join(split_tokens(chunk)[:count])
            arrival = start + self.ttft
            if self.tokens_per_second is not None:
                arrival += sent / self.tokens_per_second
            await self._wait_until(loop, arrival)
            yield chunk
            sent += count
            if cut:
                break
        if reply.error is not None and not cut:  # the cut comes first, as on a real server
            raise reply.error
        yield Usage(await _estimate_prompt(messages), sent)
        if cut:
            raise ModelTruncatedError(
                f"scripted model {self.name!r}: the reply was cut at max_tokens={self.max_tokens}",
                limit=self.max_tokens,
            )

    @staticmethod
    async def _wait_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
        # sleep(0) when already due: a chunk never arrives in the same loop turn as the last
        await asyncio.sleep(max(0.0, when - loop.time()))

    def __repr__(self) -> str:
        return f"ScriptedModel(name={self.name!r}, ttft={self.ttft}, tokens_per_second={self.tokens_per_second})"


async def _estimate_prompt(messages: Sequence[Message]) -> int:
    """The summed `estimate_tokens` of the messages, TEXT_SLICE characters per loop turn."""
    total = 0
    for message in messages:
        text = message.content
        pieces = 0
        for n, piece in enumerate(word_slices(text, TEXT_SLICE)):
            if n:
                await yield_to_loop()
            pieces += count_split_tokens(piece)  # (a slice ends in a word: no piece is counted twice)
        total += estimate_from_count(pieces, len(text))
    return total
