"""The web UI's aiohttp application: the page, the JSON API, server-sent events, trace pages.

    app = make_app(WebSettings(demo=True, db=Path("web.sqlite3")))
    web.run_app(app, host="127.0.0.1", port=8765)

The store and the run manager live in `app.cleanup_ctx`: opened before the first request,
and on shutdown every run still going is cancelled, its end stored and its kernels closed
before the database is. Every /api call and download checks the token when one is set;
any mistake in a request is a 4xx `{"error": "..."}`, and anything unexpected a 500 with
no traceback (logged here).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from llmcompiler.exceptions import LLMCompilerError, WorkspaceError
from llmcompiler.runtime.ledger import Ledger, TaskRecord, fold
from llmcompiler.trace.record import event_from_dict
from llmcompiler.web.runs import LiveRun, RunManager, new_id
from llmcompiler.web.sessions import download_path, save_upload, session_workspace
from llmcompiler.web.settings import LOCAL_HOSTS, WebSettings
from llmcompiler.web.store import Store

__all__ = ["MANAGER", "SETTINGS", "STORE", "make_app"]

log = logging.getLogger("llmcompiler.web")

STATIC = Path(__file__).parent / "static"
SETTINGS = web.AppKey("settings", WebSettings)
STORE = web.AppKey("store", Store)
MANAGER = web.AppKey("manager", RunManager)

MAX_QUESTION_CHARS = 100_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _TooLarge(web.HTTPClientError):
    status_code = 413


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    404: web.HTTPNotFound,
    403: web.HTTPForbidden,
    409: web.HTTPConflict,
    413: _TooLarge,
    415: web.HTTPUnsupportedMediaType,
    503: web.HTTPServiceUnavailable,
}


def _error(status: int, message: str) -> web.HTTPException:
    """A 4xx (or 503) whose body is `{"error": message}`."""
    return _ERRORS[status](text=json.dumps({"error": message}), content_type="application/json")


def make_app(settings: WebSettings) -> web.Application:
    app = web.Application(
        middlewares=[_errors, _same_origin, _auth], client_max_size=settings.max_upload_bytes + 1024 * 1024
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_lifetime)
    app.on_shutdown.append(_stop_runs)
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", _index)
    app.router.add_get("/static/{path:.+}", _static)
    app.router.add_get("/api/config", _config)
    app.router.add_post("/api/sessions", _new_session)
    app.router.add_get("/api/sessions", _list_sessions)
    app.router.add_get("/api/sessions/{session}", _get_session)
    app.router.add_post("/api/sessions/{session}/files", _upload)
    app.router.add_get("/api/sessions/{session}/files/{name:.+}", _download)
    app.router.add_post("/api/sessions/{session}/runs", _new_run)
    app.router.add_get("/api/runs/{run}", _get_run)
    app.router.add_get("/api/runs/{run}/events", _events)
    app.router.add_post("/api/runs/{run}/cancel", _cancel)
    app.router.add_get("/runs/{run}/trace", _trace)
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = Store(settings.db)
    stale = await store.open()
    if stale:
        log.warning("%d run(s) were running when the server stopped; marked failed", stale)
    manager = RunManager(store=store, settings=settings)
    app[STORE], app[MANAGER] = store, manager
    try:
        await manager.start()
        yield
    finally:
        await manager.close()
        await store.close()


async def _stop_runs(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for open connections: end the runs, so that every
    event stream still open gets its `end` and closes (cleanup closes the manager again: a no-op)."""
    if MANAGER in app:
        await app[MANAGER].close()


# -- middlewares ---------------------------------------------------------------------------


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return web.json_response({"error": exc.reason}, status=exc.status)
        raise
    except (LLMCompilerError, ValueError, HttpProcessingError) as exc:  # a mistake that a handler did not name
        return web.json_response({"error": _one_line(exc)}, status=400)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "internal server error (see the server's log)"}, status=500)
    if response.status >= 400 and response.content_type != "application/json":  # aiohttp's own (static files)
        return web.json_response({"error": response.reason}, status=response.status)
    return response


