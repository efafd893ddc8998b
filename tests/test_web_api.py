"""The web UI's JSON API, through aiohttp's test client: a real app, a real SQLite file in
tmp_path, the demo's scripted models, and the subprocess code backend where code runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from llmcompiler.code.executor import InterpreterConfig
from llmcompiler.demo import QUESTION
from llmcompiler.testing.openai_server import OpenAIServer
from llmcompiler.web import WebSettings, make_app
from llmcompiler.web.store import STOPPED_DURING_RUN

CSV = "date,dau\n2024-03-04,1200\n2024-03-05,1350\n2024-03-06,1420\n2024-03-07,1290\n"


def _settings(tmp_path: Path, **overrides: Any) -> WebSettings:
    options: dict[str, Any] = {
        "db": tmp_path / "web.sqlite3",
        "demo": True,
        "speed": 25.0,
        "interpreter": InterpreterConfig(backend="subprocess", timeout=30),
    }
    options.update(overrides)
    return WebSettings(**options)


@contextlib.asynccontextmanager
async def served(tmp_path: Path, **overrides: Any) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(_settings(tmp_path, **overrides)))) as client:
        yield client


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Each message: {"event", "id", "data"} (data parsed as JSON)."""
    messages = []
    for block in text.strip().split("\n\n"):
        message: dict[str, Any] = {"event": "message", "id": None}
        data = []
        for line in block.splitlines():
            field, _, value = line.partition(": ")
            if field == "data":
                data.append(value)
            elif field in ("event", "id"):
                message[field] = value
        message["data"] = json.loads("\n".join(data))
        messages.append(message)
    return messages


async def stream(client: TestClient, run: str, **headers: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/runs/{run}/events", headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return parse_sse(await response.text())


async def new_session(client: TestClient) -> str:
    response = await client.post("/api/sessions")
    assert response.status == 201
    return str((await response.json())["id"])


async def ask(client: TestClient, session: str, question: str, **extra: str) -> str:
    response = await client.post(f"/api/sessions/{session}/runs", json={"question": question, **extra})
    assert response.status == 202, await response.text()
    return str((await response.json())["id"])


async def upload(client: TestClient, session: str, name: str, data: bytes) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await client.post(f"/api/sessions/{session}/files", data=form)


def events_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["data"] for m in messages if m["event"] == "message"]


# -- the endpoints -----------------------------------------------------------------------------


async def test_page_config_and_static(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        page = await client.get("/")
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]
        config = await (await client.get("/api/config")).json()
        assert config["demo"] is True and config["suites"] == ["general", "code"]
        assert config["models"] and isinstance(config["version"], str)
        missing = await client.get("/static/no-such-file.js")
        assert missing.status == 404 and "error" in await missing.json()


