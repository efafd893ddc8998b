"""The web page end to end: `llmcompiler serve --demo` in a subprocess, driven in headless Chromium.

Playwright drives Debian's /usr/bin/chromium (a browser download does not work here). Without
it the module is skipped, unless CI is set: there a missing browser is a failure. The server
runs with a token, so every call the page makes proves it sends one.

`LLMCOMPILER_WEB_SCREENSHOT=docs/web-ui.png pytest tests/test_web_browser.py -k screenshot`
redraws the README's screenshot (a slower server, caught mid-run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmcompiler.demo import QUESTION
from llmcompiler.demo_code import DAU_CSV, SHA256_HELLO_WORLD

CHROMIUM = os.environ.get("LLMCOMPILER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "browser-test-token"
SCREENSHOT = os.environ.get("LLMCOMPILER_WEB_SCREENSHOT")
AVERAGE = "Average dau: 1360.0"  # the mean of DAU_CSV's dau column, as the demo's code prints it
TIMEOUT_MS = 20_000  # generous: the runs themselves take a few seconds

if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but there is no Chromium at {CHROMIUM} (apt-get install chromium)", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`llmcompiler serve --demo` on a free port, started and stopped by the test."""

    def __init__(self, root: Path, *, speed: float) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/"
        self.url = f"{self.base}?token={TOKEN}"
        command = [
            sys.executable,
            "-m",
            "llmcompiler.cli",
            "serve",
            "--demo",
            "--port",
            str(self.port),
            "--token",
            TOKEN,
            "--db",
            str(root / "web.sqlite3"),
            "--workspace_root",
            str(root / "workspaces"),
            "--code_backend",
            "subprocess",
            "--speed",
            str(speed),
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.output: list[str] = []
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        # the server prints "serving on URL" once it listens; a watchdog ends a server that never does
        watchdog = threading.Timer(30, self.process.kill)
        watchdog.start()
        try:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                if line.startswith("serving on"):
                    break
            else:
                self.process.kill()
                self.process.wait()
                raise AssertionError("the server stopped before serving:\n" + "".join(self.output))
        finally:
            watchdog.cancel()
        # keep draining its output so it never blocks on a full pipe
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drain.join(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("web"), speed=2.0)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"the page raised: {errors}"


def _ask(page: Any, question: str) -> None:
    page.wait_for_selector("body[data-ready]")
    page.fill("#question", question)
    page.click("#ask")


def _session_of(page: Any) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(page.url).query)["session"][0]


def test_the_demo_question_runs_live_and_answers(page: Any, server: Server) -> None:
    page.goto(server.url)
    page.wait_for_selector("body[data-ready]")
    assert page.locator("#model option").all_inner_texts() == ["simulated"]
    _ask(page, QUESTION)
    # seen while the run goes, before the answer: a running task, a streaming plan
    page.wait_for_selector('#tasks .task[data-status="running"]')
    assert page.locator("#cancel").is_enabled()
    assert not page.locator("#ask").is_enabled()
    answer = page.wait_for_selector(".answer")
    assert answer.text_content() == "1050 km"
    statuses = page.locator("#tasks .task").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses == ["done"] * 5
    assert "search(" in page.text_content("#plan")
    assert page.locator("#dag g.node").count() == 6  # five tool calls and the join
    assert page.locator('#dag g.node[data-status="done"]').count() == 5
    assert page.locator("#dag path.edge").count() >= 5
    assert page.locator("#timeline g.row").count() == 7  # planner, five tasks, joiner
    page.wait_for_selector("#usage table")
    usage = page.text_content("#usage")
    assert "planner" in usage and "joiner" in usage and "cost" in usage
    assert page.text_content("#run-state") == "answered"
    assert page.locator("#ask").is_enabled() and not page.locator("#cancel").is_enabled()
    # the trace page of the run, through the page's own link
    href = page.get_attribute("#run-trace", "href")
    assert href and "token=" in href
    trace = page.request.get(page.locator("#run-trace").evaluate("a => a.href"))
    assert trace.status == 200 and "<svg" in trace.text()


def test_upload_a_csv_ask_its_average_and_download_the_result(page: Any, server: Server) -> None:
    page.goto(server.url)
    page.set_input_files("#upload", files=[{"name": "dau.csv", "mimeType": "text/csv", "buffer": DAU_CSV.encode()}])
    page.wait_for_selector('#files a.download:text-is("dau.csv")')
    _ask(page, "What is the average of each column of the CSV?")
    answer = page.wait_for_selector(".answer")
    assert AVERAGE in (answer.text_content() or "")
    link = page.wait_for_selector('#files a.download:text-is("average.txt")')
    assert "token=" in (link.get_attribute("href") or "")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "average.txt"
    assert Path(download.path()).read_text() == AVERAGE + "\n"
    # the uploaded file downloads as it was
    with page.expect_download() as info:
        page.click('#files a.download:text-is("dau.csv")')
    assert Path(info.value.path()).read_text() == DAU_CSV


