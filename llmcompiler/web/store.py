"""The web UI's SQLite store: sessions, runs, their events and files.

One connection, used only from one dedicated thread (a single-thread executor), so the event
loop never waits on the disk and sqlite3 never sees two threads. WAL journal: readers of a
past run do not wait for a writer. A run's events are written in batches (one transaction
per burst of events), by `RunManager`'s writer.

    store = Store(path)
    await store.open()            # creates the tables; marks runs left running as failed
    ...
    await store.close()
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["STOPPED_DURING_RUN", "Store"]

T = TypeVar("T")

STOPPED_DURING_RUN = "the server stopped during the run"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    title TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    session TEXT NOT NULL REFERENCES sessions(id),
    question TEXT NOT NULL,
    suite TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    error TEXT,
    created REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS runs_by_session ON runs(session, created);
CREATE TABLE IF NOT EXISTS events (
    run TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run, seq)
);
CREATE TABLE IF NOT EXISTS files (
    session TEXT NOT NULL REFERENCES sessions(id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    run TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (session, name)
);
"""

_RUN_COLUMNS = "id, session, question, suite, model, status, answer, error, created, finished"


class Store:
    """See the module docstring; every public method is a coroutine run on the store's thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    async def open(self) -> int:
        """Open (creating) the database; the number of runs found running and marked failed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmcompiler-web-db")
        return await self._call(self._open)

    async def close(self) -> None:
        if self._executor is None:
            return
        await self._call(self._close)
        self._executor.shutdown(wait=True)
        self._executor = None

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("the store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # -- on the store's thread -------------------------------------------------------------

    def _open(self) -> int:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(_SCHEMA)
        self._db = db
        with db:
            cursor = db.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished = ? WHERE status = 'running'",
                (STOPPED_DURING_RUN, time.time()),
            )
        return cursor.rowcount

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "the store is not open"
        return self._db

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        with self.db:
            self.db.execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.db.execute(sql, params).fetchall()]

    def _row(self, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
        row = self.db.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _append_events(self, run: str, batch: Sequence[tuple[int, str]]) -> None:
        with self.db:
            self.db.executemany("INSERT INTO events (run, seq, data) VALUES (?, ?, ?)", [(run, s, d) for s, d in batch])

    def _events(self, run: str, after: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT data FROM events WHERE run = ? AND seq > ? ORDER BY seq", (run, after))
        return [json.loads(row[0]) for row in rows.fetchall()]

    def _session(self, session: str) -> dict[str, Any] | None:
        found = self._row("SELECT id, created, title FROM sessions WHERE id = ?", (session,))
        if found is None:
            return None
        found["runs"] = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE session = ? ORDER BY created", (session,))
        found["files"] = self._rows("SELECT name, size, run FROM files WHERE session = ? ORDER BY created", (session,))
        return found

    def _record_files(self, session: str, run: str | None, files: Sequence[tuple[str, int]]) -> None:
        now = time.time()
        with self.db:
            self.db.executemany(
                "INSERT INTO files (session, name, size, run, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session, name) DO UPDATE SET size = excluded.size, run = excluded.run",
                [(session, name, size, run, now) for name, size in files],
            )

    # -- the API ---------------------------------------------------------------------------

    async def create_session(self, session: str, *, title: str = "") -> float:
        created = time.time()
        await self._call(
            self._write, "INSERT INTO sessions (id, created, title) VALUES (?, ?, ?)", (session, created, title)
        )
        return created

    async def set_title(self, session: str, title: str) -> None:
        await self._call(self._write, "UPDATE sessions SET title = ? WHERE id = ? AND title = ''", (title, session))

    async def sessions(self) -> list[dict[str, Any]]:
        return await self._call(self._rows, "SELECT id, created, title FROM sessions ORDER BY created DESC")

    async def session(self, session: str) -> dict[str, Any] | None:
        """The session with its `runs` and `files`; None when there is no such session."""
        return await self._call(self._session, session)

    async def create_run(self, run: str, *, session: str, question: str, suite: str, model: str) -> None:
        await self._call(
            self._write,
            "INSERT INTO runs (id, session, question, suite, model, status, created) "
            "VALUES (?, ?, ?, ?, ?, 'running', ?)",
            (run, session, question, suite, model, time.time()),
        )

    async def finish_run(self, run: str, *, status: str, answer: str, error: str | None) -> None:
        await self._call(
            self._write,
            "UPDATE runs SET status = ?, answer = ?, error = ?, finished = ? WHERE id = ?",
            (status, answer, error, time.time(), run),
        )

    async def run(self, run: str) -> dict[str, Any] | None:
        return await self._call(self._row, f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run,))

    async def append_events(self, run: str, batch: Sequence[tuple[int, str]]) -> None:
        """Store (seq, JSON) pairs of one run in one transaction."""
        if batch:
            await self._call(self._append_events, run, list(batch))

    async def events(self, run: str, *, after: int = 0) -> list[dict[str, Any]]:
        """The stored events of a run with seq > `after`, as dicts (each with its "seq")."""
        return await self._call(self._events, run, after)

    async def record_files(self, session: str, files: Sequence[tuple[str, int]], *, run: str | None = None) -> None:
        """(name, size) of files uploaded to a session (run None) or created by a run."""
        if files:
            await self._call(self._record_files, session, run, list(files))

    async def run_files(self, run: str) -> list[dict[str, Any]]:
        return await self._call(self._rows, "SELECT name, size FROM files WHERE run = ? ORDER BY name", (run,))