@web.middleware
async def _same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse what another web site could make a visitor's browser send here.

    Without a token, the Host must name this machine (a DNS-rebinding page names its own);
    a request that changes something and carries an Origin must come from this server's own
    page (a form or fetch on another site is refused before it can start a run or upload)."""
    settings = request.app[SETTINGS]
    if not settings.token and _host_name(request.host) not in LOCAL_HOSTS:
        raise _error(403, f"this server answers only for {', '.join(LOCAL_HOSTS)} (start it with --token)")
    origin = request.headers.get("Origin")
    if request.method not in ("GET", "HEAD", "OPTIONS") and origin is not None:
        if origin == "null" or urlsplit(origin).netloc.lower() != request.host.lower():
            raise _error(403, "cross-origin request refused")
    return await handler(request)


def _host_name(host: str) -> str:
    """The Host header without its port (and an IPv6 address without its brackets)."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # the token can be in the URL
    response.headers.setdefault("X-Frame-Options", "DENY")


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.app[SETTINGS].token
    if token and (request.path.startswith("/api/") or request.path.startswith("/runs/")):
        given = _given_token(request)
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            raise _error(401, "a valid token is needed (Authorization: Bearer TOKEN or ?token=TOKEN)")
    return await handler(request)


def _given_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token")


# -- helpers -------------------------------------------------------------------------------


def _store(request: web.Request) -> Store:
    return request.app[STORE]


def _manager(request: web.Request) -> RunManager:
    return request.app[MANAGER]


async def _session_or_404(request: web.Request) -> dict[str, Any]:
    found = await _store(request).session(request.match_info["session"])
    if found is None:
        raise _error(404, f"no session {request.match_info['session']!r}")
    return found


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":  # a form posted from another site is not JSON
        raise _error(415, f"the body must be JSON (Content-Type: application/json), not {request.content_type}")
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise _error(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _error(400, "the body must be a JSON object")
    return body


# -- the page ------------------------------------------------------------------------------


async def _index(request: web.Request) -> web.StreamResponse:
    page = STATIC / "index.html"
    if not page.is_file():
        return web.Response(
            text="<!DOCTYPE html><title>llmcompiler</title><p>The page is missing.", content_type="text/html"
        )
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})


