"""Saving a run's events as JSON and reading them back (`--trace FILE`, `llmcompiler trace`).

The file is `{"format": "llmcompiler-trace", "version": 1, "events": [...]}`; each event is
its dataclass fields plus `"type"`. Tool arguments and results that JSON cannot hold are
written as their `repr`. Times are the original perf_counter readings.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmcompiler._files import write_text_atomic
from llmcompiler.exceptions import LLMCompilerError
from llmcompiler.llm.base import Usage
from llmcompiler.plan.task import Ref, Task
from llmcompiler.runtime import events as ev

FORMAT = "llmcompiler-trace"
VERSION = 1
_TYPES = {cls.__name__: cls for cls in vars(ev).values() if isinstance(cls, type) and issubclass(cls, ev.Event)}


class TraceError(LLMCompilerError):
    """A trace file that cannot be read."""


def _value(value: Any) -> Any:
    if isinstance(value, Ref):
        return {"$ref": value.id}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    return repr(value)


def _revive(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            return Ref(int(value["$ref"]))
        return {k: _revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v) for v in value]
    return value


def event_to_dict(event: ev.Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, Task):
            value = {
                "idx": value.idx,
                "tool": value.tool,
                "args": _value(value.args),
                "kwargs": _value(value.kwargs),
                "deps": list(value.deps),
                "thought": value.thought,
                "text": value.text,
                "error": value.error,
            }
        elif isinstance(value, Usage):
            value = dataclasses.asdict(value)
        else:
            value = _value(value)
        out[f.name] = value
    return out


def event_from_dict(data: dict[str, Any]) -> ev.Event:
    kind = _TYPES.get(str(data.get("type")))
    if kind is None:
        raise TraceError(f"unknown event type {data.get('type')!r}")
    fields = {k: v for k, v in data.items() if k != "type"}
    if "task" in fields:
        t = fields["task"]
        fields["task"] = Task(
            int(t["idx"]), t["tool"], tuple(_revive(t.get("args", []))), _revive(t.get("kwargs", {})),
            tuple(t.get("deps", ())), t.get("thought"), t.get("text", ""), t.get("error"),
        )  # fmt: skip
    if "usage" in fields:
        fields["usage"] = Usage(**fields["usage"])
    try:
        return kind(**fields)
    except TypeError as exc:
        raise TraceError(f"bad {kind.__name__} event: {exc}") from None


def save_trace(events: Sequence[ev.Event], path: str | os.PathLike[str]) -> Path:
    """Write the events atomically (temp file + rename)."""
    payload = {"format": FORMAT, "version": VERSION, "events": [event_to_dict(e) for e in events]}
    return write_text_atomic(path, json.dumps(payload))


def load_trace(path: str | os.PathLike[str]) -> list[ev.Event]:
    """Read a trace file; any problem is one `TraceError` naming the file."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise TraceError(f"no trace file {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("events"), list):
        raise TraceError(f"{path} is not an llmcompiler trace (expected format {FORMAT!r})")
    try:
        return [event_from_dict(item) for item in data["events"]]
    except TraceError as exc:
        raise TraceError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise TraceError(f"{path}: malformed event: {exc}") from None
