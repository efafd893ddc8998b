"""Tools: what a plan's calls run.

A `Tool` is a name, a callable, a description for the planner and the facts the runtime
needs to run it (`is_async`, `timeout`, `retries`, `max_concurrency`). It does not run
anything itself: the executor calls ``tool.func(*a, **kw)`` with ``a, kw = tool.bind(args,
kwargs)``, awaiting the result when `is_async` is true and offloading it to a worker
thread otherwise, and applies the timeout and retry policy.

Three ways to get one:

- ``Tool(name, func, description, stringify_rule=None)``: the original LLMCompiler
  signature, plus keyword-only options;
- the `tool` decorator on a sync or async function (name, description and argument
  schema come from the function, its docstring and its annotations);
- `as_tool` / `as_tools` on a `Tool`, a plain callable or a langchain-core `BaseTool`.

langchain-core and pydantic are imported only when they are needed, so importing this
module is cheap.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import numbers
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from llmcompiler.exceptions import ConfigurationError

__all__ = ["Tool", "LangChainTool", "tool", "as_tool", "as_tools", "RESERVED_NAMES"]

#: Names a tool may not take: `join()` closes a plan.
RESERVED_NAMES = frozenset({"join"})

# The plan parser recognises a call as `N. name(`, with `name` matching this.
_NAME = re.compile(r"[A-Za-z_]\w*")

_EMPTY = inspect.Parameter.empty
_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD

F = TypeVar("F", bound=Callable[..., Any])

_UnionType = getattr(types, "UnionType", None)  # `int | None`


# --------------------------------------------------------------------------------------
# Parameters: one description shared by rendering (prompt lines, error messages) and
# argument checking, whether it came from a Python signature or from a JSON schema.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    # A docstring of its own: without one, Python 3.10's dataclass builds it from
    # inspect.signature, which reads the `inspect.Parameter.empty` default as "no default"
    # and fails with "non-default argument follows default argument".
    """One parameter of a tool."""

    name: str
    kind: Any  # an inspect.Parameter kind
    annotation: str | None = None  # rendered type, None when unconstrained
    default: Any = _EMPTY

    @property
    def required(self) -> bool:
        return self.default is _EMPTY and self.kind not in (_VAR_POSITIONAL, _VAR_KEYWORD)

    def render(self) -> str:
        prefix = "*" if self.kind is _VAR_POSITIONAL else "**" if self.kind is _VAR_KEYWORD else ""
        text = prefix + self.name
        if self.annotation:
            text += f": {self.annotation}"
        if self.default is not _EMPTY:
            text += (" = " if self.annotation else "=") + repr(self.default)
        return text


def _render_params(params: list[_Param]) -> str:
    """Parameters as in a `def` line, with `/` and `*` markers where Python needs them."""
    parts: list[str] = []
    star_written = False
    for i, p in enumerate(params):
        if p.kind is _KEYWORD_ONLY and not star_written:
            parts.append("*")
            star_written = True
        if p.kind is _VAR_POSITIONAL:
            star_written = True
        parts.append(p.render())
        nxt = params[i + 1] if i + 1 < len(params) else None
        if p.kind is _POSITIONAL_ONLY and (nxt is None or nxt.kind is not _POSITIONAL_ONLY):
            parts.append("/")
    return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _match_arguments(
    tool_name: str, params: list[_Param], args: tuple, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Check a call against `params` the way Python would, with messages for a planner.

    Returns the arguments by parameter name, in parameter order (extra positional
    arguments under the `*args` name as a tuple, extra keywords under `**kwargs`).
    """
    shown = _render_params(params) or "no arguments"

    def fail(problem: str) -> TypeError:
        return TypeError(f"{tool_name}() takes {shown}; {problem}")

    positional = [p for p in params if p.kind in (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD)]
    var_pos = next((p for p in params if p.kind is _VAR_POSITIONAL), None)
    var_kw = next((p for p in params if p.kind is _VAR_KEYWORD), None)
    by_name = {p.name: p for p in params if p.kind not in (_VAR_POSITIONAL, _VAR_KEYWORD)}

    if len(args) > len(positional) and var_pos is None:
        raise fail(f"got {_plural(len(args), 'positional argument')}")
    given: dict[str, Any] = {p.name: a for p, a in zip(positional, args)}
    extra_kw: dict[str, Any] = {}
    for key, value in kwargs.items():
        param = by_name.get(key)
        if param is None or param.kind is _POSITIONAL_ONLY:
            if var_kw is not None:
                extra_kw[key] = value
                continue
            if param is not None:
                raise fail(f"got positional-only argument {key!r} as a keyword argument")
            raise fail(f"got an unexpected keyword argument {key!r}")
        if key in given:
            raise fail(f"got multiple values for argument {key!r}")
        given[key] = value
    missing = [p.name for p in params if p.required and p.name not in given]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise fail(f"missing required argument{'s' if len(missing) > 1 else ''} {names}")

    result = {p.name: given[p.name] for p in params if p.name in given}
    if var_pos is not None and len(args) > len(positional):
        result[var_pos.name] = tuple(args[len(positional):])
    if var_kw is not None and extra_kw:
        result[var_kw.name] = extra_kw
    return result


