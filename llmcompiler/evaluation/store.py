"""A resumable results file: ``{id: record}`` in JSON, rewritten atomically on every add.

The shape is the original benchmark's, so files written by either tool can be read by the
other: each record has ``"question"``, ``"label"``, ``"answer"``, ``"time"`` (seconds) and
optionally ``"stats"``, ``"error"``, ``"level"``, ``"branch"``, ``"method"``.

Safety rules:

* An existing file that is not valid JSON, or not an object of objects each holding
  ``"label"`` and ``"answer"``, raises :class:`StoreError` (one line) and is never written
  to: the user decides what to do with it.
* Every :meth:`ResultStore.add` writes the whole store to a temporary file in the same
  directory, flushes and fsyncs it, then ``os.replace``-s it over the old file. A crash at
  any point leaves either the old file or the new one, never a mix, and a failed write
  removes its temporary file.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from llmcompiler.exceptions import LLMCompilerError

__all__ = ["REQUIRED_KEYS", "ResultStore", "StoreError", "load_results"]

REQUIRED_KEYS = ("label", "answer")


class StoreError(LLMCompilerError):
    """A results file cannot be read, has the wrong shape, or cannot be written."""


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


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
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise StoreError(f"{path}: expected a JSON object {{id: record}}, got {_kind(data)}")
    for rid, record in data.items():
        _check_record(str(path), rid, record)
    return data


class ResultStore:
    """Results of a benchmark run, keyed by question id, persisted after every :meth:`add`.

        store = ResultStore("results/parallelqa_compiler.json")
        for q in questions:
            if q["id"] in store:          # resume: skip what is already answered
                continue
            store.add(q["id"], {"question": ..., "label": ..., "answer": ..., "time": ...})

    ``add`` is thread-safe; from asyncio, call it through ``asyncio.to_thread`` if the
    store is large enough for the write to matter.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = load_results(self.path) if self.path.exists() else {}

    def __contains__(self, rid: object) -> bool:
        return str(rid) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._records))

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, {len(self)} records)"

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """A copy of ``{id: record}`` in insertion (file) order."""
        return dict(self._records)

    def get(self, rid: object, default: Any = None) -> Any:
        return self._records.get(str(rid), default)

    def add(self, rid: object, record: Mapping[str, Any]) -> None:
        """Add (or replace) one record and write the whole store atomically."""
        self.update({rid: record})

    def update(self, records: Mapping[Any, Mapping[str, Any]]) -> None:
        """Add (or replace) several records with a single atomic write."""
        fresh = {str(rid): dict(record) if isinstance(record, Mapping) else record for rid, record in records.items()}
        for rid, record in fresh.items():
            _check_record(f"{self.path}", rid, record)
        with self._lock:
            merged = dict(self._records)
            merged.update(fresh)
            self._write(merged)
            self._records = merged

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            payload = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{self.path}: a record cannot be written as JSON: {exc}") from exc
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory {directory}: {exc.strerror or exc}") from exc
        tmp = directory / f".{self.path.name}.{secrets.token_hex(6)}.tmp"
        try:
            # A fresh random name, O_EXCL: never write through a file or link left there; 0o666 & ~umask.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(payload)
                    f.flush()
                    os.fsync(f.fileno())
                try:
                    os.chmod(tmp, self.path.stat().st_mode & 0o7777)
                except FileNotFoundError:
                    pass  # a new store: the umask decided
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows it (POSIX); best effort elsewhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
