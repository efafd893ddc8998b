"""What every code backend promises: run a cell, return a `CellResult`, never raise for user code.

    executor = SubprocessExecutor(config, workspace)      # or JupyterExecutor
    result = await executor.run("print(6 * 7)", session="task-3")
    result.status, result.output, result.files              # CellStatus.OK, "42\\n", ()
    await executor.aclose()                                  # no kernel or process outlives this

A cell's outcome is a value: `ok`, `error` (the code raised; `error` holds the cleaned
traceback), `timeout` (interrupted after `timeout` seconds), `died` (the kernel or process
ended mid-cell: killed from outside, out of memory; the next cell gets a fresh one).
Only programmer errors (a closed executor, a bad argument) raise.

A `session` names a persistent namespace: the Jupyter backend keeps one kernel per session
until `release(session)`; the subprocess backend runs every cell in a fresh interpreter and
ignores it (no state survives a cell there, which the tools' descriptions say).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

Backend = Literal["jupyter", "subprocess"]


class CellStatus(str, enum.Enum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    DIED = "died"


@dataclass(frozen=True, kw_only=True)
class InterpreterConfig:
    """Settings shared by both backends; limits set to None are not applied."""

    backend: Backend = "jupyter"
    timeout: float = 60.0  # seconds per cell
    python_interpreter: str | None = None  # None: the interpreter running llmcompiler
    max_output_chars: int = 20_000  # the rest is cut, with a note of how much
    memory_limit_mb: int | None = 4096  # RLIMIT_AS of the code's process
    max_processes: int | None = None  # RLIMIT_NPROC (counts all of the user's processes)
    max_open_files: int | None = 1024  # RLIMIT_NOFILE
    pool_size: int = 2  # warm Jupyter kernels kept ready


@dataclass(frozen=True)
class CellResult:
    """How one cell went; `files` are workspace paths the cell created or changed."""

    status: CellStatus
    output: str  # stdout, stderr and result text, ANSI codes stripped, capped
    error: str | None = None  # cleaned traceback, or why the cell was stopped
    files: tuple[Path, ...] = ()
    cut_chars: int = 0  # characters of output dropped by max_output_chars
    duration: float = 0.0  # seconds, from submission to the cell's end
    images: tuple[Path, ...] = field(default=())  # rich outputs written to files (also in `files`)

    @property
    def ok(self) -> bool:
        return self.status is CellStatus.OK

    def observation(self, root: Path | None = None) -> str:
        """The text a model reads: output, the error, then `created file: PATH` lines."""
        parts = [self.output.rstrip("\n")] if self.output.strip() else []
        if self.error:
            parts.append(self.error.rstrip("\n"))
        parts.extend(describe_files(self.files, root))
        return "\n".join(parts) if parts else "(no output)"


@runtime_checkable
class CodeExecutor(Protocol):
    """A backend: Jupyter kernels or fresh interpreter processes."""

    name: str

    async def run(self, code: str, *, session: str = "default", timeout: float | None = None) -> CellResult:
        """Run one cell; `timeout` overrides the config's for this cell."""
        ...

    async def release(self, session: str) -> None:
        """Forget a session (its kernel is shut down); unknown sessions are ignored."""
        ...

    async def aclose(self) -> None:
        """Stop every kernel and process this executor started; idempotent."""
        ...


def describe_files(paths: Sequence[Path], root: Path | None = None) -> list[str]:
    """`created file: PATH` lines, paths relative to the workspace where they lie in it."""
    return [f"created file: {p.relative_to(root) if root and p.is_relative_to(root) else p}" for p in paths]


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


_OVERWRITTEN = re.compile(r"[^\n]*\r(?!\n)")


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences (colours in tracebacks, cursor moves)."""
    return _ANSI.sub("", text)


def clean_output(text: str) -> str:
    """Output as a terminal would leave it: no escape sequences, and of a line redrawn with
    carriage returns (progress bars) only its last state."""
    return _OVERWRITTEN.sub("", strip_ansi(text))


class CappedOutput:
    """A cell's output kept to `limit` characters: its head and its tail, the middle counted.

    Memory stays within about twice the limit however much a cell prints; `text()` marks the
    cut with `[... N characters cut]`.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self._head_cap = self.limit - self.limit // 2
        self._tail_cap = self.limit // 2
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self.total = 0  # characters received

    def add(self, text: str) -> None:
        if not text:
            return
        self.total += len(text)
        room = self._head_cap - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += min(room, len(text))
            text = text[room:]
        if text and self._tail_cap:
            self._tail = (self._tail + text)[-self._tail_cap :]

    @property
    def cut_chars(self) -> int:
        return self.total - self._head_len - len(self._tail)

    def text(self) -> str:
        head = "".join(self._head)
        cut = self.cut_chars
        if not cut:
            return head + self._tail
        joint = "" if not head or head.endswith("\n") else "\n"
        return f"{head}{joint}[... {cut:,} characters cut]\n{self._tail}"
