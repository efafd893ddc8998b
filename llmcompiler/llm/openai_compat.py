"""OpenAI-compatible backends: OpenAI, Azure OpenAI, vLLM and Friendli, through the `openai` SDK.

`OpenAIModel` adapts one client and one model name to the `ChatModel` protocol, on the chat
endpoint (messages) or the completions endpoint (non-chat base models: the messages are
flattened into one prompt). Text streams with `stream_options={"include_usage": True}`, so
usage comes from the provider's final chunk; a provider that reports none is counted
offline and the usage is marked estimated.

Every request names its `max_tokens` (`DEFAULT_MAX_TOKENS` when none is given): without
one, llama.cpp's and vLLM's completions endpoints stop after 16 tokens. How the reply ended
is checked, not assumed: a reply cut for length (`finish_reason: "length"`) yields its text
and usage and then raises `ModelTruncatedError`, so a half-written plan is never taken for a
whole one; a stream that ends without any finish reason (no `[DONE]`: the SDK ends such a
stream quietly) raises `ModelStreamError`.

`system_role=False` sends the system message's text at the start of the next user message,
for chat templates that drop or reject the system role (Gemma's in llama-cpp-python).

Retries are ours (the SDK's own are switched off, so nothing retries twice): HTTP 408, 409,
429 and 5xx and dropped connections are retried with exponential backoff and full jitter,
honouring `Retry-After` / `retry-after-ms`, and so is a stream that ended without a finish
reason. Only an attempt that has not yielded any text yet is retried. **A stream that breaks
after text has been yielded fails the call with `ModelStreamError`** instead of being
replayed: the planner's tasks may already be running, and feeding a second, different plan
into the same parser would corrupt the run. The run then ends with a clear error and keeps
what already ran. Other 4xx errors fail at once.

`rate_limit` (a `ModelLimit` from `llmcompiler.llm.ratelimit`, shared by every model of a
run with the same name) is asked before each attempt and told the reported usage after it;
a `Retry-After` pauses it, so the other calls to the model wait too.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import openai

from llmcompiler._text import describe_error
from llmcompiler._validate import positive_int
from llmcompiler.exceptions import (
    ConfigurationError,
    ModelConnectionError,
    ModelError,
    ModelHTTPError,
    ModelStreamError,
    ModelTruncatedError,
)
from llmcompiler.llm.base import DEFAULT_MAX_TOKENS, Message, Usage, flatten_messages
from llmcompiler.llm.ratelimit import ModelLimit, Reservation
from llmcompiler.llm.tokens import count_tokens, counted_usage

Endpoint = Literal["chat", "completions"]

_RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
# Transport errors that may escape the SDK while a stream is being read.
_TRANSPORT_MODULES = ("httpx", "httpcore", "httpx2", "h11", "h2", "anyio")


class _NoFinishReason(Exception):
    """The server ended a stream without saying why (no finish reason, no [DONE])."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before retrying a failed model call."""

    max_retries: int = 3
    base_delay: float = 0.5  # seconds; attempt n waits up to base_delay * 2**(n-1)
    max_delay: float = 20.0  # cap for backoff
    max_retry_after: float = 60.0  # the longest Retry-After we honour

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class OpenAIModel:
    """A `ChatModel` over an `openai.AsyncOpenAI` (or `AsyncAzureOpenAI`) client.

    `max_tokens`: the completion limit sent with every request (None: `DEFAULT_MAX_TOKENS`).
    `system_role`: False merges system messages into the next user message.
    """

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        endpoint: Endpoint = "chat",
        temperature: float | None = 0.0,
        max_tokens: int | None = None,
        stream: bool = True,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        system_role: bool = True,
        retry: RetryPolicy = RetryPolicy(),
        provider: str = "openai",
        key_variable: str | None = None,
        rate_limit: ModelLimit | None = None,
    ) -> None:
        if endpoint not in ("chat", "completions"):
            raise ConfigurationError(f"endpoint must be 'chat' or 'completions', not {endpoint!r}")
        max_tokens = positive_int("max_tokens", DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens)
        self.client = client
        self.model = model
        self.name = model
        self.endpoint = endpoint
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.streaming = stream
        self.include_usage = include_usage
        self.extra_body = dict(extra_body) if extra_body else None
        self.system_role = system_role
        self.retry = retry
        self.provider = provider
        self.key_variable = key_variable
        self.rate_limit = rate_limit

    async def aclose(self) -> None:
        """Close the client's connection pool (models share nothing else)."""
        await self.client.close()

    def __repr__(self) -> str:
        return f"OpenAIModel(provider={self.provider!r}, model={self.model!r}, endpoint={self.endpoint!r})"

    async def stream(self, messages: Sequence[Message], *, stop: Sequence[str] = ()) -> AsyncIterator[str | Usage]:
        attempt = 0
        while True:
            produced = False
            reservation = await self.rate_limit.acquire(self._estimate(messages)) if self.rate_limit else None
            used: int | None = None
            try:
                async for item in self._attempt(messages, stop):
                    if isinstance(item, str) and item:
                        produced = True
                    elif isinstance(item, Usage):
                        used = item.input_tokens + item.output_tokens
                    yield item
                return
            except ModelTruncatedError:
                raise  # a whole reply, just too long: asking again would cut it again
            except Exception as exc:
                if produced:
                    if isinstance(exc, _NoFinishReason):
                        what = f"ended without a finish reason after it had started ({exc})"
                    else:
                        what = f"broke after it had started: {describe_error(exc)}"
                    raise ModelStreamError(f"{self.provider} stream for {self.model!r} {what}") from exc
                retryable, retry_after = _classify(exc)
                if self.rate_limit is not None and retry_after is not None:
                    self.rate_limit.pause(self.retry.delay(attempt + 1, retry_after))
                if not retryable or attempt >= self.retry.max_retries:
                    raise self._translate(exc, attempt) from exc
                self._settle(reservation, used)
                reservation = None  # settled before the backoff, so the wait holds no tokens
                attempt += 1
                await asyncio.sleep(self.retry.delay(attempt, retry_after))
            finally:
                self._settle(reservation, used)

    def _settle(self, reservation: Reservation | None, used: int | None) -> None:
        if reservation is not None and self.rate_limit is not None:
            self.rate_limit.settle(reservation, used)

    def _estimate(self, messages: Sequence[Message]) -> int:
        """The tokens a request may use, as providers count them against a limit: prompt plus max_tokens."""
        if self.rate_limit is None or not self.rate_limit.tpm:
            return 0
        prompt = sum(count_tokens(m.content, self.model) for m in messages)
        return prompt + (self.max_tokens or 0)

    # -- one request -----------------------------------------------------------------

    def _request(self, messages: Sequence[Message], stop: Sequence[str]) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "stream": self.streaming}
        if self.endpoint == "chat":
            sent = messages if self.system_role else without_system_role(messages)
            request["messages"] = [{"role": m.role, "content": m.content} for m in sent]
        else:
            request["prompt"] = flatten_messages(messages)
        if self.temperature is not None:
            request["temperature"] = self.temperature
        request["max_tokens"] = self.max_tokens
        if stop:
            request["stop"] = list(stop)
        if self.streaming and self.include_usage:
            request["stream_options"] = {"include_usage": True}
        if self.extra_body:
            request["extra_body"] = self.extra_body
        return request

    async def _attempt(self, messages: Sequence[Message], stop: Sequence[str]) -> AsyncIterator[str | Usage]:
        api = self.client.chat.completions if self.endpoint == "chat" else self.client.completions
        response = await api.create(**self._request(messages, stop))
        parts: list[str] = []
        usage: Usage | None = None
        finish: str | None = None
        if not self.streaming:
            # a whole JSON body arrived, so a missing finish reason is the server's style, not a cut
            choice = response.choices[0] if response.choices else None
            text = _text_of(choice, self.endpoint) if choice is not None else ""
            finish = getattr(choice, "finish_reason", None)
            usage = _usage_of(response)
            if text:
                parts.append(text)
                yield text
        else:
            try:
                async for chunk in response:
                    usage = _usage_of(chunk) or usage
                    for choice in chunk.choices or ():
                        if choice.index == 0:
                            text = _text_of(choice, self.endpoint)
                            if text:
                                parts.append(text)
                                yield text
                            finish = choice.finish_reason or finish
            finally:
                await response.close()
            if finish is None:
                raise _NoFinishReason("the server closed it with no [DONE]")
        yield usage if usage is not None else counted_usage(messages, "".join(parts), self.model)
        if finish == "length":
            raise ModelTruncatedError(
                f"{self.provider} model {self.model!r}: the reply was cut at max_tokens={self.max_tokens} "
                "(finish_reason: length)",
                limit=self.max_tokens,
            )

    def _translate(self, exc: Exception, retries: int) -> ModelError:
        tried = f" (after {retries} retries)" if retries else ""
        where = f"{self.provider} model {self.model!r}"
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = _error_message(exc)
            if status in (401, 403):
                hint = f": check {self.key_variable}" if self.key_variable else ""
                return ModelHTTPError(f"{where}: authentication failed ({status}){hint}: {message}", status=status)
            if status == 404:
                return ModelHTTPError(
                    f"{where}: not found (404) — check the model or deployment name: {message}", status=status
                )
            return ModelHTTPError(f"{where}: HTTP {status}{tried}: {message}", status=status)
        if isinstance(exc, openai.APIConnectionError) or _is_transport_error(exc):
            return ModelConnectionError(f"{where}: {describe_error(exc)}{tried}")
        if isinstance(exc, _NoFinishReason):
            return ModelStreamError(f"{where}: the stream ended without a finish reason{tried} ({exc})")
        return ModelError(f"{where}: {describe_error(exc)}")