# --------------------------------------------------------------------------------------
# Reading Python callables: signature, annotations, docstring.
# --------------------------------------------------------------------------------------


def _unwrap_partial(func: Any) -> Any:
    while isinstance(func, functools.partial):
        func = func.func
    return func


def _is_async_callable(func: Any) -> bool:
    """True when calling `func` returns an awaitable we can tell about in advance."""
    if inspect.iscoroutinefunction(func):  # functions, methods, partials of them
        return True
    inner = _unwrap_partial(func)
    if inspect.iscoroutinefunction(inner):
        return True
    if inspect.isfunction(inner) or inspect.ismethod(inner) or inspect.isclass(inner):
        return False
    call = getattr(inner, "__call__", None)  # an instance with `async def __call__`
    return call is not None and inspect.iscoroutinefunction(call)


def _signature(func: Any) -> inspect.Signature | None:
    """`func`'s signature with string annotations evaluated one by one where they can be
    (an annotation that does not evaluate stays the string as written); None if unknown."""
    try:
        sig = inspect.signature(func)
    except (ValueError, TypeError):  # builtins without a signature, odd callables
        return None
    annotations = [p.annotation for p in sig.parameters.values()] + [sig.return_annotation]
    if not any(isinstance(a, str) for a in annotations):
        return sig
    namespace = _globals_of(func)
    params = [p.replace(annotation=_resolve(p.annotation, namespace)) for p in sig.parameters.values()]
    return sig.replace(parameters=params, return_annotation=_resolve(sig.return_annotation, namespace))


def _globals_of(func: Any) -> dict[str, Any]:
    inner = _unwrap_partial(func)
    inner = getattr(inner, "__func__", inner)  # bound methods
    if not (inspect.isfunction(inner) or hasattr(inner, "__wrapped__")):
        inner = getattr(type(inner), "__call__", inner)  # callable objects
    try:
        inner = inspect.unwrap(inner)
    except ValueError:  # pragma: no cover - a cycle of __wrapped__
        pass
    namespace = getattr(inner, "__globals__", None)
    return namespace if isinstance(namespace, dict) else {}


def _resolve(annotation: Any, namespace: dict[str, Any]) -> Any:
    # Twice: `x: "int"` under `from __future__ import annotations` is the string '"int"'.
    for _ in range(2):
        if not isinstance(annotation, str):
            return annotation
        try:
            annotation = eval(annotation, namespace)  # noqa: S307 - as typing.get_type_hints
        except Exception:
            return annotation
    return annotation


def _strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """`Annotated[T, m1, m2]` -> (T, [m1, m2]); anything else -> (annotation, [])."""
    metadata = getattr(annotation, "__metadata__", None)
    origin = getattr(annotation, "__origin__", None)
    if metadata is not None and origin is not None:
        return origin, list(metadata)
    return annotation, []


def _annotation_text(annotation: Any) -> str | None:
    """How a parameter's type is shown to the planner: `list[str]`, `int | None`, `Point`."""
    if annotation is _EMPTY:
        return None
    return _type_text(annotation)


