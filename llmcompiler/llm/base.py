"""The one protocol every model backend speaks.

A model streams text for a list of messages and optional stop sequences, then reports
usage. In code: `model.stream(messages, stop=[...])` is an async iterator that yields `str`
chunks and, as its very last item, one `Usage`. A reply cut at the model's token limit
yields its text and usage and then raises `ModelTruncatedError`: it must not be taken for a
whole reply. Consumers that only want the text use `complete()`. Timing is not measured
here: the agents record it as run events.

Chat backends send the messages as they are; completion-style (non-chat) backends flatten
them with `flatten_messages`.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from llmcompiler._loop import yield_to_loop
from llmcompiler._text import describe_error

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


def system(content: str) -> Message:
    return Message("system", content)


def user(content: str) -> Message:
    return Message("user", content)


def assistant(content: str) -> Message:
    return Message("assistant", content)


@dataclass(frozen=True)
class Usage:
    """Tokens of one model call (or a sum of calls)."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 1
    estimated: bool = False  # counted by us because the provider reported nothing

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.calls + other.calls,
            self.estimated or other.estimated,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


NO_USAGE = Usage(0, 0, 0)

# The completion limit every HTTP request names when none was given: servers' own defaults
# differ wildly (llama.cpp's and vLLM's completions endpoints stop after 16 tokens).
DEFAULT_MAX_TOKENS = 1024
# Per role, for the command line's models: a plan with thoughts runs to several hundred
# tokens; a joiner decision or a ReAct step is a thought and one action.
ROLE_MAX_TOKENS = {"planner": 1024, "joiner": 512, "react": 512}


@runtime_checkable
class ChatModel(Protocol):
    """What the planner, the joiner and ReAct need from a model."""

    name: str

    def stream(self, messages: Sequence[Message], *, stop: Sequence[str] = ()) -> AsyncIterator[str | Usage]:
        """Yield text chunks, then exactly one `Usage` as the last item."""
        ...


@dataclass(frozen=True)
class CallRecord:
    """One finished model call made through `complete`; times are perf_counter readings."""

    role: str
    model: str
    usage: Usage
    started: float
    first_token: float | None
    error: str | None


# Where `complete` reports its calls. A run sets it, so a tool that calls a model through
# `complete` has its tokens and latency counted in the run (role "tool").
call_sink: ContextVar[Callable[[CallRecord], None] | None] = ContextVar("llmcompiler_call_sink", default=None)


@dataclass(frozen=True)
class Completion:
    """How one streamed model call went; times are perf_counter readings."""

    text: str
    usage: Usage  # counts one call even when the backend reported nothing
    started: float
    first_token: float | None
    error: Exception | None  # the model or its connection failed

    @property
    def error_text(self) -> str | None:
        return None if self.error is None else describe_error(self.error)


async def stream_call(
    model: ChatModel,
    messages: Sequence[Message],
    *,
    stop: Sequence[str] = (),
    on_text: Callable[[str], Any] | None = None,
) -> Completion:
    """Stream one call to its end, handing each chunk to `on_text`.

    When `on_text` returns True (the planner's feed does after a chunk that started tasks),
    the event loop gets one turn before the stream is read further: what the chunk started
    runs first, not after the HTTP client has parsed whatever else its buffer holds.

    A failure of the model (or of `on_text`) is returned in `error`, not raised; only
    cancellation propagates, and the stream is closed on every exit.
    """
    started = time.perf_counter()
    first: float | None = None
    usage = NO_USAGE
    parts: list[str] = []
    error: Exception | None = None
    stream: Any = None
    try:
        stream = model.stream(messages, stop=stop)
        async for item in stream:
            if isinstance(item, Usage):
                usage = item
                continue
            if first is None:
                first = time.perf_counter()
            parts.append(item)
            if on_text is not None and on_text(item) is True:
                await yield_to_loop()
    except Exception as exc:
        error = exc
    finally:
        closer = getattr(stream, "aclose", None)  # close the connection on cancellation too
        if closer is not None:
            await closer()
    return Completion("".join(parts), usage if usage.calls else Usage(0, 0, 1), started, first, error)


