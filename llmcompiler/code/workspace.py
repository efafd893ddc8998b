"""The folder code runs in: files put there for the model, files the code made, names kept inside it.

    workspace = Workspace()                       # a new folder under the temp dir, kept afterwards
    workspace.add_file("data/a.csv")              # copied as `a.csv`
    print(workspace.describe())                   # name, size, first lines: for the planner
    before = workspace.snapshot()
    ...                                           # a cell runs with cwd = workspace.root
    workspace.changed_since(before)               # (PosixPath('.../chart.png'),)

Names beginning with a dot at the top level (`.cells/`, `.ipynb_checkpoints`) belong to the
backends and are left out of listings, snapshots and descriptions.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from llmcompiler.exceptions import WorkspaceError

Snapshot = dict[str, tuple[int, int]]

_LINE_LIMIT = 200
_NUMBERED = re.compile(r"(?:output|cell)-(\d+)\b")
_TEXT_PROBE_BYTES = 64 * 1024


class Workspace:
    """One folder shared by every cell of a run; see the module docstring."""

    def __init__(self, root: str | Path | None = None) -> None:
        if root is None:
            self.root = Path(tempfile.mkdtemp(prefix="llmcompiler-workspace-")).resolve()
            return
        path = Path(root).expanduser()
        if path.exists() and not path.is_dir():
            raise WorkspaceError(f"the workspace {path} is not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            raise WorkspaceError(f"cannot create the workspace {path}: {problem.strerror or problem}") from None
        self.root = path.resolve()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def add_file(self, source: str | Path) -> Path:
        """Copy `source` into the workspace under its base name; the copy's path."""
        path = Path(source).expanduser()
        if not path.exists():
            raise WorkspaceError(f"no such file: {path}")
        if path.is_dir():
            raise WorkspaceError(f"{path} is a directory, not a file")
        if not os.access(path, os.R_OK):
            raise WorkspaceError(f"cannot read {path}: permission denied")
        target = self.root / path.name
        if target.exists():
            if target.resolve() == path.resolve():
                return target
            raise WorkspaceError(f"the workspace already has a file named {path.name} (adding {path})")
        try:
            shutil.copyfile(path, target)
        except OSError as problem:
            raise WorkspaceError(f"cannot copy {path}: {problem.strerror or problem}") from None
        return target

    def resolve(self, name: str) -> Path:
        """The path of `name` inside the workspace; WorkspaceError when it would leave it."""
        if not name or "\x00" in name:
            raise WorkspaceError(f"not a file name: {name!r}")
        relative = Path(name)
        if relative.is_absolute():
            raise WorkspaceError(f"{name} is an absolute path; name a file inside the workspace")
        if ".." in relative.parts:
            raise WorkspaceError(f"{name} leaves the workspace (..)")
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise WorkspaceError(f"{name} points outside the workspace (to {path})")
        return path

    def files(self) -> list[Path]:
        """Every regular file in the workspace (the backends' hidden ones left out), sorted."""
        found: list[Path] = []
        for directory, subdirs, names in os.walk(self.root):
            here = Path(directory)
            if here == self.root:
                subdirs[:] = [d for d in subdirs if not d.startswith(".")]
                names = [n for n in names if not n.startswith(".")]
            found.extend(p for p in (here / n for n in names) if p.is_file() and not p.is_symlink())
        return sorted(found)

    def describe(self, *, lines: int = 5) -> str:
        """For the planner: per file its name, size, and for text files the first `lines` lines."""
        entries = []
        for path in self.files():
            relative = path.relative_to(self.root).as_posix()
            size = path.stat().st_size
            head = _first_lines(path, lines)
            if head is None:
                entries.append(f"- {relative} ({_size(size)}, binary)")
            elif not head:
                entries.append(f"- {relative} ({_size(size)}, empty)")
            else:
                shown = "\n".join(f"    {line}" for line in head)
                entries.append(f"- {relative} ({_size(size)}), first lines:\n{shown}")
        return "\n".join(entries) if entries else "(empty)"

    def snapshot(self) -> Snapshot:
        """{relative path: (mtime_ns, size)} of every file, to compare after a cell."""
        result: Snapshot = {}
        for path in self.files():
            try:
                stat = path.stat()
            except OSError:  # removed while we walked
                continue
            result[path.relative_to(self.root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
        return result

    def changed_since(self, snapshot: Snapshot) -> tuple[Path, ...]:
        """Files created or modified since `snapshot` was taken, sorted."""
        now = self.snapshot()
        return tuple(self.root / name for name, stamp in sorted(now.items()) if snapshot.get(name) != stamp)

    def next_cell_number(self) -> int:
        """A cell number no earlier run in this folder used (`output-N-K.png`, `.cells/cell-N.py`).

        A workspace reused across runs (`--workspace DIR`) keeps the earlier runs' images; a new
        executor counts on from them instead of overwriting them.
        """
        used = [0]
        for path in (*self.root.glob("output-*-*"), *self.root.glob(".cells/cell-*")):
            match = _NUMBERED.match(path.name)
            if match:
                used.append(int(match.group(1)))
        return max(used) + 1

    def hidden(self, name: str) -> Path:
        """A backend's own folder (`.name`), created on demand and left out of listings."""
        path = self.root / f".{name.lstrip('.')}"
        path.mkdir(exist_ok=True)
        return path


def _first_lines(path: Path, count: int) -> list[str] | None:
    """The first `count` lines of a text file, each cut at 200 characters; None for binary."""
    try:
        with path.open("rb") as handle:
            probe = handle.read(_TEXT_PROBE_BYTES)
    except OSError:
        return None
    if b"\x00" in probe:
        return None
    try:
        text = probe.decode("utf-8")
    except UnicodeDecodeError as problem:
        # a multi-byte character cut by the probe's end is still text
        if problem.start < len(probe) - 4:
            return None
        text = probe[: problem.start].decode("utf-8")
    head = text.splitlines()[:count]
    return [line if len(line) <= _LINE_LIMIT else line[: _LINE_LIMIT - 1] + "…" for line in head]


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
