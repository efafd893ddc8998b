"""The memory of solved questions: one SQLite file, read and written from worker threads.

A row is one success: the question, the suite it belongs to, which agent and model solved
it, the planner's text of every round, the code of its code tasks, the answer, and the
demonstration shown to later planners (the run's successful calls as one plan, or ReAct's
steps). Only answered runs with a non-empty answer are kept, and a question is kept once
per suite, agent and answer: a UNIQUE index makes that hold for concurrent writers too.

One connection per `SolutionMemory`, used under a lock
from `asyncio.to_thread`, so the event loop never waits on the disk. SQLite's own file
locks order writers of different processes; a writer that waits past `busy_timeout` ends
with `SolutionMemoryError`, as does a file that is not a memory of solutions.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmcompiler.exceptions import ConfigurationError, SolutionMemoryError
from llmcompiler.memory.retrieval import BM25Retriever, Retriever

if TYPE_CHECKING:
    from llmcompiler.agents.base import RunResult

__all__ = ["FORMAT", "RETRIEVERS", "Solution", "SolutionMemory", "default_memory_path"]

FORMAT = "llmcompiler-solution-memory"
VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS solutions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    suite TEXT NOT NULL,
    agent TEXT NOT NULL,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    answer TEXT NOT NULL,
    answer_key TEXT NOT NULL,
    model TEXT NOT NULL,
    plans TEXT NOT NULL,
    code TEXT NOT NULL,
    example TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS solutions_once ON solutions (suite, agent, question_key, answer_key);
"""
_COLUMNS = "id, question, suite, model, plans, code, answer, created, agent, example"


@dataclass(frozen=True)
class Solution:
    """One solved question. `created` is Unix time; `example` the demonstration shown to planners."""

    id: int
    question: str
    suite: str
    model: str
    plans: tuple[str, ...]
    code: tuple[str, ...]
    answer: str
    created: float
    agent: str = "llmcompiler"
    example: str = ""

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["plans"], record["code"] = list(self.plans), list(self.code)
        return record


def default_memory_path() -> Path:
    """`memory.sqlite3` in the cache folder the datasets use (`$LLMCOMPILER_CACHE_DIR`, ...)."""
    from llmcompiler._files import cache_dir

    return cache_dir() / "memory.sqlite3"


def _key(text: str) -> str:
    """What makes two questions (or answers) the same: case and runs of whitespace ignored."""
    return " ".join(text.lower().split())


