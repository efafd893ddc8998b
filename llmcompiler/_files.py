"""Writing files so that a reader never sees half of one: the one atomic writer.

`atomic_write(path)` hands out a temporary file beside `path`; when the block ends cleanly
the file is flushed and fsynced, given the mode `path` already has, renamed over `path`,
and the rename is made durable by fsyncing the directory. When the block raises (or is
interrupted), the temporary file is removed and `path` is untouched. The result store,
the dataset cache and the trace files all write through it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

CACHE_DIR_ENV = "LLMCOMPILER_CACHE_DIR"


def cache_dir() -> Path:
    """The folder for downloaded datasets, the web UI's database, the memory of solutions:
    ``$LLMCOMPILER_CACHE_DIR``, else ``$XDG_CACHE_HOME/llmcompiler``, else ``~/.cache/llmcompiler``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "llmcompiler"
    return Path.home() / ".cache" / "llmcompiler"


@contextmanager
def atomic_write(
    path: str | os.PathLike[str], *, binary: bool = False, suffix: str = ".tmp", mode: int | None = None
) -> Iterator[IO[Any]]:
    """A file to write `path`'s new content into (UTF-8 text, or bytes with `binary=True`).

    The parent folder must exist. OSError is raised as it comes (the callers know what
    their file is and say so); `suffix` ends the temporary name (".part" for downloads).
    `mode` gives the file exactly these permissions; without it a replaced file keeps its
    own and a new one gets 0o666 & ~umask.
    """
    target = Path(path)
    # A fresh random name and O_EXCL: never write through a file or a link left there.
    # 0o666 & ~umask, as any new file: mkstemp's 0o600 would hide a shared cache or store.
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            try:
                os.chmod(tmp, target.stat().st_mode & 0o7777)  # a replaced file keeps its permissions
            except FileNotFoundError:
                pass  # a new file: the umask decided
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable where the platform allows it (POSIX); best effort elsewhere."""
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


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` (UTF-8) through `atomic_write`, creating missing parent folders;
    mode 0644, whatever the umask: traces and pages are ordinary files to open and share."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target, mode=0o644) as handle:
        handle.write(text)
    return target
