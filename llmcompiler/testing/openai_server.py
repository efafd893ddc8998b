"""A small, real OpenAI-compatible HTTP server for tests, benchmarks and demos.

`OpenAIServer` listens on an ephemeral port on 127.0.0.1 and answers the chat and text
completion endpoints with replies you script in advance, on the wire exactly as OpenAI
does: JSON objects, or server-sent events when the request says ``"stream": true``.
Because it speaks real HTTP, any client works against it: the ``openai`` SDK
(``AsyncOpenAI``, ``AsyncAzureOpenAI``), vLLM- or Friendli-style clients, ``curl``.

    import openai
    from llmcompiler.testing import Break, HTTPError, OpenAIServer, Text

    async def main() -> None:
        async with OpenAIServer(api_key="sk-test", chunk_delay=0.01) as server:
            server.script(
                "gpt-4o",
                "1. search('LLMCompiler')\\n<END_OF_PLAN>",
                HTTPError(429, "slow down", retry_after=0.05),
                Text("Thought: done\\nAction: Finish(42)", delay=0.0),
                Break("half a rep"),  # streams this, then drops the connection
            )
            server.script(None, lambda body: f"echo: {body['messages'][-1]['content']}")

            client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
            stream = await client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": "plan"}],
                stream=True,
            )
            async for chunk in stream:
                ...
            print(server.requests[0].json["messages"])

Routes (all on ``127.0.0.1``):

* ``POST /v1/chat/completions`` and ``POST /v1/completions`` (``server.base_url``);
* ``POST /openai/deployments/{deployment}/chat/completions`` and
  ``.../completions``, Azure style (``server.azure_endpoint``): the ``api-version``
  query parameter is required and the deployment name is the model;
* ``POST /serverless/v1/chat/completions`` and ``.../completions``, Friendli style
  (``server.friendli_base_url``);
* ``GET /v1/models`` (and ``/serverless/v1/models``): the models that have a queue.

When ``api_key`` is set, the Azure routes require the ``api-key`` header and every
other route ``Authorization: Bearer <api_key>``; otherwise any key, or none, is accepted.

Replies are taken one per request, first in first out, from the queue of the
request's model, or from the ``None`` queue when that one is empty. A reply is:

* a ``str``, the same as ``Text(str)``;
* `Text`: the completion, streamed in word-sized tokens with ``delay`` seconds before
  each token (non-streaming requests wait the same total time);
* `HTTPError`: an HTTP error with an OpenAI-style JSON body;
* `Break`: streams ``text_before`` and then closes the connection in the middle of the
  body, so the client sees a broken stream rather than a clean end;
* `Unfinished`: streams ``text_before`` and then ends the body cleanly, but without a
  finish reason, a usage chunk or ``[DONE]`` (what a proxy or a crashed worker can do);
* a callable taking the request's JSON body and returning one of the above.

The request's ``stop`` (string or list) cuts the text before the earliest stop string
(finish reason ``"stop"``); ``max_tokens`` / ``max_completion_tokens`` truncate it to
that many tokens (finish reason ``"length"``). A request without either gets the server's
``default_max_tokens`` (None: no limit; 16 is what llama.cpp's and vLLM's completions
endpoints do). With ``stream_options: {"include_usage": true}`` every chunk carries
``"usage": null`` and a last chunk with no choices carries the usage; ``usage=False``
makes the server send no usage at all, streamed or not, as some servers do. ``n``,
``logprobs``, ``tools`` and the like are ignored: there is always exactly one choice of plain text.

Every request, rejected ones included, is recorded in ``server.requests`` before it is
answered, with its whole JSON body (fields a client adds with ``extra_body``, such as
llama.cpp's ``grammar``, included). A request rejected for its key, its URL or its body does not use up a reply.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from functools import partial
from typing import Any

from aiohttp import web

from llmcompiler.testing._loopback import LoopbackServer

__all__ = [
    "Break",
    "HTTPError",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "Text",
    "Unfinished",
    "tokenize",
]


@dataclass(frozen=True)
class Text:
    """A completion to send.

    ``delay`` is the time in seconds to wait before each token chunk (None: the
    server's ``chunk_delay``). ``prompt_tokens`` and ``completion_tokens`` override the
    counts the server reports in ``usage``.
    """

    text: str
    _: KW_ONLY
    delay: float | None = None
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class HTTPError:
    """An HTTP error answered with an OpenAI-style JSON body.

    The body is ``{"error": {"message", "type", "param": null, "code"}}``; ``type``
    defaults from the status (``"invalid_request_error"`` for 4xx, ``"requests"`` for
    429, ``"server_error"`` for 5xx) and ``code`` to ``"rate_limit_exceeded"`` for 429,
    ``"invalid_api_key"`` for 401 and null otherwise. ``retry_after`` (seconds) is sent as
    the ``Retry-After`` header; ``headers`` are added to the response as they are.
    """

    status: int
    message: str
    _: KW_ONLY
    retry_after: float | None = None
    headers: Mapping[str, str] | None = None
    error_type: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Break:
    """Stream ``text_before`` as usual, then close the connection mid-body.

    The response is never terminated (no final chunk, no ``[DONE]``, no end of the
    chunked body), so an HTTP client reports an incomplete body. For a non-streaming
    request the headers and the start of the JSON body are sent before the close.
    """

    text_before: str = ""


@dataclass(frozen=True)
class Unfinished:
    """Stream ``text_before``, then end the body cleanly with no finish reason and no ``[DONE]``.

    Unlike `Break` the HTTP response is complete, so a client sees no transport error,
    only a stream that stopped before saying why. A non-streaming request gets its text
    with ``"finish_reason": null``.
    """

    text_before: str = ""


Reply = str | Text | HTTPError | Break | Unfinished | Callable[[dict], Any]
"""What `OpenAIServer.script` accepts: a callable gets the request's JSON body and
returns one of the other kinds."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    ``headers`` has lower-case names; ``query`` has the first value of each parameter;
    ``json`` is the body as a dict (``{}`` when it was absent or not a JSON object);
    ``model`` is the body's ``model``, or the deployment name on the Azure routes
    (``""`` when neither is there).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: dict[str, Any]
    model: str


_TOKEN_RE = re.compile(r"\s*\S+|\s+")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into word-sized tokens that join back to exactly ``text``."""
    return _TOKEN_RE.findall(text)


def _count_tokens(value: Any) -> int:
    """Word-sized tokens in a prompt: strings are split, token ids count one each."""
    if isinstance(value, str):
        return len(tokenize(value))
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 1
    if isinstance(value, list):
        return sum(_count_tokens(item) for item in value)
    return 0


def _count_message_tokens(messages: Any) -> int:
    if not isinstance(messages, list):
        return 0
    total = 0
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        if isinstance(content, str):
            total += _count_tokens(content)
        elif isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
            for part in content:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    total += _count_tokens(part["text"])
    return total


def _default_error_type(status: int) -> str:
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def _default_error_code(status: int) -> str | None:
    return {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


_REPLY_TYPES = (str, Text, HTTPError, Break, Unfinished)


class _Reject(Exception):
    """Raised inside a handler to answer with an `HTTPError`."""

    def __init__(self, error: HTTPError) -> None:
        super().__init__(error.message)
        self.error = error


_NOT_JSON = object()  # a body that is present but not JSON


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


class OpenAIServer(LoopbackServer):
    """An OpenAI-compatible HTTP server on 127.0.0.1 answering scripted replies.

    ``api_key``: the key clients must send (None accepts any key or none).
    ``chunk_delay``: seconds to wait before each streamed token chunk, unless a `Text`
    sets its own ``delay``.
    ``default_max_tokens``: the completion limit of a request that names none (None: no
    limit; 16 mimics llama.cpp and vLLM). ``usage``: False sends no usage, even when
    the request asks for it.

    Use it as ``async with OpenAIServer() as server:``, or call `start` and `close`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        chunk_delay: float = 0.0,
        *,
        default_max_tokens: int | None = None,
        usage: bool = True,
    ) -> None:
        self.api_key = api_key
        self.chunk_delay = chunk_delay
        self.default_max_tokens = default_max_tokens
        self.usage = usage
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str | None, deque[Reply]] = {}
        super().__init__()

    # -- scripting -----------------------------------------------------------------

    def script(self, model: str | None, *replies: Reply) -> OpenAIServer:
        """Queue ``replies`` for ``model`` (None: for any model without replies of its own)."""
        for reply in replies:
            if not isinstance(reply, _REPLY_TYPES) and not callable(reply):
                raise TypeError(f"not a scripted reply: {reply!r}")
        self._queues.setdefault(model, deque()).extend(replies)
        return self

    def remaining(self, model: str | None = None) -> int:
        """How many replies are still queued for ``model`` (None: the fallback queue)."""
        return len(self._queues.get(model, ()))

    def _next_reply(self, model: str) -> Reply | None:
        for key in (model, None):
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        return None

    # -- lifecycle -----------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_middleware])
        for prefix in ("/v1", "/serverless/v1"):
            app.router.add_post(f"{prefix}/chat/completions", partial(self._handle, chat=True, azure=False))
            app.router.add_post(f"{prefix}/completions", partial(self._handle, chat=False, azure=False))
            app.router.add_get(f"{prefix}/models", self._handle_models)
        deployments = "/openai/deployments/{deployment}"
        app.router.add_post(f"{deployments}/chat/completions", partial(self._handle, chat=True, azure=True))
        app.router.add_post(f"{deployments}/completions", partial(self._handle, chat=False, azure=True))
        return app

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        """Azure-style endpoint for ``AsyncAzureOpenAI(azure_endpoint=...)``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def friendli_base_url(self) -> str:
        """Friendli serverless-style base URL, ``http://127.0.0.1:<port>/serverless/v1``."""
        return f"http://127.0.0.1:{self.port}/serverless/v1"

    # -- request handling ----------------------------------------------------------

    @web.middleware
    async def _record_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = _parse_body(await request.read())
        payload = body if isinstance(body, dict) else {}
        deployment = request.match_info.get("deployment")
        model = deployment if deployment is not None else payload.get("model")
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query={key: request.query[key] for key in request.query},
                headers={name.lower(): value for name, value in request.headers.items()},
                json=payload,
                model=model if isinstance(model, str) else "",
            )
        )
        try:
            return await handler(request)
        except _Reject as rejection:
            return self._error_response(rejection.error)
        except web.HTTPException as exc:  # unknown route, wrong method
            if exc.status < 400:
                raise
            message = f"{exc.reason}: {request.method} {request.path}"
            return self._error_response(HTTPError(exc.status, message))

    @staticmethod
    def _error_response(error: HTTPError) -> web.Response:
        body = {
            "error": {
                "message": error.message,
                "type": error.error_type or _default_error_type(error.status),
                "param": None,
                "code": error.code if error.code is not None else _default_error_code(error.status),
            }
        }
        headers = {"x-request-id": _request_id()}
        if error.retry_after is not None:
            headers["Retry-After"] = _format_seconds(error.retry_after)
        headers.update(error.headers or {})
        return web.json_response(body, status=error.status, headers=headers)

    def _check_key(self, request: web.Request, *, azure: bool) -> None:
        if self.api_key is None:
            return
        if azure:
            if request.headers.get("api-key") == self.api_key:
                return
            message = (
                "Access denied due to invalid subscription key or wrong API endpoint (expected the api-key header)."
            )
        else:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token.strip() == self.api_key:
                return
            message = "Incorrect API key provided (expected 'Authorization: Bearer <key>')."
        raise _Reject(HTTPError(401, message, error_type="invalid_request_error", code="invalid_api_key"))

    async def _handle_models(self, request: web.Request) -> web.Response:
        self._check_key(request, azure=False)
        data = [
            {"id": model, "object": "model", "created": 0, "owned_by": "llmcompiler-testing"}
            for model in self._queues
            if model is not None
        ]
        return web.json_response({"object": "list", "data": data}, headers={"x-request-id": _request_id()})

    async def _handle(self, request: web.Request, *, chat: bool, azure: bool) -> web.StreamResponse:
        if azure and not request.query.get("api-version"):
            message = "Missing required query parameter 'api-version' (e.g. ?api-version=2024-06-01)."
            raise _Reject(HTTPError(400, message))
        self._check_key(request, azure=azure)
        body = _parse_body(await request.read())  # read() caches the body
        if not isinstance(body, dict):
            raise _Reject(HTTPError(400, "We could not parse the JSON body of your request: expected a JSON object."))
        model = request.match_info["deployment"] if azure else body.get("model")
        if not isinstance(model, str) or not model:
            raise _Reject(HTTPError(400, "You must provide a model parameter."))
        if chat and not isinstance(body.get("messages"), list):
            raise _Reject(HTTPError(400, "'messages' is a required property and must be an array."))
        if not chat and "prompt" not in body:
            raise _Reject(HTTPError(400, "'prompt' is a required property."))

        reply = self._next_reply(model)
        if reply is None:
            raise _Reject(HTTPError(400, f"no scripted reply left for model '{model}'"))
        if callable(reply) and not isinstance(reply, _REPLY_TYPES):
            try:
                reply = reply(body)
            except Exception as exc:  # a bug in the test's callable: tell the client
                raise _Reject(HTTPError(500, f"scripted reply callable raised {exc!r}")) from exc
        if isinstance(reply, str):
            reply = Text(reply)
        if isinstance(reply, HTTPError):
            return self._error_response(reply)
        if not isinstance(reply, (Text, Break, Unfinished)):
            raise _Reject(HTTPError(500, f"scripted reply callable returned {reply!r}, not a reply"))

        completion = _Completion(
            body,
            model,
            chat=chat,
            reply=reply,
            chunk_delay=self.chunk_delay,
            default_max_tokens=self.default_max_tokens,
            usage=self.usage,
        )
        if body.get("stream"):
            return await completion.stream(request)
        return await completion.respond(request)


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def _stop_strings(stop: Any) -> list[str]:
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list):
        return [s for s in stop if isinstance(s, str) and s]
    return []


