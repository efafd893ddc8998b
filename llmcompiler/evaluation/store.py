"""A resumable results file: ``{id: record}`` in JSON, rewritten atomically on every add.

The shape is the original benchmark's, so files written by either tool can be read by the
other: each record has ``"question"``, ``"label"``, ``"answer"``, ``"time"`` (seconds) and
optionally ``"stats"``, ``"error"``, ``"level"``, ``"branch"``, ``"method"`` and
``"produced_by"`` (below).

Safety rules:

* An existing file that is not valid JSON, or not an object of objects each holding
  ``"label"`` and ``"answer"``, raises :class:`StoreError` (one line) and is never written
  to: the user decides what to do with it.
* Every :meth:`ResultStore.add` writes the whole store to a temporary file in the same
  directory, flushes and fsyncs it, then ``os.replace``-s it over the old file. A crash at
  any point leaves either the old file or the new one, never a mix, and a failed write
  removes its temporary file.
* The file is strict JSON: a NaN or infinite number in a record (a time, a cost) is
  written as ``null``, and kept as ``None`` in memory, so what is read back is what was
  written. Files with ``NaN``/``Infinity`` from older versions still load; those values
  read as ``None`` (a missing value to the reports) and are written as ``null`` next time.
* One writer at a time: a :class:`ResultStore` holds an exclusive ``flock`` on the sidecar
  ``<file>.lock`` from its creation until :meth:`ResultStore.close` (or ``with``-block
  end). The lock file says who holds it (pid, host, command line, since when); a second
  store on the same file, in this process or another, raises :class:`StoreError` naming
  that holder. The kernel drops the lock when the holder dies, so a crash leaves no stale
  lock, only a lock file the next writer reuses. Reading (:func:`load_results`, the
  reports) takes no lock.
* A store knows what produced it. :meth:`ResultStore.expect` is given the run's identity
  (method, suite, dataset fingerprint, model, ...); every record added afterwards carries
  it under ``"produced_by"``, and an existing record that says something else makes
  ``expect`` raise :class:`StoreError` saying what differs. It lives in each record rather
  than in a header key or a sidecar file because the original ``evaluate_results.py``
  counts and reads every value of the object (a header would be scored as a question) and
  a sidecar is lost when the results file is copied. Records without it (older files, the
  original tool's) are accepted and counted, so the caller can warn; a record with only
  ``"method"`` (our older files) is still checked on that.
* Batched writes (:meth:`ResultStore.batched`, what a benchmark run uses): rewriting the
  whole file per record costs a fsync of the whole store while the question waits, so
  inside the block each record is appended as one line to ``<file>.journal`` and fsynced
  there before ``add`` returns, and the JSON file is rewritten (atomically, as above) from
  memory every ``every`` records and when the block ends, after which the journal is
  emptied. A SIGKILL at any point leaves a valid JSON file plus a journal holding what
  it lacks; opening the store (and :func:`load_results`) reads both, a torn last line (a
  write that never returned) is ignored, and the next writer folds the journal into the
  file before it adds anything.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

from llmcompiler._files import atomic_write
from llmcompiler._text import shorten
from llmcompiler.exceptions import StoreError

__all__ = ["PRODUCER_KEY", "REQUIRED_KEYS", "ResultStore", "StoreError", "load_results"]

REQUIRED_KEYS = ("label", "answer")
PRODUCER_KEY = "produced_by"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _check_record(source: str, rid: str, record: Any) -> None:
    if not isinstance(record, dict):
        raise StoreError(f"{source}: record {rid!r} must be an object, got {_kind(record)}")
    for key in REQUIRED_KEYS:
        if key not in record:
            raise StoreError(f"{source}: record {rid!r} has no {key!r}")


def load_results(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read and check a results file that must exist; raise :class:`StoreError` otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory, not a results file") from None
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not text.strip():
        raise StoreError(f"{path}: the file is empty, not a JSON object of results")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise StoreError(f"{path}: not valid JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        raise StoreError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StoreError(f"{path}: expected a JSON object {{id: record}}, got {_kind(data)}")
    for rid, record in data.items():
        _check_record(str(path), rid, record)
    data.update(_read_journal(path))
    return data


def _journal_path(store: Path) -> Path:
    return store.with_name(store.name + ".journal")


def _read_journal(store: Path) -> dict[str, dict[str, Any]]:
    """The records of `store`'s journal (none when there is none), a torn last line left out."""
    path = _journal_path(store)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    records: dict[str, dict[str, Any]] = {}
    lines = raw.split(b"\n")
    # the part after the last newline is a write that was cut off: its add() never returned
    for number, line in enumerate(lines[:-1], start=1):
        try:
            entry = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
            rid, record = str(entry["id"]), entry["record"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}: line {number} is not a journal entry ({exc}); move the file away") from exc
        _check_record(str(path), rid, record)
        records[rid] = record
    return records