def _type_text(t: Any) -> str:
    if isinstance(t, str):  # an annotation that could not be evaluated: as written
        return t
    if t is None or t is type(None):
        return "None"
    if t is Ellipsis:
        return "..."
    if isinstance(t, (list, tuple)):  # Callable[[A, B], R]'s parameter list
        return "[" + ", ".join(_type_text(a) for a in t) + "]"
    t, _ = _strip_annotated(t)
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Union or (_UnionType is not None and origin is _UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is not None:
        head = _type_text(origin)
        return f"{head}[{', '.join(_type_text(a) for a in args)}]" if args else head
    name = getattr(t, "__name__", None)
    if isinstance(t, (type, typing.TypeVar)) and isinstance(name, str):
        return name
    text = repr(t)
    return re.sub(r"\b(?:typing_extensions|typing|collections\.abc|builtins)\.", "", text)


_SECTION = re.compile(r"^([A-Za-z][A-Za-z ]*?)\s*:\s*$")
# Sections that describe the call's mechanics rather than what the tool is for.
_DROPPED_SECTIONS = {
    "args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
    "kwargs", "other parameters", "returns", "return", "yields", "yield", "raises",
}
_ARG_SECTIONS = {
    "args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
    "kwargs", "other parameters",
}
_ARG_LINE = re.compile(r"^\s*(\*{0,2}[A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {argument: description}).

    The description is everything outside the Args/Returns/Yields/Raises sections
    (paragraph breaks kept); argument descriptions have their continuation lines joined.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    kept: list[str] = []
    arg_docs: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _SECTION.match(line)
        section = header.group(1).lower() if header else None
        if section not in _DROPPED_SECTIONS:
            kept.append(line)
            i += 1
            continue
        base = _indent(line)
        i += 1
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
            body.append(lines[i])
            i += 1
        if section in _ARG_SECTIONS:
            arg_docs.update(_parse_arg_section(body))
    description = "\n".join(kept).strip()
    description = re.sub(r"\n\s*\n(\s*\n)+", "\n\n", description)
    return description, arg_docs


def _parse_arg_section(body: list[str]) -> dict[str, str]:
    entries: dict[str, list[str]] = {}
    filled = [ln for ln in body if ln.strip()]
    if not filled:
        return {}
    entry_indent = min(_indent(ln) for ln in filled)
    current: list[str] | None = None
    for line in filled:
        match = _ARG_LINE.match(line) if _indent(line) == entry_indent else None
        if match:
            name = match.group(1).lstrip("*")
            current = entries.setdefault(name, [])
            if match.group(2).strip():
                current.append(match.group(2).strip())
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(parts) for name, parts in entries.items() if parts}


def _json_default(value: Any) -> tuple[bool, Any]:
    try:
        return True, json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return False, None


def _annotation_schema(annotation: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """JSON schema of one parameter's annotation; {} (anything) when pydantic can't say."""
    if annotation is _EMPTY or isinstance(annotation, str):
        return {}
    from pydantic import TypeAdapter  # lazy: pydantic is only needed to build schemas

    try:
        schema = TypeAdapter(annotation).json_schema(ref_template="#/$defs/{model}")
    except Exception:  # arbitrary classes, callables, ... have no JSON schema
        return {}
    defs.update(schema.pop("$defs", {}))
    return schema


def _params_from_signature(sig: inspect.Signature) -> list[_Param]:
    return [
        _Param(p.name, p.kind, _annotation_text(p.annotation), p.default)
        for p in sig.parameters.values()
    ]


def _schema_from_signature(sig: inspect.Signature, arg_docs: Mapping[str, str]) -> dict[str, Any]:
    """A JSON-schema object describing the parameters of `sig`.

    `*args` and `**kwargs` have no JSON-schema equivalent; they are noted as
    ``"x-var-positional": name`` and ``"x-var-keyword": name`` (the latter also sets
    ``additionalProperties``).
    """
    properties: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    for p in sig.parameters.values():
        if p.kind is _VAR_POSITIONAL:
            schema["x-var-positional"] = p.name
            continue
        if p.kind is _VAR_KEYWORD:
            schema["x-var-keyword"] = p.name
            continue
        prop = _annotation_schema(p.annotation, defs)
        _, metadata = _strip_annotated(p.annotation)
        note = next((m for m in metadata if isinstance(m, str)), None)
        if p.default is _EMPTY:
            required.append(p.name)
        else:
            ok, value = _json_default(p.default)
            if ok:
                prop["default"] = value
        description = arg_docs.get(p.name) or note
        if description and "description" not in prop:
            prop["description"] = description
        properties[p.name] = prop
    schema["additionalProperties"] = "x-var-keyword" in schema
    if defs:
        schema["$defs"] = defs
    return schema


# --------------------------------------------------------------------------------------
# Reading JSON schemas (explicit args_schema, langchain tools).
# --------------------------------------------------------------------------------------

_JSON_TYPES = {
    "string": "str", "integer": "int", "number": "float", "boolean": "bool",
    "null": "None", "array": "list", "object": "dict",
}


def _schema_type_text(prop: Mapping[str, Any]) -> str | None:
    """A Python-looking type for a JSON-schema property, e.g. `list[str] | None`."""
    if not isinstance(prop, Mapping):
        return None
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "enum" in prop:
        return "Literal[" + ", ".join(repr(v) for v in prop["enum"]) + "]"
    if "const" in prop:
        return f"Literal[{prop['const']!r}]"
    for key in ("anyOf", "oneOf"):
        if key in prop:
            parts = [_schema_type_text(p) or "Any" for p in prop[key]]
            return " | ".join(dict.fromkeys(parts))
    if "allOf" in prop and len(prop["allOf"]) == 1:
        return _schema_type_text(prop["allOf"][0])
    kind = prop.get("type")
    if isinstance(kind, list):
        return " | ".join(_JSON_TYPES.get(k, str(k)) for k in kind)
    if kind == "array":
        items = prop.get("items")
        if isinstance(items, Mapping) and (inner := _schema_type_text(items)):
            return f"list[{inner}]"
        if isinstance(prefix := prop.get("prefixItems"), list):
            return "tuple[" + ", ".join(_schema_type_text(p) or "Any" for p in prefix) + "]"
        return "list"
    if kind == "object":
        extra = prop.get("additionalProperties")
        if isinstance(extra, Mapping) and (inner := _schema_type_text(extra)):
            return f"dict[str, {inner}]"
        return "dict"
    if isinstance(kind, str):
        return _JSON_TYPES.get(kind, kind)
    return None


def _params_from_schema(schema: Mapping[str, Any]) -> list[_Param]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    params = []
    for name, prop in properties.items():
        if name in required:
            default = _EMPTY
        elif isinstance(prop, Mapping) and "default" in prop:
            default = prop["default"]
        else:
            default = None  # optional without a stated default
        params.append(_Param(name, _POSITIONAL_OR_KEYWORD, _schema_type_text(prop), default))
    if schema.get("x-var-positional"):
        params.append(_Param(str(schema["x-var-positional"]), _VAR_POSITIONAL))
    if schema.get("x-var-keyword"):
        params.append(_Param(str(schema["x-var-keyword"]), _VAR_KEYWORD))
    return params


def _normalise_schema(args_schema: Any) -> dict[str, Any]:
    if isinstance(args_schema, Mapping):
        schema = dict(args_schema)
    elif isinstance(args_schema, type) and hasattr(args_schema, "model_json_schema"):
        schema = args_schema.model_json_schema()  # a pydantic model class
    else:
        raise ValueError(
            "args_schema must be a JSON-schema dict or a pydantic model class, "
            f"not {type(args_schema).__name__}"
        )
    if not isinstance(schema.get("properties", {}), Mapping):
        raise ValueError("args_schema['properties'] must be a dict of parameter schemas")
    return schema


# --------------------------------------------------------------------------------------
# Tool
# --------------------------------------------------------------------------------------


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

    `is_async` tells the runtime whether calling `func` returns an awaitable; it is
    detected (coroutine functions, async callables, partials of either) and may be
    set by hand for a sync function that returns an awaitable.
    """

    def __init__(
        self,
        name: str,
        func: Callable[..., Any],
        description: str = "",
        stringify_rule: Callable[[list], str] | None = None,
        *,
        args_schema: Mapping[str, Any] | type | None = None,
        timeout: float | None = None,
        retries: int = 0,
        max_concurrency: int | None = None,
    ) -> None:
        if isinstance(func, Tool):
            func = func.func
        _check_name(name)
        if not callable(func):
            raise ValueError(f"tool {name!r}: func must be callable, got {type(func).__name__}")
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ValueError(
                f"tool {name!r}: description must be a string, got {type(description).__name__}"
            )
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
                f"tool {name!r}: max_concurrency must be an int >= 1 or None, "
                f"got {max_concurrency!r}"
            )

        self.name: str = name
        self.func: Callable[..., Any] = func
        self.description: str = description
        self.stringify_rule = stringify_rule
        self.timeout: float | None = timeout
        self.retries: int = retries
        self.max_concurrency: int | None = max_concurrency
        self.is_async: bool = _is_async_callable(func)

        sig = _signature(func)
        # What `bind` checks calls against: the callable's real parameters.
        self._call_params: list[_Param] | None = (
            _params_from_signature(sig) if sig is not None else None
        )
        self._returns: str | None = (
            _annotation_text(sig.return_annotation) if sig is not None else None
        )
        if args_schema is not None:
            self.args_schema: dict[str, Any] = _normalise_schema(args_schema)
            self._shown_params = _params_from_schema(self.args_schema)
        elif sig is not None:
            _, arg_docs = _parse_docstring(inspect.getdoc(_unwrap_partial(func)))
            self.args_schema = _schema_from_signature(sig, arg_docs)
            self._shown_params = self._call_params or []
        else:  # builtins and the like: nothing known about the parameters
            self.args_schema = {"type": "object", "properties": {}, "x-var-positional": "args",
                                "x-var-keyword": "kwargs", "additionalProperties": True}
            self._shown_params = [_Param("args", _VAR_POSITIONAL), _Param("kwargs", _VAR_KEYWORD)]

    # -- construction from a function ------------------------------------------------

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        stringify_rule: Callable[[list], str] | None = None,
        args_schema: Mapping[str, Any] | type | None = None,
        timeout: float | None = None,
        retries: int = 0,
        max_concurrency: int | None = None,
    ) -> Tool:
        """A tool for `func`: name from its `__name__`, description from its docstring
        (without the Args/Returns sections), schema from its signature."""
        if isinstance(func, Tool):
            func = func.func
        if not callable(func):
            raise ValueError(f"cannot make a tool of a {type(func).__name__}: it is not callable")
        inner = _unwrap_partial(func)
        if name is None:
            name = getattr(inner, "__name__", None) or type(inner).__name__
            if not (isinstance(name, str) and _NAME.fullmatch(name)):
                raise ValueError(f"cannot derive a tool name from {func!r} ({name!r}); pass name=...")
        if description is None:
            doc = getattr(inner, "__doc__", None)
            description, _ = _parse_docstring(doc if isinstance(doc, str) else None)
        return cls(
            name,
            func,
            description,
            stringify_rule,
            args_schema=args_schema,
            timeout=timeout,
            retries=retries,
            max_concurrency=max_concurrency,
        )

    # -- what the runtime uses --------------------------------------------------------

    def bind(self, args: tuple, kwargs: Mapping[str, Any]) -> tuple[tuple, dict[str, Any]]:
        """The ``(args, kwargs)`` to call `func` with for a planned call.

        Checks the call against `func`'s signature (when it has one) and raises
        `TypeError` naming the tool and its parameters when it does not fit.
        """
        args, kwargs = tuple(args), dict(kwargs)
        if self._call_params is not None:
            _match_arguments(self.name, self._call_params, args, kwargs)
        return args, kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (handy in tests)."""
        return self.func(*args, **kwargs)

    # -- what prompts use -------------------------------------------------------------

    @property
    def signature(self) -> str:
        """The call's signature as shown to the planner, e.g. `(query: str, k: int = 3) -> str`."""
        text = f"({_render_params(self._shown_params)})"
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
            positional = args if not kwargs else self._as_positional(args, kwargs)
            if positional is not None:
                return str(self.stringify_rule(positional))
        return _default_stringify(self.name, args, kwargs)

    def _as_positional(self, args: list, kwargs: dict[str, Any]) -> list | None:
        params = self._shown_params
        order = [p for p in params if p.kind in (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in order]
        if any(k not in names[len(args):] for k in kwargs):
            return None
        last = max(names.index(k) for k in kwargs)
        out = list(args)
        for p in order[len(args): last + 1]:
            if p.name in kwargs:
                out.append(kwargs[p.name])
            elif p.default is not _EMPTY:
                out.append(p.default)
            else:
                return None
        return out

    def __repr__(self) -> str:
        extras = []
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


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"tool name must be a non-empty string, got {name!r}")
    if not (_NAME.fullmatch(name) and name.isidentifier()):
        raise ValueError(
            f"tool name {name!r} is not a valid identifier "
            "(ASCII letter or _, then letters, digits or _)"
        )
    if name in RESERVED_NAMES:
        raise ValueError(f"tool name {name!r} is reserved: join() closes a plan")


# --------------------------------------------------------------------------------------
# The decorator
# --------------------------------------------------------------------------------------


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    name: str | None = None,
    /,
    *,
    description: str | None = None,
    stringify_rule: Callable[[list], str] | None = None,
    args_schema: Mapping[str, Any] | type | None = None,
    timeout: float | None = None,
    retries: int = 0,
    max_concurrency: int | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    stringify_rule: Callable[[list], str] | None = None,
    args_schema: Mapping[str, Any] | type | None = None,
    timeout: float | None = None,
    retries: int = 0,
    max_concurrency: int | None = None,
) -> Any:
    """Make a `Tool` of a sync or async function.

    Usable as ``@tool``, ``@tool()``, ``@tool("name")`` and ``@tool(name=...,
    description=..., timeout=..., retries=..., max_concurrency=..., stringify_rule=...)``.
    The result is a `Tool`; calling it still calls the function.
    """
    options = dict(
        description=description,
        stringify_rule=stringify_rule,
        args_schema=args_schema,
        timeout=timeout,
        retries=retries,
        max_concurrency=max_concurrency,
    )
    if isinstance(func, str):  # @tool("name")
        if name is not None:
            raise TypeError("tool(): name given twice")
        name, func = func, None
    if func is None:

        def decorate(f: Callable[..., Any]) -> Tool:
            return Tool.from_function(f, name=name, **options)

        return decorate
    return Tool.from_function(func, name=name, **options)


# --------------------------------------------------------------------------------------
# Adapters: plain callables and langchain-core tools
# --------------------------------------------------------------------------------------


def _is_langchain_tool(obj: Any) -> bool:
    # If langchain_core.tools was never imported, `obj` cannot be one of its tools.
    module = sys.modules.get("langchain_core.tools")
    base = getattr(module, "BaseTool", None) if module is not None else None
    return base is not None and isinstance(obj, base)


def as_tool(obj: Any, **options: Any) -> Tool:
    """Convert `obj` to a `Tool`.

    - a `Tool` is returned as is (unless `options` are given: then a copy with them);
    - a langchain-core `BaseTool` (`StructuredTool`, `@langchain_core.tools.tool`
      functions, `Tool`, subclasses) is adapted: see `LangChainTool`;
    - any other callable is wrapped as with `@tool`.

    `options` are `Tool.from_function`'s keywords (name, description, timeout, retries,
    max_concurrency, stringify_rule; and args_schema for callables).
    """
    if isinstance(obj, LangChainTool):
        if not options:
            return obj
        kept = {"name": obj.name, "description": obj.description}
        return LangChainTool(obj.langchain_tool, **{**kept, **_kept_options(obj), **options})
    if isinstance(obj, Tool):
        if not options:
            return obj
        kept = {"name": obj.name, "description": obj.description, "args_schema": obj.args_schema}
        return Tool.from_function(obj.func, **{**kept, **_kept_options(obj), **options})
    if _is_langchain_tool(obj):
        return LangChainTool(obj, **options)
    if callable(obj):
        return Tool.from_function(obj, **options)
    raise TypeError(f"cannot make a tool of {type(obj).__name__} {obj!r}: it is not callable")


def _kept_options(tool: Tool) -> dict[str, Any]:
    return {
        "stringify_rule": tool.stringify_rule,
        "timeout": tool.timeout,
        "retries": tool.retries,
        "max_concurrency": tool.max_concurrency,
    }


def as_tools(items: Iterable[Any] | Mapping[str, Any]) -> dict[str, Tool]:
    """Convert tools (see `as_tool`) to a ``{name: Tool}`` dict, in order.

    From a mapping, each key is the tool's name: a value whose own name differs (a
    lambda, a function or tool named otherwise) is renamed. Duplicate names raise
    `ValueError`.
    """
    result: dict[str, Tool] = {}
    if isinstance(items, Mapping):
        pairs = list(items.items())
    elif isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(
            f"as_tools() expects a sequence or a mapping of tools, not {type(items).__name__}"
        )
    else:
        pairs = [(None, item) for item in items]
    for key, item in pairs:
        if key is None:
            converted = as_tool(item)
        elif isinstance(item, Tool) or _is_langchain_tool(item):
            converted = as_tool(item)
            if converted.name != key:
                converted = as_tool(converted, name=key)
        else:
            converted = as_tool(item, name=key)
        if converted.name in result:
            raise ValueError(f"duplicate tool name {converted.name!r}")
        result[converted.name] = converted
    return result


def _langchain_schema(base_tool: Any) -> dict[str, Any]:
    """The JSON schema of the arguments a model may pass to a langchain-core tool."""
    from langchain_core.tools.simple import Tool as SimpleTool  # lazy

    properties = {
        name: {k: v for k, v in dict(prop).items() if k != "title"} if isinstance(prop, Mapping) else {}
        for name, prop in base_tool.args.items()
    }
    full: Mapping[str, Any] = {}
    if isinstance(base_tool.args_schema, Mapping):
        full = base_tool.args_schema
    elif isinstance(base_tool, SimpleTool) and base_tool.args_schema is None:
        full = {"required": list(properties)}  # its one string input, `tool_input`
    else:
        try:
            model = base_tool.tool_call_schema
            if isinstance(model, Mapping):
                full = model
            elif hasattr(model, "model_json_schema"):
                full = model.model_json_schema()
            else:  # pydantic.v1 model
                full = model.schema()
        except Exception:  # a schema that can't be rendered: all arguments optional
            full = {}
    required = [r for r in full.get("required", ()) if r in properties]
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    for key in ("$defs", "definitions"):
        if key in full:
            schema[key] = full[key]
    return schema


class LangChainTool(Tool):
    """A langchain-core `BaseTool` as a `Tool`.

    The tool's JSON-schema fields become the call's parameters, in order: positional
    plan arguments map onto them in that order and keyword arguments by name. `func`
    is a coroutine function that builds the input dict and awaits
    ``langchain_tool.ainvoke(input)`` (langchain runs sync-only tools in its own
    executor), so `is_async` is true. `bind` returns ``((), input_dict)``.
    """

    def __init__(self, langchain_tool: Any, **options: Any) -> None:
        if not _is_langchain_tool(langchain_tool):
            raise TypeError(f"expected a langchain-core BaseTool, got {type(langchain_tool).__name__}")
        unknown = set(options) - {"name", "description", "stringify_rule", "timeout", "retries",
                                  "max_concurrency"}
        if unknown:
            raise TypeError(f"unexpected option(s) for a langchain tool: {', '.join(sorted(unknown))}")
        self.langchain_tool = langchain_tool
        schema = _langchain_schema(langchain_tool)
        description, arg_docs = _parse_docstring(langchain_tool.description or "")
        for field, text in arg_docs.items():
            prop = schema["properties"].get(field)
            if prop is not None and "description" not in prop:
                prop["description"] = text
        if options.get("description") is not None:
            description = options["description"]
        params = _params_from_schema(schema)
        name = options.get("name") or langchain_tool.name

        async def call_langchain_tool(*args: Any, **kwargs: Any) -> Any:
            return await langchain_tool.ainvoke(_match_arguments(name, params, args, kwargs))

        call_langchain_tool.__name__ = call_langchain_tool.__qualname__ = str(name)
        super().__init__(
            name,
            call_langchain_tool,
            description,
            options.get("stringify_rule"),
            args_schema=schema,
            timeout=options.get("timeout"),
            retries=options.get("retries", 0),
            max_concurrency=options.get("max_concurrency"),
        )
        self._call_params = params
        self._shown_params = params
        # `@langchain_core.tools.tool` functions keep their function: show its return type.
        wrapped = getattr(langchain_tool, "coroutine", None) or getattr(langchain_tool, "func", None)
        sig = _signature(wrapped) if callable(wrapped) else None
        self._returns = _annotation_text(sig.return_annotation) if sig is not None else None

    def bind(self, args: tuple, kwargs: Mapping[str, Any]) -> tuple[tuple, dict[str, Any]]:
        """``((), {field: value})``; `TypeError` for extra, unknown, repeated or missing
        arguments."""
        return (), _match_arguments(self.name, self._call_params or [], tuple(args), dict(kwargs))
