"""A session's workspace folder: uploads into it, downloads out of it, never outside it.

Upload names are sanitised to a base name (no folders, no `..`, no leading dots, no control
characters); a file is streamed into a hidden temporary file of the workspace and moved into
place only when it is whole and within the size limit, so a refused or broken upload leaves
nothing behind. Downloads go through `Workspace.resolve`, which refuses any path leaving it.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from llmcompiler.code.workspace import Workspace
from llmcompiler.exceptions import WorkspaceError

__all__ = ["Upload", "clean_name", "download_path", "save_upload", "session_workspace"]

_MAX_NAME = 200
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Upload:
    """One uploaded file: saved as `name`, `size` bytes; or refused (`too_large`), nothing kept."""

    name: str
    size: int
    too_large: bool = False


def session_workspace(root: Path, session: str) -> Workspace:
    """The workspace of `session` under `root` (created on first use)."""
    if not _SESSION_ID.fullmatch(session):  # ids are ours, but a folder name is built from one
        raise WorkspaceError(f"not a session id: {session!r}")
    return Workspace(root / session)


def clean_name(name: str) -> str:
    """The base name an upload is saved under; WorkspaceError when nothing usable is left."""
    # some clients (aiohttp's among them) percent-encode the name: `..%2Fx` is `../x`
    base = re.split(r"[/\\]", unquote(name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = base.strip().lstrip(".").strip()
    if not base or base in (".", ".."):
        raise WorkspaceError(f"not a usable file name: {name!r}")
    if len(base) > _MAX_NAME:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: _MAX_NAME - len(suffix) - 1] + dot + suffix) if dot and len(suffix) < 16 else base[:_MAX_NAME]
    return base


async def save_upload(workspace: Workspace, name: str, chunks: AsyncIterator[bytes], *, limit: int) -> Upload:
    """Stream `chunks` into the workspace as `clean_name(name)`.

    Reading stops as soon as the limit is passed (`too_large`); the partial file is removed.
    """
    final = clean_name(name)
    target = workspace.resolve(final)
    if target.is_dir():
        raise WorkspaceError(f"the workspace has a folder named {final}")
    handle, temporary = tempfile.mkstemp(prefix=".upload-", dir=workspace.root)
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    break
                await asyncio.to_thread(out.write, chunk)
        if size > limit:
            Path(temporary).unlink(missing_ok=True)
            return Upload(final, size, too_large=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Upload(final, size)


def download_path(workspace: Workspace, name: str) -> Path | None:
    """The file `name` of the workspace, or None when it is not a visible file inside it."""
    try:
        path = workspace.resolve(name)
    except WorkspaceError:
        return None
    relative = path.relative_to(workspace.root)
    if not relative.parts or relative.parts[0].startswith(".") or not path.is_file():
        return None
    return path