def test_a_file_dropped_on_the_drop_zone_is_uploaded(page: Any, server: Server) -> None:
    page.goto(server.url)
    page.wait_for_selector("body[data-ready]")
    transfer = page.evaluate_handle(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(["x,y\\n1,2\\n"], "dropped.csv", { type: "text/csv" }));
          return transfer;
        }"""
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector('#files a.download:text-is("dropped.csv")')
    session = _session_of(page)
    listed = page.request.get(f"{server.base}api/sessions/{session}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert [f["name"] for f in listed.json()["files"]] == ["dropped.csv"]


def test_cancel_a_running_run(page: Any, server: Server) -> None:
    page.goto(server.url)
    _ask(page, QUESTION)
    page.wait_for_selector('#tasks .task[data-status="running"]')
    page.click("#cancel")
    answer = page.wait_for_selector('.answer[data-status="cancelled"]')
    assert answer.text_content()
    assert page.text_content("#run-state") == "cancelled"
    assert page.locator('#tasks .task[data-status="running"]').count() == 0
    assert page.locator("#ask").is_enabled() and not page.locator("#cancel").is_enabled()
    run = page.get_attribute(".turn", "data-run")
    stored = page.request.get(f"{server.base}api/runs/{run}?token={TOKEN}").json()
    assert stored["status"] == "cancelled"


def test_a_reloaded_page_shows_the_past_conversation(page: Any, server: Server) -> None:
    page.goto(server.url)
    question = 'What is the sha256 hex digest of "hello,world"?'
    _ask(page, question)
    page.wait_for_selector(f'.answer:has-text("{SHA256_HELLO_WORLD}")')
    session = _session_of(page)
    page.reload()
    page.wait_for_selector(f'.answer:has-text("{SHA256_HELLO_WORLD}")')
    assert page.locator(".turn .question").all_inner_texts() == [question]
    assert page.get_attribute('#sessions button[aria-current="true"]', "data-id") == session
    page.wait_for_selector('#tasks .task[data-status="done"]')  # the last run replayed into the panel
    # a fresh page lists the conversation; clicking it brings its messages back
    page.goto(server.url)
    page.click(f'#sessions button[data-id="{session}"]')
    page.wait_for_selector(f'.answer:has-text("{SHA256_HELLO_WORLD}")')
    assert session in page.url


def test_a_page_reloaded_mid_run_follows_it_to_the_end(page: Any, server: Server) -> None:
    page.goto(server.url)
    _ask(page, QUESTION)
    page.wait_for_selector('#tasks .task[data-status="running"]')
    page.reload()
    # the new page's EventSource replays the run from its first event, then follows it live
    answer = page.wait_for_selector(".answer")
    assert answer.text_content() == "1050 km"
    assert page.locator("#tasks .task").evaluate_all("rows => rows.map(r => r.dataset.status)") == ["done"] * 5
    # untrusted text is shown as text, never as markup
    hostile = 'What is <b>this</b>?<img src=x onerror="window.pwned = 1">'
    _ask(page, hostile)
    page.wait_for_selector('.turn:nth-child(2) .answer[data-status="answered"]')
    assert page.locator(".turn .question").all_inner_texts() == [QUESTION, hostile]
    assert page.locator("#messages img, #messages b, #sessions img").count() == 0
    assert page.evaluate("window.pwned") is None
    # an earlier answer's run can be shown again in the panel
    assert page.locator("#dag g.node").count() == 1  # the last question's plan: join() alone
    page.locator(".turn:nth-child(1) button.link").click()
    page.wait_for_selector('#run-state[data-status="answered"]')
    page.wait_for_function("document.querySelectorAll('#dag g.node').length === 6")


def test_a_restarted_server_shows_the_conversation(page: Any, tmp_path: Path) -> None:
    first = Server(tmp_path, speed=4.0)
    try:
        page.goto(first.url)
        _ask(page, "What can the demo do?")
        page.wait_for_selector('.answer[data-status="answered"]')
        session = _session_of(page)
    finally:
        first.stop()
    again = Server(tmp_path, speed=4.0)  # the same database, a new process
    try:
        page.goto(again.url)
        page.click(f'#sessions button[data-id="{session}"]')
        page.wait_for_selector('.answer[data-status="answered"]')
        assert page.locator(".turn .question").all_inner_texts() == ["What can the demo do?"]
        page.wait_for_selector("#timeline g.row")  # its events, replayed from the database
    finally:
        again.stop()


def test_the_api_refuses_a_call_without_the_token(page: Any, server: Server) -> None:
    assert page.request.get(f"{server.base}api/config").status == 401
    assert page.request.get(f"{server.base}api/config?token={TOKEN}").status == 200


@pytest.mark.skipif(not SCREENSHOT, reason="redraws docs/web-ui.png only when LLMCOMPILER_WEB_SCREENSHOT is set")
def test_screenshot(browser: Any, tmp_path: Path) -> None:
    slow = Server(tmp_path, speed=0.5)
    try:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        shot = context.new_page()
        shot.goto(slow.url)
        shot.set_input_files("#upload", files=[{"name": "dau.csv", "mimeType": "text/csv", "buffer": DAU_CSV.encode()}])
        shot.wait_for_selector('#files a.download:text-is("dau.csv")')
        _ask(shot, 'What is the sha256 hex digest of "hello,world"?')
        shot.wait_for_selector(".answer")
        _ask(shot, QUESTION)
        # mid-run: the plan still streaming, searches done and running, the math task written and waiting
        shot.wait_for_selector('#tasks .task[data-idx="5"]')
        assert SCREENSHOT is not None
        shot.screenshot(path=SCREENSHOT)
        context.close()
    finally:
        slow.stop()
    assert Path(SCREENSHOT).stat().st_size > 10_000
