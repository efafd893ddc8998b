"""One tool call: resolve references, call with timeout and retries, make an outcome.

Resolution (DESIGN.md): an argument that is exactly one reference (`$3`, `"${3}"`) gets
task 3's result as is, keeping its Python type; a reference inside a longer string is
replaced by task 3's observation (its text). Containers are resolved element by element.

A tool that raises or runs out of time does not raise here: the call finishes as a failed
outcome with the observation `ERROR: <type>: <message>`. Only cancellation of the calling
task propagates. What a hostile tool can do, and what becomes of it:

- raise `asyncio.CancelledError` while nothing cancelled it: a failed outcome
  (`ERROR: CancelledError: ...`), so a run is not mistaken for cancelled, nor left waiting;
- return a value that cannot be made text (`__str__` raises, an int past Python's digit
  limit for str()): a failed outcome, `ERROR: <type>: the result (...) cannot be shown as
  text: ...`, not retried; the value itself is not kept;
- raise an exception whose message cannot be made: its type is reported without it;
- run past its timeout: `ToolTimeoutError`; a sync tool's thread cannot be stopped, so the
  message also says that it is still running (see `runtime.threads`); an async tool that
  catches the cancellation and returns anyway is failed all the same, saying it ignored it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CoroutineType
from typing import Any, Protocol

from llmcompiler._compat import timeout as timeout_scope
from llmcompiler._text import safe_repr, safe_str
from llmcompiler.exceptions import ToolTimeoutError
from llmcompiler.plan.task import REF_PATTERN, Ref
from llmcompiler.runtime.protocols import RuntimeTool
from llmcompiler.runtime.threads import ABANDONED, ThreadCall, ThreadRunner


@dataclass(frozen=True)
class Resolved:
    """What a finished task offers its dependents."""

    value: Any  # the tool's return value, for a lone reference
    text: str  # its observation, for a reference inside a string


def observation_of(value: Any) -> str:
    """The text the joiner (and string interpolation) sees for a tool's result."""
    return value if isinstance(value, str) else str(value)


class HasResult(Protocol):
    """A finished task as references see it: `Resolved`, or the ledger's `TaskRecord`."""

    @property
    def value(self) -> Any: ...

    @property
    def text(self) -> str: ...


def resolve(value: Any, results: Mapping[int, HasResult]) -> Any:
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
        return resolve_args(value, results)
    if isinstance(value, dict):
        return {resolve(k, results): resolve(v, results) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(resolve(v, results) for v in value)
    return value


# values `resolve` returns as they are (no references can be inside them)
_PLAIN = frozenset({int, float, bool, type(None), bytes})


def resolve_args(args: tuple, results: Mapping[int, HasResult]) -> tuple:
    """`resolve` of a call's positional arguments (a tuple), with the common items -- a lone
    reference, a number, a string without `$` -- handled here without a call each."""
    if not args:  # (() is shared as is)
        return args
    out = []
    for value in args:
        kind = type(value)
        if kind is Ref:
            out.append(results[value.id].value)
        elif kind in _PLAIN or (kind is str and "$" not in value):
            out.append(value)
        else:
            out.append(resolve(value, results))
    return tuple(out)


def error_text(exc: BaseException, *, about: str = "") -> str:
    """`ERROR: <type>: <about><message>`, whatever the exception's `__str__` does."""
    return f"ERROR: {type(exc).__name__}: {about}{safe_str(exc) or safe_repr(exc)}"


def _unshowable(value: Any, problem: Exception) -> str:
    what = type(value).__name__
    if isinstance(value, int):  # str() refuses ints past sys.get_int_max_str_digits()
        what += f" of about {int(value.bit_length() * 0.30103) + 1} digits"
    article = "an" if what[:1].lower() in "aeiou" else "a"
    return (
        f"ERROR: {type(problem).__name__}: the result ({article} {what}) cannot be shown as text: {safe_str(problem)}"
    )


def _cancel_requested() -> bool:
    """Whether the running task was really asked to stop (as opposed to a tool raising
    CancelledError by itself). Without `Task.cancelling` (3.10 without the backport's task
    class) it cannot be told apart, and propagating is the safe answer."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


@dataclass(slots=True)
class Outcome:
    ok: bool
    value: Any
    observation: str
    attempts: int


async def call_tool(
    tool: RuntimeTool,
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
    # an async tool without a timeout (most, and every task of a large plan) is called right
    # here: no timeout scope to enter, and one coroutine less per call
    direct = tool.timeout is None and tool.is_async
    for attempt in range(1, attempts + 1):
        try:
            if direct:
                value = tool.func(*args, **kwargs)
                if type(value) is CoroutineType or inspect.isawaitable(value):
                    value = await value
            else:
                value = await _call_once(tool, args, kwargs, threads)
        except BaseException as exc:
            reported = failure_of(tool, exc)
            if reported is None:
                raise
            failure = reported
        else:
            observation, ok = observe(value)
            return Outcome(ok, value if ok else None, observation, attempt)
        if attempt < attempts and on_retry is not None:
            on_retry(attempt + 1, failure)
    return Outcome(False, None, failure, attempts)


def failure_of(tool: RuntimeTool, exc: BaseException) -> str | None:
    """The observation of a call of `tool` that raised `exc`; None where `exc` must go on
    (a real cancellation of the calling task, KeyboardInterrupt, GeneratorExit)."""
    if isinstance(exc, asyncio.CancelledError):
        if _cancel_requested():
            return None
        failure = f"ERROR: CancelledError: {tool.name} raised CancelledError although nothing cancelled it"
        detail = safe_str(exc)
        return f"{failure} ({detail})" if detail else failure
    if isinstance(exc, (Exception, SystemExit)):  # a tool's sys.exit() ends the call, not the program
        return error_text(exc)
    return None


def observe(value: Any) -> tuple[str, bool]:
    """A tool's return value as its observation, and True; or, for a value that cannot be
    made text, the error that says so, and False (the same value would fail again: no retry)."""
    try:
        return (value if isinstance(value, str) else str(value)), True  # (`observation_of`, inline)
    except Exception as problem:
        return _unshowable(value, problem), False


async def _call_once(tool: RuntimeTool, args: tuple, kwargs: dict[str, Any], threads: ThreadRunner) -> Any:
    if tool.timeout is None:  # a sync tool (`call_tool` calls an async one itself): no scope
        result = await threads.submit(tool.func, *args, **kwargs).result()
        if inspect.isawaitable(result):
            result = await result
        return result
    scope = timeout_scope(tool.timeout)
    call: ThreadCall | None = None
    try:
        async with scope:
            if tool.is_async:
                result = tool.func(*args, **kwargs)
            else:
                call = threads.submit(tool.func, *args, **kwargs)
                result = await call.result()
            if inspect.isawaitable(result):
                result = await result
    except TimeoutError as exc:
        if scope.expired():
            raise ToolTimeoutError(_timed_out(tool, call, threads)) from exc
        raise
    if scope.expired():  # it caught the cancellation and returned late: still a timeout
        raise ToolTimeoutError(
            f"{tool.name} timed out after {tool.timeout:g}s and ignored the cancellation: it went on and returned "
            f"{asyncio.get_running_loop().time() - scope.when():.3g}s later"
        )
    return result


def _timed_out(tool: RuntimeTool, call: ThreadCall | None, threads: ThreadRunner) -> str:
    message = f"{tool.name} timed out after {tool.timeout:g}s"
    if call is not None and call.state == ABANDONED:
        message += (
            "; it is a sync tool and its thread is still running (a thread cannot be stopped; "
            f"{threads.abandoned} such thread(s) now)"
        )
    return message
