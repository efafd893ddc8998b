"""Tools whose function runs as a Ray remote task: ``@tool(ray=True)``.

`RayFunction` is what such a `Tool` gets as its callable: an async callable that submits
the tool's ORIGINAL function as a Ray task and awaits the task's ObjectRef on the event
loop (never `ray.get`, which would block it). The `Tool` reads its name, description,
schema and argument checks from the original function, never from this wrapper, so a
ray tool looks to the planner exactly like the same tool run locally.

Choices, and why:

- The Ray remote function is made once, when the tool is made (which also checks
  `ray_options`), and nothing is submitted until the first call: importing a suite with
  a ray tool imports Ray but does not start or join a cluster.
- Ray not initialised at a call: the call fails (``ERROR: ToolError: ... call ray.init()``)
  instead of running ``ray.init()`` for the user. A hidden ``ray.init()`` would take seconds
  inside a tool call, start a local cluster claiming every CPU when the user may have
  meant to join one (``address=``), and leave the cluster's lifetime to nobody; the
  program that owns the run owns the cluster.
- Cancellation (the tool's `timeout`, the run's, a Ctrl-C, a cancelled task) cancels the
  Ray task with ``force=True``: the worker process running it is killed. ``force=False``
  only raises KeyboardInterrupt in the worker, which a tool's ``except BaseException`` or
  a long C call can ignore, and the task would go on; killing it is the only way to be
  sure nothing keeps running. The price is a fresh worker process for the next task.
- Ray's own task retries are off (``max_retries=0``) unless `ray_options` asks for them:
  the tool's `retries=` is the retry policy, and a worker that died is a failed attempt
  it applies to.
- ``async def`` tools: Ray refuses coroutine functions as tasks, so the task body runs
  the coroutine to completion with `asyncio.run` in the worker. The tool still runs in
  the worker, not on the driver's loop.
- The result travels pickled by the task body itself (`ray.cloudpickle`), so a result
  that cannot be pickled fails with a message saying so, instead of Ray's TypeError that
  reads like one the tool raised.
- A remote exception is unwrapped (`RayTaskError.cause`): the observation is
  ``ERROR: ValueError: <message>``, the original type and message, not Ray's traceback.

The task body is a closure over the tool's function and refers to nothing in llmcompiler,
so the Ray workers need only the tool's own code (a function made a tool with ``@tool`` is
pickled by value; one in an importable module used through ``Tool.from_function`` is
imported by name in the worker, as Ray does for any task).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from llmcompiler._text import first_line, safe_str
from llmcompiler.exceptions import ConfigurationError, ToolError

__all__ = ["RayFunction", "require_ray"]

# Options a ray tool may not set: the task must return exactly one object (the pickled result).
_FORBIDDEN_OPTIONS = frozenset({"num_returns"})


def require_ray(name: str) -> ModuleType:
    """The `ray` module, or a one-line ConfigurationError naming the tool and the extra."""
    try:
        import ray
    except ImportError:
        raise ConfigurationError(f'tool {name!r}: ray=True needs Ray: pip install "llmcompiler[ray]"') from None
    return ray


def _task_body(func: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """What runs in the Ray worker: call `func`, run an awaitable it returns to completion,
    and send back ``(True, pickled result)`` or ``(False, type name, why it cannot be pickled)``.

    It refers only to the standard library and Ray (imported inside), so the worker does
    not need llmcompiler installed."""

    def run_tool(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
        import asyncio
        import inspect

        from ray import cloudpickle

        result = func(*args, **kwargs)
        if inspect.isawaitable(result):

            async def settle() -> Any:
                return await result

            # A task worker runs no event loop of its own, so a fresh one per call is safe.
            result = asyncio.run(settle())
        try:
            return (True, cloudpickle.dumps(result))
        except Exception as exc:
            return (False, type(result).__name__, f"{type(exc).__name__}: {exc}")

    return run_tool


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class RayFunction:
    """The callable of a ray tool: ``await RayFunction(...)(*args, **kwargs)`` runs
    `original` as a Ray task and returns its result (see the module docstring).

    Args:
        name: the tool's name, for messages and for the task's name in Ray.
        original: the function to run in the worker (sync or async).
        ray_options: Ray task options (``num_cpus``, ``num_gpus``, ``memory``,
            ``resources``, ``runtime_env``, ...), checked by Ray now.
    """

    def __init__(self, name: str, original: Callable[..., Any], ray_options: Mapping[str, Any] | None = None) -> None:
        self._ray = require_ray(name)
        if isinstance(original, RayFunction):
            original = original.original
        self.original: Callable[..., Any] = original
        if ray_options is not None and not isinstance(ray_options, Mapping):
            raise ConfigurationError(
                f"tool {name!r}: ray_options must be a mapping of Ray task options, got {type(ray_options).__name__}"
            )
        options = dict(ray_options or {})
        bad = sorted(_FORBIDDEN_OPTIONS.intersection(options))
        if bad:
            raise ConfigurationError(f"tool {name!r}: ray_options may not set {', '.join(bad)}")
        self.name = name
        self.ray_options: dict[str, Any] = options
        body = _task_body(original)
        # Ray names the task (and the worker's process title, `ray::NAME`) after the function.
        body.__name__ = name
        body.__qualname__ = f"<ray tool {name}>"
        try:
            self._remote = self._ray.remote(**{"max_retries": 0, "name": name, **options})(body)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"tool {name!r}: bad ray_options: {first_line(safe_str(exc))}") from None

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ray = self._ray
        if not ray.is_initialized():
            raise ToolError(
                f"{self.name} runs on Ray, but Ray is not initialised in this process: "
                "call ray.init() (or ray.init(address=...)) before the run"
            )
        try:
            ref = self._remote.remote(*args, **kwargs)
        except Exception as exc:  # arguments that cannot be pickled, a cluster that went away
            raise ToolError(
                f"{self.name}: the call cannot be sent to Ray: {type(exc).__name__}: {first_line(safe_str(exc))}"
            ) from None
        try:
            reply = await ref
        except asyncio.CancelledError:
            # Kill the worker: see the module docstring for why not force=False. A cluster
            # already shut down has no task left to stop, hence the suppress.
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True, recursive=True)
            raise
        except ray.exceptions.RayTaskError as exc:
            raise self._unwrapped(exc) from None
        except ray.exceptions.WorkerCrashedError:
            raise ToolError(
                f"the Ray worker running {self.name} died before it finished (crashed or was killed)"
            ) from None
        except ray.exceptions.RayError as exc:
            raise self._ray_failure(exc) from None
        if reply[0]:
            try:
                return ray.cloudpickle.loads(reply[1])
            except Exception as exc:
                raise ToolError(
                    f"{self.name}'s result came back from Ray but cannot be unpickled here: "
                    f"{type(exc).__name__}: {first_line(safe_str(exc))}"
                ) from None
        _, what, why = reply
        raise ToolError(
            f"{self.name} returned {_article(what)} {what}, which cannot be sent back from the Ray worker "
            f"(results must be picklable): {why}"
        )

    def _unwrapped(self, exc: Any) -> BaseException:
        """The exception the remote function raised, as itself (its type and message)."""
        cause = getattr(exc, "cause", None)
        if isinstance(cause, Exception) and not isinstance(cause, self._ray.exceptions.RayError):
            cause.__traceback__ = None  # the traceback is the worker's, rebuilt: no use here
            return cause
        if isinstance(cause, self._ray.exceptions.RayError):
            return self._ray_failure(cause)
        # A BaseException (KeyboardInterrupt, ...) must not escape as itself from a tool call.
        what = type(cause).__name__ if cause is not None else "an error"
        return ToolError(f"{self.name} raised {what} in the Ray worker: {first_line(safe_str(cause))}")

    def _ray_failure(self, exc: BaseException) -> ToolError:
        """Ray's own failures (out of memory, an exception that cannot be rebuilt here, a
        task cancelled by someone else) as one line naming the tool."""
        text = safe_str(exc)
        if isinstance(exc, self._ray.exceptions.UnserializableException) or "isn't serializable" in text:
            # The message ends with the worker's traceback, whose last line is `Type: message`.
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            last = lines[-1] if lines else ""
            return ToolError(f"{self.name} raised an exception that cannot be sent back from the Ray worker: {last}")
        return ToolError(f"{self.name} failed on Ray: {type(exc).__name__}: {first_line(text)}")

    def __repr__(self) -> str:
        return f"<RayFunction {self.name} {self.ray_options!r}>"