class SolutionMemory:
    """Solved questions in SQLite and their retrieval as in-context examples.

    `path`: the file (None: `default_memory_path()`); it is created, with its folder, when
    missing. `retriever`: how questions are ranked: "bm25" (the default), "embeddings"
    (`llmcompiler.memory.embeddings`, the optional extra) or a `Retriever`.
    `busy_timeout`: seconds a call waits for another program's lock before it fails.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        retriever: Retriever | str | None = None,
        busy_timeout: float = 5.0,
    ) -> None:
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)) or not busy_timeout >= 0:
            raise ConfigurationError(f"busy_timeout must be a number of seconds >= 0, got {busy_timeout!r}")
        self.path = Path(path).expanduser() if path is not None else default_memory_path()
        self.retriever = _retriever(retriever)
        self.busy_timeout = float(busy_timeout)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._open()

    # -- the file --------------------------------------------------------------------

    def _open(self) -> None:
        if self.path.is_dir():
            raise SolutionMemoryError(f"the memory of solutions {self.path} is a folder, not a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SolutionMemoryError(
                f"cannot create the folder of the memory of solutions {self.path.parent}: {exc.strerror or exc}"
            ) from exc
        try:
            # autocommit (isolation_level=None): every write below says where its transaction begins
            connection = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._error(exc, "open it") from exc
        try:
            self._check_or_create(connection)
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def _check_or_create(self, connection: sqlite3.Connection) -> None:
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "memory_meta" not in tables:
                others = sorted(t for t in tables if not t.startswith("sqlite_"))
                if others:
                    shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
                    raise SolutionMemoryError(
                        f"{self.path} is an SQLite database but not a memory of solutions (its tables: {shown}); "
                        "give another --memory path"
                    )
                connection.execute("BEGIN IMMEDIATE")
                try:
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        connection.execute(statement)
                    connection.execute(
                        "INSERT OR IGNORE INTO memory_meta VALUES ('format', ?), ('version', ?)", (FORMAT, VERSION)
                    )
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
            meta = dict(connection.execute("SELECT key, value FROM memory_meta"))
        except sqlite3.Error as exc:
            raise self._error(exc, "read it") from exc
        if meta.get("format") != FORMAT:
            raise SolutionMemoryError(
                f"{self.path} is an SQLite database but not a memory of solutions (no format mark); "
                "give another --memory path"
            )
        if str(meta.get("version")) != str(VERSION):
            raise SolutionMemoryError(
                f"the memory of solutions {self.path} has format version {meta.get('version')}; "
                f"this llmcompiler reads version {VERSION}"
            )

    def _error(self, exc: sqlite3.Error, doing: str) -> SolutionMemoryError:
        message = str(exc)
        lowered = message.lower()
        if "locked" in lowered or "busy" in lowered:
            text = (
                f"the memory of solutions {self.path} is locked by another program "
                f"(waited {self.busy_timeout:g}s to {doing})"
            )
        elif "not a database" in lowered or "malformed" in lowered or "encrypted" in lowered:
            text = f"the memory of solutions {self.path} is not a readable SQLite file (corrupt or another format)"
        else:
            text = f"cannot {doing}: the memory of solutions {self.path}: {message}"
        return SolutionMemoryError(text)

    def _run(self, doing: str, work: Any) -> Any:
        """`work(connection)` under this object's lock; SQLite errors become one-line SolutionMemoryErrors."""
        with self._lock:
            if self._connection is None:
                raise SolutionMemoryError(f"the memory of solutions {self.path} is closed")
            try:
                return work(self._connection)
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from exc

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> SolutionMemory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SolutionMemory(path={str(self.path)!r}, retriever={getattr(self.retriever, 'name', '?')})"

    # -- remembering -----------------------------------------------------------------

    async def aremember(self, question: str, result: RunResult, *, suite: str, model: str) -> Solution | None:
        """Store a success (see `remember`) from a worker thread."""
        return await asyncio.to_thread(self.remember, question, result, suite=suite, model=model)

    def remember(self, question: str, result: RunResult, *, suite: str, model: str) -> Solution | None:
        """Store `result` if it answered `question`; None for a failure or a question already
        stored with that answer (same suite and agent)."""
        if getattr(result.status, "value", result.status) != "answered" or not result.answer.strip():
            return None
        if not question.strip():
            return None
        from llmcompiler.memory.solutions import code_of, demonstration

        agent = result.agent or "llmcompiler"
        plans = tuple(result.plans)
        code = code_of(result)
        example = demonstration(result)
        created = time.time()
        row = (suite, agent, question, _key(question), result.answer, _key(result.answer), model)

        def insert(connection: sqlite3.Connection) -> int | None:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO solutions (suite, agent, question, question_key, answer, answer_key, model, "
                "plans, code, example, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, json.dumps(list(plans)), json.dumps(list(code)), example, created),
            )
            return cursor.lastrowid if cursor.rowcount == 1 else None

        new_id = self._run("store a solution", insert)
        if new_id is None:
            return None
        return Solution(new_id, question, suite, model, plans, code, result.answer, created, agent, example)

    # -- recalling -------------------------------------------------------------------

    async def arecall(self, question: str, *, suite: str, k: int = 3, agent: str | None = None) -> list[Solution]:
        """The `k` stored successes of `suite` most similar to `question`, best first (see `recall`)."""
        return await asyncio.to_thread(self.recall, question, suite=suite, k=k, agent=agent)

    def recall(self, question: str, *, suite: str, k: int = 3, agent: str | None = None) -> builtins.list[Solution]:
        """Best first, only those the retriever scores above zero; `agent` keeps those one
        agent solved (its demonstrations are in that agent's format). An identical stored
        question is found like any other: it is the most similar."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ConfigurationError(f"k must be a whole number >= 0, got {k!r}")
        if k == 0:
            return []
        where, values = "suite = ?", [suite]
        if agent is not None:
            where += " AND agent = ?"
            values.append(agent)
        # rank on the questions alone; only the k kept are read whole (plans and code can be long)
        query = f"SELECT id, question FROM solutions WHERE {where} ORDER BY id"
        rows = self._run("read it", lambda c: c.execute(query, values).fetchall())
        ranked = self.retriever.rank(question, [text for _, text in rows])
        chosen = [rows[i][0] for i, _ in ranked[:k]]
        if not chosen:
            return []
        marks = ", ".join("?" * len(chosen))
        found = self._run(
            "read it", lambda c: c.execute(f"SELECT {_COLUMNS} FROM solutions WHERE id IN ({marks})", chosen).fetchall()
        )
        by_id = {row[0]: _solution(row) for row in found}
        return [by_id[i] for i in chosen if i in by_id]  # (one cleared in between is gone)

    def examples_text(self, solutions: Sequence[Solution]) -> str:
        """The in-context examples block for `solutions` ("" for none), headed so the model
        knows they are earlier solved questions; examples are separated by "###" like a
        suite's, so the block goes ahead of the suite's examples with one more "###"."""
        from llmcompiler.memory.solutions import examples_text

        return examples_text(solutions)

    # -- the command's helpers ----------------------------------------------------------

    def list(self, suite: str | None = None) -> builtins.list[Solution]:
        """Every stored solution (of `suite`), oldest first."""
        where, values = ("WHERE suite = ?", [suite]) if suite is not None else ("", [])
        rows = self._run(
            "read it", lambda c: c.execute(f"SELECT {_COLUMNS} FROM solutions {where} ORDER BY id", values).fetchall()
        )
        return [_solution(row) for row in rows]

    def get(self, id: int) -> Solution | None:
        row = self._run(
            "read it", lambda c: c.execute(f"SELECT {_COLUMNS} FROM solutions WHERE id = ?", (id,)).fetchone()
        )
        return _solution(row) if row is not None else None

    def clear(self, suite: str | None = None) -> int:
        """Delete every solution (of `suite`); returns how many."""
        where, values = ("WHERE suite = ?", [suite]) if suite is not None else ("", [])
        return int(self._run("clear it", lambda c: c.execute(f"DELETE FROM solutions {where}", values).rowcount))

    def export(self, path: str | os.PathLike[str], *, suite: str | None = None) -> int:
        """Write the solutions (of `suite`) to `path` as JSON lines, atomically; returns how many."""
        solutions = self.list(suite)
        target = Path(path).expanduser()
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("w", encoding="utf-8") as out:
                for solution in solutions:
                    out.write(json.dumps(solution.to_json(), ensure_ascii=False) + "\n")
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise SolutionMemoryError(f"cannot write {target}: {exc.strerror or exc}") from exc
        return len(solutions)


RETRIEVERS = ("bm25", "embeddings")


def _retriever(spec: Retriever | str | None) -> Retriever:
    if spec is None or spec == "bm25":
        return BM25Retriever()
    if spec == "embeddings":
        from llmcompiler.memory.embeddings import EmbeddingRetriever

        return EmbeddingRetriever()
    if isinstance(spec, str):
        raise ConfigurationError(f"retriever must be one of {', '.join(RETRIEVERS)} or a Retriever, not {spec!r}")
    if not callable(getattr(spec, "rank", None)):
        raise ConfigurationError(f"retriever must have rank(query, documents), got {type(spec).__name__}")
    return spec


def _solution(row: Sequence[Any]) -> Solution:
    id, question, suite, model, plans, code, answer, created, agent, example = row
    return Solution(
        id=int(id),
        question=question,
        suite=suite,
        model=model,
        plans=tuple(json.loads(plans)),
        code=tuple(json.loads(code)),
        answer=answer,
        created=float(created),
        agent=agent,
        example=example,
    )