class _Completion:
    """One answer to one request: the text after stop and max_tokens, and its wire format."""

    def __init__(
        self,
        body: dict,
        model: str,
        *,
        chat: bool,
        reply: Text | Break | Unfinished,
        chunk_delay: float,
        default_max_tokens: int | None,
        usage: bool,
    ) -> None:
        self.model = model
        self.chat = chat
        self.broken = isinstance(reply, Break)
        self.unfinished = isinstance(reply, Unfinished)
        self.send_usage = usage
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}" if chat else f"cmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        stream_options = body.get("stream_options")
        asked = isinstance(stream_options, Mapping) and bool(stream_options.get("include_usage"))
        self.include_usage = asked and usage

        if isinstance(reply, (Break, Unfinished)):
            self.tokens = tokenize(reply.text_before)
            self.finish_reason: str | None = None if self.unfinished else "stop"
            self.delay = chunk_delay
            prompt_override = completion_override = None
        else:
            text, self.finish_reason = reply.text, reply.finish_reason
            cuts = [i for i in (text.find(s) for s in _stop_strings(body.get("stop"))) if i >= 0]
            if cuts:
                text, self.finish_reason = text[: min(cuts)], "stop"
            self.tokens = tokenize(text)
            max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
            if max_tokens is None:
                max_tokens = default_max_tokens
            if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and len(self.tokens) > max_tokens:
                self.tokens = self.tokens[: max(max_tokens, 0)]
                self.finish_reason = "length"
            self.delay = chunk_delay if reply.delay is None else reply.delay
            prompt_override, completion_override = reply.prompt_tokens, reply.completion_tokens

        prompt_tokens = _count_message_tokens(body.get("messages")) if chat else _count_tokens(body.get("prompt"))
        if prompt_override is not None:
            prompt_tokens = prompt_override
        completion_tokens = len(self.tokens) if completion_override is None else completion_override
        self.usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def _chunk(self, choice: dict | None) -> dict:
        obj: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [] if choice is None else [choice],
        }
        if self.include_usage:
            obj["usage"] = self.usage if choice is None else None
        return obj

    def _choice(self, piece: str | None, finish_reason: str | None) -> dict:
        """A streamed choice: ``piece`` None is the chat role delta, "" with a finish reason the end."""
        if self.chat:
            if piece is None:
                delta: dict[str, Any] = {"role": "assistant", "content": ""}
            elif finish_reason is not None:
                delta = {}
            else:
                delta = {"content": piece}
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {"index": 0, "text": piece or "", "logprobs": None, "finish_reason": finish_reason}

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "x-request-id": _request_id(),
            },
        )
        try:
            await response.prepare(request)

            async def send(obj: dict) -> None:
                await response.write(b"data: " + json.dumps(obj).encode() + b"\n\n")

            if self.chat:
                await send(self._chunk(self._choice(None, None)))
            # token i goes out `(i + 1) * delay` after the start, on the loop's clock: sleeping
            # `delay` each time would add every wake-up's lateness to all later tokens
            loop = asyncio.get_running_loop()
            due = loop.time()
            for token in self.tokens:
                if self.delay > 0:
                    due += self.delay
                    await asyncio.sleep(max(due - loop.time(), 0.0))
                await send(self._chunk(self._choice(token, None)))
            if self.broken:
                _drop_connection(request)
                return response
            if self.unfinished:
                await response.write_eof()
                return response
            await send(self._chunk(self._choice("", self.finish_reason)))
            if self.include_usage:
                await send(self._chunk(None))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionError:  # the client went away; nothing left to tell it
            pass
        return response

    async def respond(self, request: web.Request) -> web.StreamResponse:
        if self.delay > 0 and self.tokens:
            await asyncio.sleep(self.delay * len(self.tokens))
        if self.chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": self.text},
                "logprobs": None,
                "finish_reason": self.finish_reason,
            }
        else:
            choice = {"index": 0, "text": self.text, "logprobs": None, "finish_reason": self.finish_reason}
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }
        if self.send_usage:
            body["usage"] = self.usage
        data = json.dumps(body).encode()
        if not self.broken:
            return web.Response(body=data, content_type="application/json", headers={"x-request-id": _request_id()})
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        try:
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
        except ConnectionError:
            return response
        _drop_connection(request)
        return response


def _drop_connection(request: web.Request) -> None:
    """Close the connection in the middle of a response body.

    ``close()`` (not ``abort()``) so that what was written is still delivered: the
    client gets the partial body and then an end of stream where the chunked body
    should have continued.
    """
    transport = request.transport
    if transport is not None:
        transport.close()
