"""One tool call: resolve references, call with timeout and retries, make an outcome.

Resolution (DESIGN.md): an argument that is exactly one reference (`$3`, `"${3}"`) gets
task 3's result as is, keeping its Python type; a reference inside a longer string is
replaced by task 3's observation (its text). Containers are resolved element by element.

A tool that raises or runs out of time does not raise here: the call finishes as a failed
outcome with the observation `ERROR: <type>: <message>`. Only cancellation propagates.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llmcompiler._compat import timeout as timeout_scope
from llmcompiler.exceptions import ToolTimeoutError
from llmcompiler.plan.task import REF_PATTERN, Ref
from llmcompiler.runtime.threads import ThreadRunner


@dataclass(frozen=True)
class Resolved:
    """What a finished task offers its dependents."""

    value: Any  # the tool's return value, for a lone reference
    text: str  # its observation, for a reference inside a string


def observation_of(value: Any) -> str:
    """The text the joiner (and string interpolation) sees for a tool's result."""
    return value if isinstance(value, str) else str(value)


def resolve(value: Any, results: Mapping[int, Resolved]) -> Any:
    """Replace references in an argument by results; see the module docstring."""
    if isinstance(value, Ref):
        return results[value.id].value
    if isinstance(value, str):
        if "$" not in value:
            return value
        return REF_PATTERN.sub(lambda m: results[int(m.group(1) or m.group(2))].text, value)
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve(v, results) for v in value)
    if isinstance(value, dict):
        return {resolve(k, results): resolve(v, results) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(resolve(v, results) for v in value)
    return value


def error_text(exc: BaseException) -> str:
    message = str(exc) or repr(exc)
    return f"ERROR: {type(exc).__name__}: {message}"


@dataclass
class Outcome:
    ok: bool
    value: Any
    observation: str
    attempts: int


async def call_tool(
    tool: Any,
    args: tuple,
    kwargs: dict[str, Any],
    *,
    threads: ThreadRunner,
    on_retry: Callable[[int, str], None] | None = None,
) -> Outcome:
    """Call `tool` with already-resolved arguments, honouring its timeout and retries."""
    try:
        args, kwargs = tool.bind(args, kwargs)
    except Exception as exc:  # wrong arguments will not get better by retrying
        return Outcome(False, None, error_text(exc), 1)
    attempts = 1 + max(0, tool.retries)
    failure = ""
    for attempt in range(1, attempts + 1):
        try:
            value = await _call_once(tool, args, kwargs, threads)
        except Exception as exc:
            failure = error_text(exc)
            if attempt < attempts and on_retry is not None:
                on_retry(attempt + 1, failure)
            continue
        return Outcome(True, value, observation_of(value), attempt)
    return Outcome(False, None, failure, attempts)


async def _call_once(tool: Any, args: tuple, kwargs: dict[str, Any], threads: ThreadRunner) -> Any:
    scope = timeout_scope(tool.timeout)
    try:
        async with scope:
            if tool.is_async:
                result = tool.func(*args, **kwargs)
            else:
                result = await threads.run(tool.func, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
    except TimeoutError as exc:
        if scope.expired():
            raise ToolTimeoutError(f"{tool.name} timed out after {tool.timeout:g}s") from exc
        raise
