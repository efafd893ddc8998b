"""`Tool`: what a plan's calls run, and the `tool` decorator.

A `Tool` is a name, a callable, a description for the planner and the facts the runtime
needs to run it (`is_async`, `timeout`, `retries`, `max_concurrency`). It does not run
anything itself: the executor calls ``tool.func(*a, **kw)`` with ``a, kw = tool.bind(args,
kwargs)``, awaiting the result when `is_async` is true and offloading it to a worker
thread otherwise, and applies the timeout and retry policy. The runtime relies on no more
than `llmcompiler.runtime.protocols.RuntimeTool` says, which a `Tool` is.

What the tool's parameters are, how the prompt shows them and whether a call fits them
all come from one `llmcompiler.tools.schema.Parameters`, read off the callable
(`llmcompiler.tools.signature`, `llmcompiler.tools.docstring`) or off an explicit
``args_schema``.
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, overload

from llmcompiler.exceptions import ConfigurationError
from llmcompiler.tools.docstring import parse_docstring
from llmcompiler.tools.remote import RayFunction
from llmcompiler.tools.schema import Parameters, normalise_schema
from llmcompiler.tools.signature import (
    annotation_text,
    is_async_callable,
    read_signature,
    unwrap_partial,
)

__all__ = ["RESERVED_NAMES", "Tool", "check_name", "tool"]

#: Names a tool may not take: `join()` closes a plan.
RESERVED_NAMES = frozenset({"join"})

# The plan parser recognises a call as `N. name(`, with `name` matching this.
_NAME = re.compile(r"[A-Za-z_]\w*")


_UNSET: Any = object()


class _QuickFit:
    """Whether a call fits plain parameters (positional-or-keyword, keyword-only, `*args`,
    `**kwargs`), without `inspect.Signature.bind`, which costs several µs on every task.

    It only ever says "fits" for calls Python would bind; anything else (a misfit, or a
    signature with positional-only parameters or aliased names) goes to the full check,
    which also writes the error.
    """

    __slots__ = ("index", "keyword_only", "n_positional", "required", "var_keyword", "var_positional")

    def __init__(self, params: Parameters) -> None:
        positional = [p for p in params.params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        self.index = {p.name: i for i, p in enumerate(positional)}
        self.n_positional = len(positional)
        self.keyword_only = frozenset(p.name for p in params.params if p.kind is inspect.Parameter.KEYWORD_ONLY)
        # (name, position): a required keyword-only parameter has no position (a huge one)
        self.required = tuple((p.name, self.index.get(p.name, 1 << 30)) for p in params.params if p.required)
        self.var_positional = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params.params)
        self.var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.params)

    @classmethod
    def of(cls, params: Parameters) -> _QuickFit | None:
        if params._aliases or any(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in params.params):
            return None
        return cls(params)

    def fits(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        n = len(args)
        if n > self.n_positional and not self.var_positional:
            return False
        for key in kwargs:
            at = self.index.get(key)
            if at is None:
                if key not in self.keyword_only and not self.var_keyword:
                    return False
            elif at < n:  # given positionally too
                return False
        for name, at in self.required:  # (a loop, not all(...): no generator per call)
            if at >= n and name not in kwargs:
                return False
        return True


def _default_stringify(name: str, args: Iterable[Any], kwargs: Mapping[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class Tool:
    """A function the planner can call.

    Args:
        name: the name used in plans (`name(...)`); an identifier, not `join`.
        func: what the runtime calls, as ``func(*a, **kw)`` with ``a, kw = bind(args,
            kwargs)``; sync or async.
        description: what the tool does, for the planner prompt. It may start with
            the call's signature, as descriptions written for the original LLMCompiler
            do (``"search(entity: str) -> str:\\n - ..."``); `prompt_line` then
            shows it as written.
        stringify_rule: renders the call's positional arguments for prompts
            (``rule(list_of_args) -> str``), as in the original LLMCompiler.
        args_schema: JSON schema (dict, or a pydantic model class) of the parameters;
            derived from `func`'s signature, annotations and docstring when omitted.
        timeout: seconds one attempt may take, or None for no limit.
        retries: extra attempts after a failure (0: run once).
        max_concurrency: how many calls of this tool may run at once, or None.
        ray: run the function as a Ray remote task instead of in this process
            (`llmcompiler.tools.remote`; needs the ``ray`` extra). `func` becomes a
            `RayFunction` (async) and the schema is still read from the original.
        ray_options: Ray task options for `ray=True` (``num_cpus``, ``num_gpus``,
            ``memory``, ``resources``, ``runtime_env``, ...).

    `is_async` tells the runtime whether calling `func` returns an awaitable; it is
    detected (coroutine functions, async callables, partials of either) and may be
    set by hand for a sync function that returns an awaitable.
    """

    def __init__(
        self,
        name: str,
        func: Callable[..., Any],
        description: str = "",
        stringify_rule: Callable[[list[Any]], str] | None = None,
        *,
        args_schema: Mapping[str, Any] | type | None = None,
        timeout: float | None = None,
        retries: int = 0,
        max_concurrency: int | None = None,
        ray: bool = False,
        ray_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(func, Tool):
            func = func.func
        check_name(name)
        if not callable(func):
            raise ValueError(f"tool {name!r}: func must be callable, got {type(func).__name__}")
        if not isinstance(ray, bool):
            raise ConfigurationError(f"tool {name!r}: ray must be True or False, got {ray!r}")
        if ray_options is not None and not ray:
            raise ConfigurationError(f"tool {name!r}: ray_options is given but ray=True is not")
        # What the schema, the docstring and the argument checks are read from: the
        # function itself, also when what the runtime calls is its Ray wrapper.
        source = func.original if isinstance(func, RayFunction) else func
        if ray:
            func = RayFunction(name, source, ray_options)
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ValueError(f"tool {name!r}: description must be a string, got {type(description).__name__}")
        if stringify_rule is not None and not callable(stringify_rule):
            raise ValueError(f"tool {name!r}: stringify_rule must be callable or None")
        # ConfigurationError is a ValueError: callers catching ValueError keep working.
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
                raise ConfigurationError(f"tool {name!r}: timeout must be a number of seconds or None")
            if not timeout > 0:  # also rejects NaN
                raise ConfigurationError(f"tool {name!r}: timeout must be > 0 seconds, got {timeout!r}")
            if not math.isfinite(timeout):  # "never" is spelled None
                raise ConfigurationError(
                    f"tool {name!r}: timeout must be a finite number of seconds (None for no limit), got {timeout!r}"
                )
        if isinstance(retries, bool) or not isinstance(retries, numbers.Integral) or retries < 0:
            raise ConfigurationError(f"tool {name!r}: retries must be an int >= 0, got {retries!r}")
        if max_concurrency is not None and (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, numbers.Integral)
            or max_concurrency < 1
        ):
            raise ConfigurationError(
                f"tool {name!r}: max_concurrency must be an int >= 1 or None, got {max_concurrency!r}"
            )

        self.name: str = name
        self.func: Callable[..., Any] = func
        self.description: str = description
        self.stringify_rule: Callable[[list[Any]], str] | None = stringify_rule
        self.timeout: float | None = timeout
        self.retries: int = retries
        self.max_concurrency: int | None = max_concurrency
        self.is_async: bool = is_async_callable(func)
        #: True when `func` runs the function as a Ray task (`llmcompiler.tools.remote`).
        self.ray: bool = isinstance(func, RayFunction)

        sig = read_signature(source)
        # What `bind` checks calls against: the callable's real parameters.
        self._call: Parameters
        if sig is None:  # builtins and the like: nothing known about the parameters
            self._call = Parameters.unknown()
            self._returns: str | None = None
        else:
            self._call = Parameters.from_signature(sig, parse_docstring(inspect.getdoc(unwrap_partial(source)))[1])
            self._returns = annotation_text(sig.return_annotation)
        # What the prompt shows: the same parameters, or those of an explicit schema.
        self._shown: Parameters = (
            self._call if args_schema is None else Parameters.from_schema(normalise_schema(args_schema))
        )

    @property
    def args_schema(self) -> dict[str, Any]:
        """The JSON schema of the parameters the prompt shows (built when first read)."""
        return self._shown.schema

    # -- construction from a function ------------------------------------------------

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        stringify_rule: Callable[[list[Any]], str] | None = None,
        args_schema: Mapping[str, Any] | type | None = None,
        timeout: float | None = None,
        retries: int = 0,
        max_concurrency: int | None = None,
        ray: bool = False,
        ray_options: Mapping[str, Any] | None = None,
    ) -> Tool:
        """A tool for `func`: name from its `__name__`, description from its docstring
        (without the Args/Returns sections), schema from its signature. ``ray=True`` runs
        it as a Ray remote task (see `Tool`)."""
        if isinstance(func, Tool):
            func = func.func
        if isinstance(func, RayFunction):  # name and docstring are the original's
            func = func.original
        if not callable(func):
            raise ValueError(f"cannot make a tool of a {type(func).__name__}: it is not callable")
        inner = unwrap_partial(func)
        if name is None:
            name = getattr(inner, "__name__", None) or type(inner).__name__
            if not (isinstance(name, str) and _NAME.fullmatch(name)):
                raise ValueError(f"cannot derive a tool name from {func!r} ({name!r}); pass name=...")
        if description is None:
            doc = getattr(inner, "__doc__", None)
            description, _ = parse_docstring(doc if isinstance(doc, str) else None)
        return cls(
            name,
            func,
            description,
            stringify_rule,
            args_schema=args_schema,
            timeout=timeout,
            retries=retries,
            max_concurrency=max_concurrency,
            ray=ray,
            ray_options=ray_options,
        )

    # -- what the runtime uses --------------------------------------------------------

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The ``(args, kwargs)`` to call `func` with for a planned call.

        Checks the call against `func`'s signature (when it has one) and raises
        `TypeError` naming the tool and its parameters when it does not fit.
        """
        # the runtime hands over a fresh tuple and dict already: no copies of those per task
        if type(args) is not tuple:
            args = tuple(args)
        if type(kwargs) is not dict:
            kwargs = dict(kwargs)
        fit = self.__dict__.get("_quick_fit", _UNSET)
        if fit is _UNSET or fit[0] is not self._call:
            fit = self.__dict__["_quick_fit"] = (self._call, _QuickFit.of(self._call))
        quick = fit[1]
        if quick is None or not quick.fits(args, kwargs):
            # the full check (`inspect.Signature.bind`): it raises TypeError naming what does not
            # fit, or accepts a call the quick check does not understand
            self._call.bind(self.name, args, kwargs)
        return args, kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (handy in tests); for a ray tool, a coroutine that
        runs it on Ray."""
        return self.func(*args, **kwargs)

    # -- what prompts use -------------------------------------------------------------

    @property
    def signature(self) -> str:
        """The call's signature as shown to the planner, e.g. `(query: str, k: int = 3) -> str`."""
        text = f"({self._shown.render()})"
        if self._returns:
            text += f" -> {self._returns}"
        return text

    def prompt_line(self) -> str:
        """One line for the planner prompt: `name(params) -> ret: description`.

        A description that already starts with `name(` (written for the original
        LLMCompiler prompts, signature and bullet lines included) is returned as
        written, stripped, so those prompts are reproduced exactly.
        """
        description = self.description.strip()
        if description.startswith(f"{self.name}("):
            return description
        head = f"{self.name}{self.signature}"
        description = " ".join(description.split())
        return f"{head}: {description}" if description else head

    def stringify(self, args: Iterable[Any], kwargs: Mapping[str, Any] | None = None) -> str:
        """Render a call for a prompt: `stringify_rule(args)` when the tool has one,
        else the call in Python syntax, e.g. `search('Everest', k=2)`.

        `stringify_rule` takes positional arguments only (its original contract);
        keyword arguments are moved into their positions first when the parameters
        allow it, and the default rendering is used when they do not.
        """
        args = list(args)
        kwargs = dict(kwargs or {})
        if self.stringify_rule is not None:
            positional = args if not kwargs else self._shown.as_positional(args, kwargs)
            if positional is not None:
                return str(self.stringify_rule(positional))
        return _default_stringify(self.name, args, kwargs)

    def __repr__(self) -> str:
        extras = []
        if self.ray:
            extras.append("ray")
        if self.is_async:
            extras.append("async")
        if self.timeout is not None:
            extras.append(f"timeout={self.timeout!r}")
        if self.retries:
            extras.append(f"retries={self.retries}")
        if self.max_concurrency is not None:
            extras.append(f"max_concurrency={self.max_concurrency}")
        tail = (" " + " ".join(extras)) if extras else ""
        return f"<{type(self).__name__} {self.name}{self.signature}{tail}>"


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"tool name must be a non-empty string, got {name!r}")
    if not (_NAME.fullmatch(name) and name.isidentifier()):
        raise ValueError(f"tool name {name!r} is not a valid identifier (ASCII letter or _, then letters, digits or _)")
    if name in RESERVED_NAMES:
        raise ValueError(f"tool name {name!r} is reserved: join() closes a plan")


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    name: str | None = None,
    /,
    *,
    description: str | None = None,
    stringify_rule: Callable[[list[Any]], str] | None = None,
    args_schema: Mapping[str, Any] | type | None = None,
    timeout: float | None = None,
    retries: int = 0,
    max_concurrency: int | None = None,
    ray: bool = False,
    ray_options: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    stringify_rule: Callable[[list[Any]], str] | None = None,
    args_schema: Mapping[str, Any] | type | None = None,
    timeout: float | None = None,
    retries: int = 0,
    max_concurrency: int | None = None,
    ray: bool = False,
    ray_options: Mapping[str, Any] | None = None,
) -> Any:
    """Make a `Tool` of a sync or async function.

    Usable as ``@tool``, ``@tool()``, ``@tool("name")`` and ``@tool(name=...,
    description=..., timeout=..., retries=..., max_concurrency=..., stringify_rule=...)``.
    ``ray=True`` (with ``ray_options={...}`` for ``num_cpus``, ``num_gpus``, ...) runs the
    function as a Ray remote task; see `llmcompiler.tools.remote` and docs/tools.md.
    The result is a `Tool`; calling it still calls the function.
    """
    options: dict[str, Any] = {
        "description": description,
        "stringify_rule": stringify_rule,
        "args_schema": args_schema,
        "timeout": timeout,
        "retries": retries,
        "max_concurrency": max_concurrency,
        "ray": ray,
        "ray_options": ray_options,
    }
    if isinstance(func, str):  # @tool("name")
        if name is not None:
            raise TypeError("tool(): name given twice")
        name, func = func, None
    if func is None:

        def decorate(f: Callable[..., Any]) -> Tool:
            return Tool.from_function(f, name=name, **options)

        return decorate
    return Tool.from_function(func, name=name, **options)
