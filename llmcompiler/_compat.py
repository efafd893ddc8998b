"""asyncio.TaskGroup and asyncio.timeout on Python 3.10 (from the `taskgroup` backport)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from asyncio import TaskGroup, Timeout, timeout
else:  # pragma: no cover - exercised only on 3.10
    from taskgroup import TaskGroup, Timeout, timeout

__all__ = ["TaskGroup", "Timeout", "timeout"]