async def complete(
    model: ChatModel, messages: Sequence[Message], *, stop: Sequence[str] = (), role: str = "tool"
) -> tuple[str, Usage]:
    """Run a model call to the end and return its whole text and usage; raise its error.

    Inside a run, the call is reported to the run (tokens, time to first token, duration).
    """
    done = await stream_call(model, messages, stop=stop)
    sink = call_sink.get()
    if sink is not None:
        name = getattr(model, "name", type(model).__name__)
        sink(CallRecord(role, name, done.usage, done.started, done.first_token, done.error_text))
    if done.error is not None:
        raise done.error
    return done.text, done.usage


def flatten_messages(messages: Sequence[Message]) -> str:
    """One prompt for completion (non-chat) models: sections separated by blank lines."""
    return "\n\n".join(m.content for m in messages) + "\n"


_TOKEN = re.compile(r"\s*\S+|\s+")


def split_tokens(text: str) -> list[str]:
    """Split text into word-sized pieces that join back to it exactly.

    A stand-in for a real tokenizer, used where none is available (simulated models,
    usage estimates): about one piece per word, whitespace attached to the next word.
    """
    return _TOKEN.findall(text)


def token_chunks(text: str, n: int) -> Iterator[tuple[str, int]]:
    """The pieces of `split_tokens(text)`, `n` at a time and joined, with how many each holds.

    Found one chunk at a time by a regex that matches `n` pieces at once, so no list of
    pieces is built and nothing is done ahead of the chunk asked for: a 10,000-line plan
    streamed in chunks of 256 costs a few microseconds a chunk, spread over the stream. A
    chunk before the last holds exactly `n` pieces (the regex stops short of `n` only at
    the end of the text); the last one is counted.
    """
    pattern = re.compile(rf"(?:{_TOKEN.pattern}){{1,{min(n, _MAX_REPEAT)}}}")  # (re caches it)
    size = len(text)
    for match in pattern.finditer(text):
        chunk = match.group()
        yield chunk, (n if match.end() < size else count_split_tokens(chunk))


_MAX_REPEAT = 2**31 - 1  # (under the regex engine's limit on {m,n}, 2**32 - 1; more pieces than any text has)
_WORD_END = re.compile(r"\S(?=\s)")


def word_slices(text: str, size: int) -> Iterator[str]:
    """`text` in consecutive slices of about `size` characters, each cut right after a word.

    No word (and so no piece of `split_tokens`) is split between two slices: the pieces of
    the slices, in order, are the pieces of `text`, and their words add up to its words.
    For work on a long text done a slice at a time, with a turn of the event loop between.
    """
    start = 0
    while len(text) - start > size:
        end = _WORD_END.search(text, start + size)
        if end is None:
            break
        yield text[start : end.end()]
        start = end.end()
    yield text[start:]


def count_split_tokens(text: str) -> int:
    """``len(split_tokens(text))``, 4x faster: every piece holds one run of non-space
    characters, but for a last piece of whitespace alone. (`str.split` and the regex's
    ``\\s`` agree on what is whitespace: both ask `str.isspace`.) A joiner prompt of 10,000
    results is 0.4 MB, counted on the event loop."""
    return len(text.split()) + (1 if text[-1:].isspace() else 0)


def estimate_tokens(text: str) -> int:
    """Rough token count (~4 characters a token, at least one per word)."""
    return estimate_from_count(count_split_tokens(text), len(text))


def estimate_from_count(pieces: int, chars: int) -> int:
    """`estimate_tokens` of a text of `chars` characters and `pieces` split tokens."""
    return max(pieces, (chars + 3) // 4)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text before the first stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)