def without_system_role(messages: Sequence[Message]) -> list[Message]:
    """The messages with every system message's text moved to the start of the next user
    message (or sent as a user message when none follows), for chat templates without a
    system role. The plain blank-line join assumes nothing about any template."""
    out: list[Message] = []
    pending: list[str] = []
    for message in messages:
        if message.role == "system":
            pending.append(message.content)
            continue
        if pending and message.role == "user":
            message = Message("user", "\n\n".join([*pending, message.content]))
            pending = []
        elif pending:
            out.append(Message("user", "\n\n".join(pending)))
            pending = []
        out.append(message)
    if pending:
        out.append(Message("user", "\n\n".join(pending)))
    return out


def _text_of(choice: Any, endpoint: Endpoint) -> str:
    if endpoint == "completions":
        return choice.text or ""
    holder = getattr(choice, "delta", None) or getattr(choice, "message", None)
    return (getattr(holder, "content", None) or "") if holder is not None else ""


def _usage_of(obj: Any) -> Usage | None:
    usage = getattr(obj, "usage", None)
    if usage is None or usage.prompt_tokens is None:
        return None
    return Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0, 1)


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
        if body.get("message"):
            return str(body["message"])
    return str(exc.message)


def _is_transport_error(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.IncompleteReadError)):
        return True
    module = type(exc).__module__.split(".", 1)[0]
    return module in _TRANSPORT_MODULES


def _classify(exc: Exception) -> tuple[bool, float | None]:
    """Whether a failed attempt may be retried, and the server's Retry-After in seconds."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _RETRY_STATUSES, _retry_after(exc.response.headers)
    if isinstance(exc, (openai.APIConnectionError, _NoFinishReason)) or _is_transport_error(exc):
        return True, None
    return False, None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:  # an HTTP date
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
