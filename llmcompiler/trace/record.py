"""Saving a run's events as JSON and reading them back (`--trace FILE`, `llmcompiler trace`).

The file is `{"format": "llmcompiler-trace", "version": 1, "events": [...]}`; each event is
its dataclass fields plus `"type"`. Tool arguments and results that JSON cannot hold are
written as their `repr` (a NaN or infinite float too: the file is strict JSON). Times are the
original perf_counter readings.

Reading checks every field against its event's type before anything is built from it, so a
trace that was edited, truncated or written by something else is either a list of well-typed
events or one `TraceError` naming the file, the event (`events[7]`) and the field. Times must
be finite numbers of at most 1e15 seconds (about 30 million years: beyond that their
differences lose all precision); tool arguments nest at most 100 levels deep. What the
events *say* is not checked here — order, unknown or reused ids, cycles in dependencies:
the timeline and the renderers take any of that.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmcompiler._files import write_text_atomic
from llmcompiler._text import shorten
from llmcompiler.exceptions import TraceError
from llmcompiler.llm.base import Usage
from llmcompiler.plan.task import Ref, Task
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import RunStatus

FORMAT = "llmcompiler-trace"
VERSION = 1
MAX_TIME = 1e15
# Rendering a call walks its arguments recursively; no plan nests anywhere near this deep.
MAX_DEPTH = 100
_RUN_STATUSES = {"", *(s.value for s in RunStatus)}  # "": a trace from before run statuses
_TYPES = {cls.__name__: cls for cls in vars(ev).values() if isinstance(cls, type) and issubclass(cls, ev.Event)}


def _value(value: Any) -> Any:
    if isinstance(value, Ref):
        return {"$ref": value.id}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # strict JSON has no NaN or Infinity
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    return repr(value)


def _revive(value: Any, where: str = "value", depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise TraceError(f"{where} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            ref = value["$ref"]
            if not _is_int(ref):
                raise TraceError(f"{where}: a reference {{'$ref': ...}} must hold a task id, got {_show(ref)}")
            return Ref(ref)
        return {_clean(k): _revive(v, where, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v, where, depth + 1) for v in value]
    if isinstance(value, str):
        return _clean(value)
    return value


def _clean(text: str) -> str:
    """`text` with lone surrogates (valid in JSON's \\u escapes, not in UTF-8) replaced by U+FFFD:
    neither a file, a terminal nor matplotlib can take them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def event_to_dict(event: ev.Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        if f.metadata.get("trace", True) is False:  # a Python object for the live run only
            continue
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


def event_from_dict(data: Any) -> ev.Event:
    """One event from its JSON form; `TraceError` names the first field that is wrong."""
    if not isinstance(data, dict):
        raise TraceError(f"an event must be an object, got {_show(data)}")
    kind: type | None = _TYPES.get(data["type"]) if isinstance(data.get("type"), str) else None
    if kind is None:
        raise TraceError(f"unknown event type {data.get('type')!r}")
    hints = _hints(kind)
    fields: dict[str, Any] = {}
    for name, value in data.items():
        if name == "type":
            continue
        if name not in hints or name in _in_memory(kind):  # an in-memory field is never saved
            raise TraceError(f"{kind.__name__}: unknown field {name!r}")
        fields[name] = _typed(value, hints[name], f"{kind.__name__}.{name}")
    missing = [f.name for f in dataclasses.fields(kind) if f.name not in fields and _required(f)]
    if missing:
        raise TraceError(f"bad {kind.__name__} event: missing {', '.join(repr(m) for m in missing)}")
    if kind is ev.RunFinished and fields.get("status", "") not in _RUN_STATUSES:
        raise TraceError(f"RunFinished.status: expected one of {sorted(_RUN_STATUSES)}, got {_show(fields['status'])}")
    return kind(**fields)


def save_trace(events: Sequence[ev.Event], path: str | os.PathLike[str]) -> Path:
    """Write the events atomically (temp file + rename), as strict JSON."""
    payload = {"format": FORMAT, "version": VERSION, "events": [event_to_dict(e) for e in events]}
    return write_text_atomic(path, json.dumps(payload, allow_nan=False))


def load_trace(path: str | os.PathLike[str]) -> list[ev.Event]:
    """Read a trace file; any problem is one `TraceError` naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TraceError(f"no trace file {path}") from None
    except IsADirectoryError:
        raise TraceError(f"{path} is a directory, not a trace file") from None
    except RecursionError:
        raise TraceError(f"cannot read trace {path}: nested too deeply") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, or an int of > 4300 digits
        raise TraceError(f"cannot read trace {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("events"), list):
        raise TraceError(f"{path} is not an llmcompiler trace (expected format {FORMAT!r})")
    if data.get("version", VERSION) != VERSION:
        raise TraceError(
            f"{path}: trace version {_show(data.get('version'))}, this llmcompiler reads version {VERSION}"
        )
    events = []
    for i, item in enumerate(data["events"]):
        try:
            events.append(event_from_dict(item))
        except TraceError as exc:
            raise TraceError(f"{path}: events[{i}]: {exc}") from None
        except RecursionError:
            raise TraceError(f"{path}: events[{i}]: nested too deeply") from None
    return _with_agent(events, data["events"])


def _with_agent(events: list[ev.Event], raw: list[Any]) -> list[ev.Event]:
    """A trace from before `RunStarted.agent` names no agent: a ReAct run is told by its
    model calls (role "react"); any other is LLMCompiler's."""
    first = events[0] if events else None
    if not isinstance(first, ev.RunStarted) or "agent" in raw[0]:
        return events
    if any(isinstance(e, ev.ModelCall) and e.role == "react" for e in events):
        events[0] = dataclasses.replace(first, agent="react")
    return events


# -- checking what a file holds -----------------------------------------------------------


@functools.cache
def _in_memory(kind: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(kind) if f.metadata.get("trace", True) is False)


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    # events.py imports Task and Usage only for type checkers
    return typing.get_type_hints(kind, localns={"Task": Task, "Usage": Usage})


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return shorten(text, 40, one_line=False)


_NAMES = {float: "a number of seconds", int: "an integer", str: "a string", bool: "true or false", type(None): "null"}


def _typed(value: Any, hint: Any, where: str) -> Any:
    """`value` as the type `hint` names (float times made finite floats), or `TraceError`."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(hint):
            try:
                return _typed(value, arm, where)
            except TraceError:
                continue
        expected = " or ".join(_NAMES.get(arm, getattr(arm, "__name__", str(arm))) for arm in typing.get_args(hint))
        raise TraceError(f"{where} must be {expected}, got {_show(value)}")
    if origin is typing.Literal:
        if isinstance(value, str) and value in typing.get_args(hint):
            return value
        raise TraceError(f"{where} must be one of {', '.join(map(repr, typing.get_args(hint)))}, got {_show(value)}")
    if hint is Task:
        return _task(value, where)
    if hint is Usage:
        return _usage(value, where)
    if hint is float:
        if not (_is_int(value) or isinstance(value, float)):
            raise TraceError(f"{where} must be a number of seconds, got {_show(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or abs(number) > MAX_TIME:
            raise TraceError(f"{where} must be a finite time of at most {MAX_TIME:g} seconds, got {_show(value)}")
        return number
    ok = _is_int(value) if hint is int else (value is None if hint is type(None) else isinstance(value, hint))
    if not ok:
        raise TraceError(f"{where} must be {_NAMES.get(hint, hint)}, got {_show(value)}")
    return _clean(value) if isinstance(value, str) else value


def _task(value: Any, where: str) -> Task:
    if not isinstance(value, dict):
        raise TraceError(f"{where} must be an object, got {_show(value)}")
    for key in ("idx", "tool"):
        if key not in value:
            raise TraceError(f"{where} has no {key!r}")
    idx = _typed(value["idx"], int, f"{where}.idx")
    tool = _typed(value["tool"], str, f"{where}.tool")
    args = value.get("args", [])
    kwargs = value.get("kwargs", {})
    deps = value.get("deps", [])
    if not isinstance(args, list):
        raise TraceError(f"{where}.args must be a list, got {_show(args)}")
    if not isinstance(kwargs, dict):
        raise TraceError(f"{where}.kwargs must be an object, got {_show(kwargs)}")
    if not isinstance(deps, list) or not all(_is_int(d) for d in deps):
        raise TraceError(f"{where}.deps must be a list of task ids, got {_show(deps)}")
    return Task(
        idx,
        tool,
        tuple(_revive(args, f"{where}.args")),
        _revive(kwargs, f"{where}.kwargs"),
        tuple(deps),
        _typed(value.get("thought"), str | None, f"{where}.thought"),
        _typed(value.get("text", ""), str, f"{where}.text"),
        _typed(value.get("error"), str | None, f"{where}.error"),
    )


def _usage(value: Any, where: str) -> Usage:
    if not isinstance(value, dict):
        raise TraceError(f"{where} must be an object, got {_show(value)}")
    hints = _hints(Usage)
    fields = {}
    for name, item in value.items():
        if name not in hints:
            raise TraceError(f"{where}: unknown field {name!r}")
        fields[name] = _typed(item, hints[name], f"{where}.{name}")
    return Usage(**fields)