async def test_the_demo_question_end_to_end(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        run = await ask(client, session, QUESTION)
        messages = await stream(client, run)
        events = events_of(messages)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [m["id"] for m in messages if m["event"] == "message"] == [str(e["seq"]) for e in events]
        assert events[0]["type"] == "RunStarted" and events[-1]["type"] == "RunFinished"
        assert [m["event"] for m in messages[-2:]] == ["files", "end"]
        assert messages[-1]["data"] == {"status": "answered"}
        body = await (await client.get(f"/api/runs/{run}")).json()
        assert body["status"] == "answered" and body["answer"] == "1050 km" and body["session"] == session
        assert [t["tool"] for t in body["tasks"]] == ["search"] * 4 + ["math"]
        assert all(t["status"] == "done" for t in body["tasks"])
        assert body["tasks"][4]["deps"] == [1, 2, 3, 4]
        assert body["usage"]["planner"]["calls"] == 1 and "cost" in body
        listing = await (await client.get("/api/sessions")).json()
        assert listing[0]["id"] == session and listing[0]["title"].startswith("What is the combined length")
        detail = await (await client.get(f"/api/sessions/{session}")).json()
        assert detail["runs"][0]["status"] == "answered" and detail["files"] == []
        trace = await client.get(f"/runs/{run}/trace")
        assert trace.status == 200 and "<svg" in await trace.text()


async def test_upload_ask_for_the_average_and_download_the_result(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        uploaded = await upload(client, session, "dau.csv", CSV.encode())
        assert uploaded.status == 200
        assert await uploaded.json() == {"files": [{"name": "dau.csv", "size": len(CSV)}]}
        run = await ask(client, session, "What is the average of the CSV?", suite="code")
        messages = await stream(client, run)
        started = events_of(messages)[0]
        assert "Files in the workspace" in started["question"] and "dau.csv" in started["question"]
        files = [m for m in messages if m["event"] == "files"][0]["data"]["files"]
        assert files == [{"name": "average.txt", "size": files[0]["size"]}]
        body = await (await client.get(f"/api/runs/{run}")).json()
        assert body["status"] == "answered" and "Average dau: 1315.0" in body["answer"]
        assert body["files"] == files
        download = await client.get(f"/api/sessions/{session}/files/average.txt")
        assert download.status == 200
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert (await download.text()).strip() == "Average dau: 1315.0"
        detail = await (await client.get(f"/api/sessions/{session}")).json()
        assert {f["name"] for f in detail["files"]} == {"dau.csv", "average.txt"}


async def test_the_demo_explains_itself_for_an_unknown_question(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        run = await ask(client, await new_session(client), "What is the capital of France?")
        assert (await stream(client, run))[-1]["data"] == {"status": "answered"}
        answer = (await (await client.get(f"/api/runs/{run}")).json())["answer"]
        assert "sha256" in answer and "rivers" in answer


# -- server-sent events ------------------------------------------------------------------------


async def test_a_late_subscriber_gets_the_whole_run_and_last_event_id_resumes(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        run = await ask(client, await new_session(client), QUESTION)
        live = events_of(await stream(client, run))
        late = events_of(await stream(client, run))
        assert late == live
        resumed = await stream(client, run, **{"Last-Event-ID": "5"})
        assert [e["seq"] for e in events_of(resumed)] == list(range(6, len(live) + 1))
        assert resumed[-1]["event"] == "end"
        bad = await client.get(f"/api/runs/{run}/events", headers={"Last-Event-ID": "five"})
        assert bad.status == 400 and "error" in await bad.json()


async def test_two_subscribers_and_one_that_disconnects_mid_run(tmp_path: Path) -> None:
    async with served(tmp_path, speed=4.0) as client:
        run = await ask(client, await new_session(client), QUESTION)
        quitter = await client.get(f"/api/runs/{run}/events")
        assert (await quitter.content.readline()).startswith(b"id: 1")
        quitter.close()  # the tab is closed while the plan streams
        first, second = await asyncio.gather(stream(client, run), stream(client, run))
        assert events_of(first) == events_of(second)
        assert first[-1]["data"] == {"status": "answered"}
        assert (await (await client.get(f"/api/runs/{run}")).json())["answer"] == "1050 km"


# -- cancel --------------------------------------------------------------------------------


async def test_cancel_a_run_while_its_tools_are_running(tmp_path: Path) -> None:
    async with served(tmp_path, speed=1.0) as client:
        run = await ask(client, await new_session(client), QUESTION)
        response = await client.get(f"/api/runs/{run}/events")
        seen = b""
        while b'"TaskStarted"' not in seen:
            seen += await response.content.readline()
        cancelled = await client.post(f"/api/runs/{run}/cancel")
        assert await cancelled.json() == {"status": "cancelling"}
        rest = parse_sse((seen + await response.content.read()).decode())
        assert rest[-1]["data"] == {"status": "cancelled"}
        finished = [e for e in events_of(rest) if e["type"] == "RunFinished"]
        assert finished and finished[0]["status"] == "cancelled"
        body = await (await client.get(f"/api/runs/{run}")).json()
        assert body["status"] == "cancelled"
        stopped = [t for t in body["tasks"] if t["status"] in ("failed", "skipped")]
        assert stopped and all("cancelled" in t["observation"] for t in stopped)
        assert not any(t["status"] in ("running", "waiting") for t in body["tasks"])
        again = await client.post(f"/api/runs/{run}/cancel")
        assert await again.json() == {"status": "cancelled"}


# -- persistence -----------------------------------------------------------------------------


async def test_a_restarted_server_shows_past_sessions_events_and_traces(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        run = await ask(client, session, QUESTION)
        before = events_of(await stream(client, run))
    async with served(tmp_path) as client:
        listing = await (await client.get("/api/sessions")).json()
        assert [s["id"] for s in listing] == [session]
        detail = await (await client.get(f"/api/sessions/{session}")).json()
        assert [r["id"] for r in detail["runs"]] == [run]
        after = await stream(client, run)
        assert events_of(after) == before and after[-1]["data"] == {"status": "answered"}
        body = await (await client.get(f"/api/runs/{run}")).json()
        assert body["answer"] == "1050 km" and len(body["tasks"]) == 5
        trace = await client.get(f"/runs/{run}/trace")
        assert trace.status == 200 and "Aldermoor" in await trace.text()


async def test_shutdown_cancels_running_runs_and_a_crash_leaves_them_failed(tmp_path: Path) -> None:
    async with served(tmp_path, speed=1.0) as client:
        session = await new_session(client)
        run = await ask(client, session, QUESTION)
        response = await client.get(f"/api/runs/{run}/events")
        assert (await response.content.readline()).startswith(b"id: 1")
    # a server killed mid-run leaves a row saying "running"
    with sqlite3.connect(tmp_path / "web.sqlite3") as db:
        db.execute(
            "INSERT INTO runs (id, session, question, suite, model, status, created) "
            "VALUES ('crashed', ?, 'q', 'general', 'm', 'running', 0)",
            (session,),
        )
    async with served(tmp_path) as client:
        stopped = await (await client.get(f"/api/runs/{run}")).json()
        assert stopped["status"] == "cancelled"
        assert (await stream(client, run))[-1]["data"] == {"status": "cancelled"}
        crashed = await (await client.get("/api/runs/crashed")).json()
        assert crashed["status"] == "failed" and crashed["error"] == STOPPED_DURING_RUN


# -- context ---------------------------------------------------------------------------------


async def test_earlier_questions_and_uploads_reach_the_planner_prompt(tmp_path: Path) -> None:
    plan = "Thought: nothing to look up.\n1. join()<END_OF_PLAN>"
    async with OpenAIServer(api_key="sk-secret-key") as server:
        server.script("model-a", plan, "Thought: known.\nAction: Finish(Paris)", plan, "Action: Finish(still Paris)")
        options = {"base_url": server.base_url, "api_key": "sk-secret-key"}
        async with served(tmp_path, demo=False, models=("model-a", "model-b"), model_options=options) as client:
            config = await client.get("/api/config")
            assert "sk-secret-key" not in await config.text()
            assert (await config.json())["models"] == ["model-a", "model-b"]
            session = await new_session(client)
            first = await ask(client, session, "What is the capital of France?", model="model-a")
            assert (await stream(client, first))[-1]["data"] == {"status": "answered"}
            assert (await upload(client, session, "notes.txt", b"the notes\n")).status == 200
            second = await ask(client, session, "And its population?", model="model-a")
            assert (await stream(client, second))[-1]["data"] == {"status": "answered"}
    assert len(server.requests) == 4  # planner, joiner; planner, joiner
    last = server.requests[2].json["messages"][-1]["content"]
    assert "And its population?" in last
    assert "Earlier in this conversation:\nQ: What is the capital of France?\nA: Paris" in last
    assert "notes.txt" in last and "the notes" in last


async def test_every_session_shares_the_servers_rate_limit(tmp_path: Path) -> None:
    """`serve --rpm`: one limiter for the whole server, so runs of different sessions at once
    stay under it together (arrivals counted by the loopback server)."""
    from llmcompiler.llm.ratelimit import RateLimiter

    plan = "Thought: nothing to look up.\n1. join()<END_OF_PLAN>"
    arrivals: list[float] = []

    def respond(body: dict) -> str:  # runs at once interleave: the reply goes by the prompt
        arrivals.append(time.monotonic())
        planner = body["messages"][0]["content"].startswith("You plan how to answer")
        return plan if planner else "Action: Finish(Paris)"

    window = 1.0
    async with OpenAIServer() as server:
        server.script("model-a", *[respond] * 6)
        options = {"base_url": server.base_url, "api_key": "test-key"}
        limiter = RateLimiter(rpm=2, window=window, margin=0.5)  # room for the arrivals' jitter
        async with served(tmp_path, demo=False, models=("model-a",), model_options=options, limiter=limiter) as client:
            sessions = [await new_session(client) for _ in range(3)]
            runs = [await ask(client, s, f"Question {n}?", model="model-a") for n, s in enumerate(sessions)]
            for run in runs:
                assert (await stream(client, run))[-1]["data"] == {"status": "answered"}
    assert len(arrivals) == 6
    for first, later in zip(arrivals, arrivals[2:], strict=False):  # any 3 consecutive arrivals span a window
        assert later - first >= window


def test_serve_takes_the_rate_flags(tmp_path: Path) -> None:
    from llmcompiler.cli import _serve_parser
    from llmcompiler.web.serve import serve_settings

    argv = ["--demo", "--db", str(tmp_path / "db"), "--rpm", "30", "--tpm", "9000", "--rate_window", "10"]
    options = _serve_parser().parse_args(argv)
    assert (options.rpm, options.tpm, options.rate_window) == (30, 9000, 10.0)
    assert serve_settings(options, InterpreterConfig(backend="subprocess"))[0].limiter is None  # --demo: no HTTP


# -- bad input -------------------------------------------------------------------------------


async def test_bad_requests_are_4xx_json_never_500(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        runs = f"/api/sessions/{session}/runs"
        cases = [
            (client.post(runs, data=b"{not json", headers={"Content-Type": "application/json"}), 400),
            (client.post(runs, json=["a list"]), 400),
            (client.post(runs, json={}), 400),
            (client.post(runs, json={"question": "   "}), 400),
            (client.post(runs, json={"question": 7}), 400),
            (client.post(runs, json={"question": "q", "suite": "nope"}), 400),
            (client.post(runs, json={"question": "q", "model": "nope"}), 400),
            (client.post("/api/sessions/nosuch/runs", json={"question": "q"}), 404),
            (client.get("/api/sessions/nosuch"), 404),
            (client.get("/api/sessions/nosuch/files/a.txt"), 404),
            (client.get("/api/runs/nosuch"), 404),
            (client.get("/api/runs/nosuch/events"), 404),
            (client.post("/api/runs/nosuch/cancel"), 404),
            (client.get("/runs/nosuch/trace"), 404),
            (client.get("/api/no/such/route"), 404),
            (client.put("/api/sessions"), 405),
            (client.post(f"/api/sessions/{session}/files", json={"file": "x"}), 400),
            (client.post(f"/api/sessions/{session}/files", data=b"garbage", headers=_multipart_header()), 400),
        ]
        for request, status in cases:
            response = await request
            assert response.status == status, (response.url, await response.text())
            assert response.headers["Content-Type"].startswith("application/json")
            assert set(await response.json()) == {"error"}


def _multipart_header() -> dict[str, str]:
    return {"Content-Type": "multipart/form-data; boundary=xyz"}


async def test_upload_names_are_sanitised_inside_the_workspace(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        workspace = tmp_path / "web-workspaces" / session
        for given, saved in [("../x.txt", "x.txt"), ("/etc/passwd", "passwd"), ("..\\..\\evil.bat", "evil.bat")]:
            response = await upload(client, session, given, b"data")
            assert await response.json() == {"files": [{"name": saved, "size": 4}]}
            assert (workspace / saved).read_bytes() == b"data"
        hidden = await upload(client, session, ".bashrc", b"data")
        assert (await hidden.json())["files"][0]["name"] == "bashrc"
        raw = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a\x07b.txt"\r\n\r\nx\r\n--xyz--\r\n'
        control = await client.post(f"/api/sessions/{session}/files", data=raw, headers=_multipart_header())
        assert control.status == 400 and "error" in await control.json()  # aiohttp refuses the header itself
        for bad in ("..", "/", "...", "../"):
            response = await upload(client, session, bad, b"data")
            assert response.status == 400 and "error" in await response.json()
        assert not (tmp_path / "x.txt").exists() and not (tmp_path / "web-workspaces" / "x.txt").exists()


def test_clean_name() -> None:
    from llmcompiler.exceptions import WorkspaceError
    from llmcompiler.web.sessions import clean_name

    assert clean_name("a\x07b\x00.txt") == "ab.txt"
    assert clean_name("C:\\Users\\me\\report.pdf") == "report.pdf"
    assert clean_name(" ..hidden ") == "hidden"
    assert len(clean_name("n" * 500 + ".csv")) == 200 and clean_name("n" * 500 + ".csv").endswith(".csv")
    for bad in ("", ".", "..", "a/", "\x01"):
        with pytest.raises(WorkspaceError):
            clean_name(bad)


async def test_a_huge_upload_is_413_and_leaves_nothing_behind(tmp_path: Path) -> None:
    async with served(tmp_path, max_upload_bytes=10_000) as client:
        session = await new_session(client)
        response = await upload(client, session, "big.bin", b"x" * 200_000)
        assert response.status == 413 and "limit" in (await response.json())["error"]
        workspace = tmp_path / "web-workspaces" / session
        assert list(workspace.iterdir()) == []
        assert (await upload(client, session, "small.bin", b"x" * 10_000)).status == 200
        detail = await (await client.get(f"/api/sessions/{session}")).json()
        assert [f["name"] for f in detail["files"]] == ["small.bin"]


async def test_downloads_stay_inside_the_session_workspace(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session, other = await new_session(client), await new_session(client)
        await upload(client, other, "theirs.txt", b"private")
        (tmp_path / "outside.txt").write_text("secret")
        base = f"/api/sessions/{session}/files/"
        for name in (
            "..%2F..%2Foutside.txt",
            "%2E%2E/%2E%2E/outside.txt",
            f"..%2F{other}%2Ftheirs.txt",
            "%2Fetc%2Fpasswd",
            "missing.txt",
            ".upload-x",
        ):
            response = await client.get(base + name)
            assert response.status == 404, name
            assert "error" in await response.json()


# -- the token -------------------------------------------------------------------------------


async def test_the_token_guards_every_api_call_and_download(tmp_path: Path) -> None:
    async with served(tmp_path, token="s3cret-token") as client:
        assert (await client.get("/")).status == 200  # the page itself: it reads the token from its URL
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
            response = await client.get("/api/config", headers=headers)
            assert response.status == 401 and "token" in (await response.json())["error"]
        assert (await client.get("/api/config?token=wrong")).status == 401
        good = {"Authorization": "Bearer s3cret-token"}
        assert (await client.get("/api/config", headers=good)).status == 200
        assert (await client.get("/api/config?token=s3cret-token")).status == 200
        session = (await (await client.post("/api/sessions", headers=good)).json())["id"]
        form = aiohttp.FormData()
        form.add_field("file", b"data", filename="a.txt")
        assert (await client.post(f"/api/sessions/{session}/files", data=form)).status == 401
        form = aiohttp.FormData()
        form.add_field("file", b"data", filename="a.txt")
        assert (await client.post(f"/api/sessions/{session}/files", data=form, headers=good)).status == 200
        assert (await client.get(f"/api/sessions/{session}/files/a.txt")).status == 401
        assert (await client.get(f"/api/sessions/{session}/files/a.txt?token=s3cret-token")).status == 200
        assert (await client.post(f"/api/sessions/{session}/runs", json={"question": "q"})).status == 401
        assert (await client.get("/runs/x/trace")).status == 401


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5"])
def test_any_other_host_gets_a_generated_token(host: str, tmp_path: Path) -> None:
    from llmcompiler.cli import _serve_parser
    from llmcompiler.web.serve import serve_settings

    options = _serve_parser().parse_args(["--demo", "--host", host, "--db", str(tmp_path / "db")])
    settings, url = serve_settings(options, InterpreterConfig(backend="subprocess"))
    assert settings.token and len(settings.token) >= 24
    assert url == f"http://{host}:8765/?token={settings.token}"
    local = _serve_parser().parse_args(["--demo", "--db", str(tmp_path / "db")])
    assert serve_settings(local, InterpreterConfig())[0].token is None


# -- no process outlives a run -----------------------------------------------------------------


def _children(*, besides: frozenset[int] = frozenset()) -> list[int]:
    """Live (not zombie) child processes of this test process, but those in `besides` (the
    ones that were there before the test: a session-wide Ray cluster's, say)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and int(stat.parent.name) not in besides:
            found.append(int(stat.parent.name))
    return found


SLEEPING_PLAN = "1. python(\"import time\\nprint('started', flush=True)\\ntime.sleep(60)\")\n2. join()<END_OF_PLAN>"


async def _a_child_starts(besides: frozenset[int]) -> bool:
    """Whether a new child process appears within 10 s (the cell's process starts after TaskStarted)."""
    for _ in range(500):
        if _children(besides=besides):
            return True
        await asyncio.sleep(0.02)
    return False


async def _wait_for(response: aiohttp.ClientResponse, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        line = await response.content.readline()
        assert line, f"the stream ended before {marker!r}"
        seen += line
    return seen


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
async def test_cancel_and_shutdown_stop_the_code_that_is_running(tmp_path: Path) -> None:
    before = frozenset(_children())
    async with OpenAIServer() as server:
        server.script("m", SLEEPING_PLAN, SLEEPING_PLAN)
        options = {"base_url": server.base_url, "api_key": "sk-test"}
        async with served(tmp_path, demo=False, models=("m",), model_options=options, suites=("code",)) as client:
            session = await new_session(client)
            run = await ask(client, session, "sleep for a minute", suite="code")
            response = await client.get(f"/api/runs/{run}/events")
            seen = await _wait_for(response, b'"TaskStarted"')
            assert await _a_child_starts(before), "the cell's process should be running"
            assert await (await client.post(f"/api/runs/{run}/cancel")).json() == {"status": "cancelling"}
            rest = parse_sse((seen + await response.content.read()).decode())
            assert rest[-1]["data"] == {"status": "cancelled"}
            task = (await (await client.get(f"/api/runs/{run}")).json())["tasks"][0]
            assert task["status"] == "failed" and "cancelled" in task["observation"]
            assert _children(besides=before) == []
            second = await ask(client, session, "sleep again", suite="code")
            response = await client.get(f"/api/runs/{second}/events")
            await _wait_for(response, b'"TaskStarted"')
            assert await _a_child_starts(before)
        assert _children(besides=before) == []  # the server's shutdown cancelled the run and closed its executor
    async with served(tmp_path, demo=False, models=("m",), model_options=options, suites=("code",)) as client:
        assert (await (await client.get(f"/api/runs/{second}")).json())["status"] == "cancelled"


# -- the command -------------------------------------------------------------------------------


def test_serve_prints_one_line_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "llmcompiler.cli", "serve", "--demo", "--port", str(port)]
    command += ["--db", str(tmp_path / "web.sqlite3")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            assert server.stdout.readline() == f"serving on http://127.0.0.1:{port}/\n"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/config", timeout=10) as response:
                assert json.load(response)["demo"] is True
            server.send_signal(signal.SIGINT)
            out, err = server.communicate(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
    assert server.returncode == 0 and out == ""
    assert len(err.strip().splitlines()) == 1


def test_serve_without_a_key_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from llmcompiler.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["serve", "--model_name", "gpt-4o", "--db", str(tmp_path / "db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "OPENAI_API_KEY" in err and len(err.strip().splitlines()) == 1


def test_the_history_given_as_context_is_capped() -> None:
    from llmcompiler.web.app import _with_history

    settings = WebSettings(history_runs=2, history_chars=60)
    runs = [{"question": f"q{i}", "answer": f"a{i}", "status": "answered"} for i in range(5)]
    runs.append({"question": "failed one", "answer": "", "status": "failed"})
    assert _with_history("now?", runs, settings) == "now?\n\nEarlier in this conversation:\nQ: q3\nA: a3\nQ: q4\nA: a4"
    long = [{"question": "x" * 100, "answer": "y", "status": "answered"}]
    assert _with_history("now?", long, settings) == "now?"


async def test_a_too_long_question_and_the_demo_without_a_csv(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        response = await client.post(f"/api/sessions/{session}/runs", json={"question": "x" * 100_001})
        assert response.status == 400 and "longer" in (await response.json())["error"]
        run = await ask(client, session, "What is the average of the CSV?")
        assert (await stream(client, run))[-1]["data"] == {"status": "answered"}
        answer = (await (await client.get(f"/api/runs/{run}")).json())["answer"]
        assert "no CSV was uploaded" in answer


async def test_a_run_cancelled_before_it_starts_ends_cancelled(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        for _ in range(3):  # the cancel lands during the set-up, or before the agent's first step
            run = await ask(client, session, QUESTION)
            assert (await (await client.post(f"/api/runs/{run}/cancel")).json())["status"] in (
                "cancelling",
                "cancelled",
            )
            messages = await stream(client, run)
            assert messages[-1]["data"] == {"status": "cancelled"}
            kinds = [e["type"] for e in events_of(messages)]
            assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished" and kinds.count("RunFinished") == 1


async def test_last_event_id_past_the_events_so_far_waits_for_later_ones(tmp_path: Path) -> None:
    async with served(tmp_path, speed=4.0) as client:
        run = await ask(client, await new_session(client), QUESTION)
        messages = await stream(client, run, **{"Last-Event-ID": "100"})
        seqs = [e["seq"] for e in events_of(messages)]
        assert seqs and seqs[0] == 101 and messages[-1]["event"] == "end"


async def test_requests_another_web_site_could_send_are_refused(tmp_path: Path) -> None:
    async with served(tmp_path) as client:
        session = await new_session(client)
        runs = f"/api/sessions/{session}/runs"
        own = f"http://{client.server.host}:{client.server.port}"
        assert (await client.post(runs, json={"question": "q"}, headers={"Origin": own})).status == 202
        for origin in ("http://evil.example", "null", f"http://{client.server.host}:1"):
            response = await client.post(runs, json={"question": "q"}, headers={"Origin": origin})
            assert response.status == 403 and "cross-origin" in (await response.json())["error"]
        assert (await client.post("/api/sessions", headers={"Origin": "http://evil.example"})).status == 403
        plain = await client.post(runs, data=b'{"question": "q"}', headers={"Content-Type": "text/plain"})
        assert plain.status == 415 and "error" in await plain.json()
        rebound = await client.get("/api/sessions", headers={"Host": "evil.example:8765"})
        assert rebound.status == 403
        assert (await client.get("/api/sessions", headers={"Host": "localhost:8765"})).status == 200
        assert (await client.get("/api/sessions", headers={"Host": "[::1]:8765"})).status == 200
        page = await client.get("/")
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
    async with served(tmp_path, token="t0ken") as client:  # with a token any Host may be used
        response = await client.get("/api/sessions?token=t0ken", headers={"Host": "my-server.lan:8765"})
        assert response.status == 200
