"""The web UI's SQLite store on its own: WAL, batches of events, files, runs left running."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from llmcompiler.web.store import STOPPED_DURING_RUN, Store


async def test_the_store_round_trips_and_runs_on_one_thread_of_its_own(tmp_path: Path) -> None:
    store = Store(tmp_path / "deep" / "web.sqlite3")
    assert await store.open() == 0
    try:
        await store.create_session("s1", title="")
        await store.set_title("s1", "first question")
        await store.set_title("s1", "not this one")  # the first question names the session
        await store.create_run("r1", session="s1", question="q", suite="general", model="m")
        batch = [(seq, json.dumps({"type": "X", "seq": seq})) for seq in range(1, 6)]
        await store.append_events("r1", batch[:3])
        await store.append_events("r1", batch[3:])
        assert [e["seq"] for e in await store.events("r1")] == [1, 2, 3, 4, 5]
        assert [e["seq"] for e in await store.events("r1", after=3)] == [4, 5]
        await store.record_files("s1", [("a.csv", 10)])
        await store.record_files("s1", [("out.txt", 3), ("a.csv", 12)], run="r1")
        await store.finish_run("r1", status="answered", answer="42", error=None)
        session = await store.session("s1")
        assert session is not None and session["title"] == "first question"
        assert [(r["id"], r["status"], r["answer"]) for r in session["runs"]] == [("r1", "answered", "42")]
        assert {(f["name"], f["size"]) for f in session["files"]} == {("a.csv", 12), ("out.txt", 3)}
        assert await store.run_files("r1") == [{"name": "a.csv", "size": 12}, {"name": "out.txt", "size": 3}]
        assert await store.session("nope") is None and await store.run("nope") is None
        assert [s["id"] for s in await store.sessions()] == ["s1"]
        threads = {await store._call(lambda: threading.current_thread().name) for _ in range(3)}
        assert len(threads) == 1 and threads != {threading.current_thread().name}
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "deep" / "web.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_runs_left_running_are_failed_at_the_next_start(tmp_path: Path) -> None:
    store = Store(tmp_path / "web.sqlite3")
    await store.open()
    await store.create_session("s", title="t")
    await store.create_run("r", session="s", question="q", suite="general", model="m")
    await store.close()
    again = Store(tmp_path / "web.sqlite3")
    assert await again.open() == 1
    try:
        run = await again.run("r")
        assert run is not None and run["status"] == "failed" and run["error"] == STOPPED_DURING_RUN
        assert run["finished"] is not None
    finally:
        await again.close()