async def _static(request: web.Request) -> web.StreamResponse:
    """A file of the page (checked here: aiohttp's static route finds a missing file only as it sends)."""
    root = STATIC.resolve()
    path = (root / request.match_info["path"]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise _error(404, f"no static file {request.match_info['path']!r}")
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


async def _config(request: web.Request) -> web.StreamResponse:
    from llmcompiler import __version__

    settings = request.app[SETTINGS]
    return web.json_response(
        {
            "suites": list(settings.suites),
            "models": list(settings.offered_models),
            "demo": settings.demo,
            "version": __version__,
        }
    )


# -- sessions and files --------------------------------------------------------------------


async def _new_session(request: web.Request) -> web.StreamResponse:
    session = new_id()
    created = await _store(request).create_session(session)
    return web.json_response({"id": session, "created": created}, status=201)


async def _list_sessions(request: web.Request) -> web.StreamResponse:
    return web.json_response(await _store(request).sessions())


async def _get_session(request: web.Request) -> web.StreamResponse:
    found = await _session_or_404(request)
    runs = [_run_row(row, _manager(request).live(row["id"])) for row in found["runs"]]
    files = [{"name": f["name"], "size": f["size"], "run": f["run"]} for f in found["files"]]
    return web.json_response(
        {"id": found["id"], "created": found["created"], "title": found["title"], "files": files, "runs": runs}
    )


async def _upload(request: web.Request) -> web.StreamResponse:
    found = await _session_or_404(request)
    settings = request.app[SETTINGS]
    workspace = session_workspace(settings.workspaces, found["id"])
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise _error(400, "the body must be multipart/form-data with a `file` field") from None
    saved: list[tuple[str, int]] = []
    try:
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name != "file":
                raise _error(400, "the body must be multipart/form-data with `file` fields")
            if not part.filename:
                raise _error(400, "a `file` field has no file name")
            upload = await save_upload(workspace, part.filename, _chunks(part), limit=settings.max_upload_bytes)
            if upload.too_large:
                limit = settings.max_upload_bytes / (1024 * 1024)
                raise _error(413, f"{upload.name} is larger than the upload limit of {limit:g} MB")
            saved.append((upload.name, upload.size))
    except WorkspaceError as exc:
        raise _error(400, str(exc)) from None
    except (ValueError, HttpProcessingError) as exc:  # a malformed multipart body
        raise _error(400, f"bad multipart body: {_one_line(exc)}") from None
    finally:
        if saved:
            await _store(request).record_files(found["id"], saved)
    if not saved:
        raise _error(400, "no `file` field in the upload")
    return web.json_response({"files": [{"name": name, "size": size} for name, size in saved]})


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while True:
        chunk = await part.read_chunk(64 * 1024)
        if not chunk:
            return
        yield chunk


async def _download(request: web.Request) -> web.StreamResponse:
    found = await _session_or_404(request)
    workspace = session_workspace(request.app[SETTINGS].workspaces, found["id"])
    name = request.match_info["name"]
    path = download_path(workspace, name)
    if path is None:
        raise _error(404, f"no file {name!r} in the session")
    disposition = f"attachment; filename*=UTF-8''{_quote(path.name)}"
    return web.FileResponse(path, headers={"Content-Disposition": disposition})


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# -- runs ----------------------------------------------------------------------------------


async def _new_run(request: web.Request) -> web.StreamResponse:
    found = await _session_or_404(request)
    body = await _json_body(request)
    settings = request.app[SETTINGS]
    question = body.get("question")
    if not isinstance(question, str) or not question.strip():
        raise _error(400, "`question` must be a non-empty string")
    if len(question) > MAX_QUESTION_CHARS:
        raise _error(400, f"the question is longer than {MAX_QUESTION_CHARS:,} characters; upload it as a file")
    if _manager(request).stopping:
        raise _error(503, "the server is shutting down")
    suite = body.get("suite") or settings.suites[0]
    if suite not in settings.suites:
        raise _error(400, f"unknown suite {suite!r}; the server has {', '.join(settings.suites)}")
    offered = settings.offered_models
    model = body.get("model") or (offered[0] if offered else "")
    if offered and model not in offered:
        raise _error(400, f"unknown model {model!r}; the server has {', '.join(offered)}")
    question = question.strip()
    prompt = _with_history(question, found["runs"], settings)
    run = await _manager(request).submit(
        session=found["id"], question=question, suite=suite, model=str(model), prompt=prompt
    )
    if not found["title"]:
        await _store(request).set_title(found["id"], question.splitlines()[0][:80])
    return web.json_response({"id": run}, status=202)


def _with_history(question: str, runs: list[dict[str, Any]], settings: WebSettings) -> str:
    """The question, then the session's earlier answered questions (the latest, capped) as context."""
    pairs = [f"Q: {r['question']}\nA: {r['answer']}" for r in runs if r["status"] == "answered"]
    kept: list[str] = []
    total = 0
    for pair in reversed(pairs[-settings.history_runs :]):
        if total + len(pair) > settings.history_chars:
            break
        kept.insert(0, pair)
        total += len(pair)
    if not kept:
        return question
    return f"{question}\n\nEarlier in this conversation:\n" + "\n".join(kept)


async def _run_or_404(request: web.Request) -> tuple[dict[str, Any], LiveRun | None]:
    run = request.match_info["run"]
    live = _manager(request).live(run)
    row = await _store(request).run(run)
    if row is None:
        raise _error(404, f"no run {run!r}")
    return row, live


async def _ledger(request: web.Request, run: str, live: LiveRun | None) -> Ledger:
    if live is not None:
        return live.ledger
    return fold(event_from_dict(_without_seq(e)) for e in await _store(request).events(run))


def _without_seq(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "seq"}


def _run_row(row: dict[str, Any], live: LiveRun | None) -> dict[str, Any]:
    """A run's summary (the session listing): what the runs table says, live status first."""
    status = live.status if live is not None and not live.finished else row["status"]
    answer = live.ledger.answer if live is not None and live.closed else row["answer"]
    return {
        "id": row["id"],
        "question": row["question"],
        "suite": row["suite"],
        "model": row["model"],
        "status": status,
        "answer": answer,
        "error": row["error"],
        "created": row["created"],
        "finished": row["finished"],
    }


async def _get_run(request: web.Request) -> web.StreamResponse:
    row, live = await _run_or_404(request)
    ledger = await _ledger(request, row["id"], live)
    files = live.files if live is not None and live.finished else await _store(request).run_files(row["id"])
    summary = _run_row(row, live)
    if live is not None and live.closed:
        summary["error"] = ledger.error
    usage = {
        role: {"input": u.input_tokens, "output": u.output_tokens, "calls": u.calls, "estimated": u.estimated}
        for role, u in ledger.usage.items()
    }
    body = {
        **summary,
        "session": row["session"],
        "tasks": [_task(record, ledger) for record in ledger.ordered()],
        "usage": usage,
        "cost": _cost(ledger),
        "files": files,
    }
    return web.json_response(body)


def _task(record: TaskRecord, ledger: Ledger) -> dict[str, Any]:
    origin = ledger.started or 0.0

    def at(t: float | None) -> float | None:
        return None if t is None else round(t - origin, 4)

    return {
        "idx": record.idx,
        "tool": record.tool,
        "args": json.loads(json.dumps(list(record.task.args), default=repr)),
        "status": record.status.value,
        "observation": record.observation,
        "deps": list(record.deps),
        "started": at(record.started_at),
        "finished": at(record.finished_at),
    }


def _cost(ledger: Ledger) -> float | None:
    from llmcompiler.llm.pricing import cost

    total = 0.0
    for call in ledger.model_calls:
        dollars = cost(call.usage, call.model)
        if dollars is None:
            return None
        total += dollars
    return total


async def _cancel(request: web.Request) -> web.StreamResponse:
    row, _ = await _run_or_404(request)
    status = await _manager(request).cancel(row["id"])
    return web.json_response({"status": status or row["status"]})


async def _events(request: web.Request) -> web.StreamResponse:
    row, live = await _run_or_404(request)
    after = _last_event_id(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    try:
        if live is not None:
            async for seq, text in live.follow(after=after):
                await response.write(_sse(text, seq=seq))
            files, status = live.files, live.status
        else:
            for data in await _store(request).events(row["id"], after=after):
                await response.write(_sse(json.dumps(data, ensure_ascii=False), seq=data["seq"]))
            files, status = await _store(request).run_files(row["id"]), row["status"]
        await response.write(_sse(json.dumps({"files": files}), event="files"))
        await response.write(_sse(json.dumps({"status": status}), event="end"))
        await response.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass  # the tab was closed; the run goes on without this subscriber
    return response


def _last_event_id(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        raise _error(400, f"Last-Event-ID must be an event number, not {raw!r}") from None


def _sse(data: str, *, seq: int | None = None, event: str | None = None) -> bytes:
    lines = []
    if event:
        lines.append(f"event: {event}")
    if seq is not None:
        lines.append(f"id: {seq}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


# -- trace ---------------------------------------------------------------------------------


async def _trace(request: web.Request) -> web.StreamResponse:
    from llmcompiler.trace import Timeline
    from llmcompiler.trace.html import timeline_html
    from llmcompiler.trace.summary import mermaid_from_events, summarize_events

    row, live = await _run_or_404(request)
    stored = (
        [json.loads(text) for _, text in live.events] if live is not None else await _store(request).events(row["id"])
    )
    events = [event_from_dict(_without_seq(e)) for e in stored]
    if not events:
        raise _error(404, f"the run {row['id']!r} has no events yet")
    page = timeline_html(
        Timeline.from_events(events),
        title=row["question"].splitlines()[0][:120],
        mermaid=mermaid_from_events(events),
        summary=summarize_events(events),
    )
    return web.Response(text=page, content_type="text/html")