def _no_constant(name: str) -> None:
    """`NaN`, `Infinity`, `-Infinity` (older files): read as null, as they are written now."""
    return None


def _strict(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


class ResultStore:
    """Results of a benchmark run, keyed by question id, persisted after every :meth:`add`.

        with ResultStore("results/parallelqa_compiler.json") as store:
            store.expect({"method": "llmcompiler", "suite": "parallelqa", ...})
            for q in questions:
                if q["id"] in store:          # resume: skip what is already answered
                    continue
                store.add(q["id"], {"question": ..., "label": ..., "answer": ..., "time": ...})

    Creating a store takes the file's writer lock (see the module docstring) and raises
    :class:`StoreError` if another store holds it; :meth:`close` gives it back. ``add`` is
    thread-safe; from asyncio, call it through ``asyncio.to_thread`` if the store is large
    enough for the write to matter.
    """

    def __init__(self, path: str | os.PathLike[str], *, produced_by: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._producer: dict[str, Any] | None = None
        self._every = 1  # records per rewrite of the JSON file; above 1, the journal holds the rest
        self._pending = 0
        self._journal: int | None = None
        self._writer: _WriterLock | None = _WriterLock.acquire(self.path)
        try:
            loaded = load_results(self.path) if self.path.exists() else _read_journal(self.path)
            self._records: dict[str, dict[str, Any]] = _strict(loaded)
            if _journal_path(self.path).exists():
                self._compact()  # what a killed writer journaled joins the file before anything new
            if produced_by is not None:
                self.expect(produced_by)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Write what the journal holds into the file, give the writer lock back; the records
        stay readable, adding raises. Idempotent."""
        with self._lock:
            try:
                if self._writer is not None and self._pending:
                    self._compact()
            finally:
                self._close_journal()
                writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()

    @contextmanager
    def batched(self, *, every: int = 64) -> Iterator[ResultStore]:
        """Inside the block, ``add`` journals each record (fsynced) and the file is rewritten
        every `every` records and at the end (see the module docstring)."""
        if every < 1:
            raise ValueError("every must be >= 1")
        with self._lock:
            if self._writer is None:
                raise StoreError(f"{self.path}: the store is closed")
            if not self.path.exists():
                self._write(self._records)  # readers find a valid file from the start
            previous, self._every = self._every, every
        try:
            yield self
        finally:
            with self._lock:
                self._every = previous
                if self._writer is not None and self._pending:
                    self._compact()
                self._close_journal()

    @property
    def closed(self) -> bool:
        return self._writer is None

    def __contains__(self, rid: object) -> bool:
        return str(rid) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._records))

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"ResultStore({str(self.path)!r}, {len(self)} records{state})"

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """A copy of ``{id: record}`` in insertion (file) order."""
        return dict(self._records)

    def get(self, rid: object, default: Any = None) -> Any:
        return self._records.get(str(rid), default)

    def expect(self, producer: Mapping[str, Any]) -> int:
        """Check that this store holds only results of `producer` and stamp new records with it.

        `producer` is the run's identity, JSON values by name (``method``, ``suite``,
        ``dataset``, ``model``, ...). A record that names a different value for any of
        them raises :class:`StoreError`: one line with what differs and how to start a new
        store. A name a record does not have is not compared (files written before it was
        recorded). Returns how many records do not say what produced them.
        """
        wanted = _strict(dict(producer))
        unknown = 0
        for rid, record in self._records.items():
            stamp = record.get(PRODUCER_KEY)
            if not isinstance(stamp, Mapping):
                unknown += 1
                stamp = {"method": record["method"]} if "method" in record else {}
            differs = [key for key in wanted if key in stamp and stamp[key] != wanted[key]]
            if differs:
                what = ", ".join(f"{key} {_text(stamp[key])} -> {_text(wanted[key])}" for key in differs)
                raise StoreError(
                    f"{self.path} was written by {_describe(stamp)}; this run is {_describe(wanted)} "
                    f"({what}; record {rid!r}); pass a new --store or delete the file"
                )
        self._producer = wanted
        return unknown

    def add(self, rid: object, record: Mapping[str, Any]) -> None:
        """Add (or replace) one record and write the whole store atomically."""
        self.update({rid: record})

    def update(self, records: Mapping[Any, Mapping[str, Any]]) -> None:
        """Add (or replace) several records with a single atomic write."""
        fresh = {str(rid): dict(record) if isinstance(record, Mapping) else record for rid, record in records.items()}
        for rid, record in fresh.items():
            _check_record(f"{self.path}", rid, record)
        fresh = _strict(fresh)
        if self._producer is not None:
            for record in fresh.values():
                record.setdefault(PRODUCER_KEY, dict(self._producer))
        with self._lock:
            if self._writer is None:
                raise StoreError(f"{self.path}: the store is closed")
            merged = dict(self._records)
            merged.update(fresh)
            if self._every <= 1:
                self._write(merged)
                self._records = merged
                return
            self._append(fresh)
            self._records = merged
            self._pending += len(fresh)
            if self._pending >= self._every:
                self._compact()

    def _append(self, fresh: dict[str, dict[str, Any]]) -> None:
        """One line per record at the journal's end, on disk before this returns."""
        try:
            payload = "".join(
                json.dumps({"id": rid, "record": record}, ensure_ascii=False, allow_nan=False) + "\n"
                for rid, record in fresh.items()
            ).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{self.path}: a record cannot be written as JSON: {exc}") from exc
        path = _journal_path(self.path)
        try:
            if self._journal is None:
                self._journal = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            view = memoryview(payload)
            while view:
                view = view[os.write(self._journal, view) :]
            os.fsync(self._journal)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def _compact(self) -> None:
        """The file rewritten from memory, then the journal emptied (in that order: a crash
        between the two only leaves records that are in both)."""
        self._write(self._records)
        path = _journal_path(self.path)
        try:
            self._close_journal()
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot remove {path}: {exc.strerror or exc}") from exc
        self._pending = 0

    def _close_journal(self) -> None:
        fd, self._journal = self._journal, None
        if fd is not None:
            os.close(fd)

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            payload = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{self.path}: a record cannot be written as JSON: {exc}") from exc
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory {directory}: {exc.strerror or exc}") from exc
        try:
            with atomic_write(self.path) as f:
                f.write(payload)
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _describe(producer: Mapping[str, Any]) -> str:
    """`llmcompiler on hotpotqa with openai:gpt-4o`, with what the producer names."""
    parts = [_text(producer.get("method", "an unknown method"))]
    if "suite" in producer:
        parts.append(f"on {_text(producer['suite'])}")
    if "model" in producer:
        parts.append(f"with {_text(producer['model'])}")
    return " ".join(parts)


# -- the writer lock ----------------------------------------------------------------------

_REDACT = ("key", "token", "secret", "password")


def _command_line() -> str:
    """This process's command line for the lock file, with secret-looking values hidden."""
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    argv[0] = Path(argv[0]).name
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
            continue
        name, eq, _ = arg.partition("=")
        secret = arg.startswith("-") and any(word in name.lower() for word in _REDACT)
        if secret and eq:
            shown.append(f"{name}=***")
        else:
            shown.append(arg)
            hide_next = secret
    # one line for the error message, and a long argument (python -c SCRIPT) must not hide the rest
    return shorten(shlex.join(shorten(arg, 60) for arg in shown), 300, one_line=False)


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock without waiting; False if someone else has it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # a byte far past the holder's note, so the note stays readable
            os.lseek(fd, 1 << 20, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK):
            return False
        raise
    return True


class _WriterLock:
    """The exclusive lock on `<store>.lock` that one writer holds for its whole life."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, store: Path) -> _WriterLock:
        path = store.with_name(store.name + ".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory {path.parent}: {exc.strerror or exc}") from exc
        # A holder that is closing unlinks the file and then unlocks it; whoever locked the
        # unlinked file in between sees it is no longer at `path` and opens the new one.
        for _ in range(5):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"cannot open the lock file {path}: {exc.strerror or exc}") from exc
            try:
                if not _try_lock(fd):
                    raise StoreError(f"{store} is in use by {_holder(fd)}; wait for it or use another --store")
                if not _same_file(fd, path):
                    os.close(fd)
                    continue
                note = {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": _command_line(),
                    "since": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                }
                os.ftruncate(fd, 0)
                os.pwrite(fd, (json.dumps(note) + "\n").encode(), 0)
            except OSError as exc:
                os.close(fd)
                raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from exc
            except BaseException:
                os.close(fd)
                raise
            return cls(path, fd)
        raise StoreError(f"cannot lock {path}: it keeps being replaced by other writers")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if _same_file(fd, self.path):
                self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a lock file left behind is harmless: the lock itself goes with the descriptor
        finally:
            os.close(fd)

    def __del__(self) -> None:
        # a store dropped without close() must not keep its file locked until exit
        try:
            self.release()
        except Exception:  # interpreter shutdown may have torn down what release() uses
            pass


def _holder(fd: int) -> str:
    """Who holds the lock, from the note the holder wrote into the lock file."""
    try:
        note = json.loads(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        pid, host, command, since = note["pid"], note["host"], note["command"], note["since"]
    except (OSError, ValueError, KeyError, TypeError):
        return "another writer (it has not said who yet)"
    where = "" if host == socket.gethostname() else f" on {host}"
    this = ", this process" if pid == os.getpid() and not where else ""
    return f"pid {pid}{where} ({command}{this}) since {since}"
