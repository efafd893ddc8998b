"""Reading Python callables: whether they are async, their signature, how a type reads.

Everything here is about the callable a tool wraps; what a planner may pass to it and
how the prompt shows it is built from this in `llmcompiler.tools.schema`.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
import typing
from typing import Any

__all__ = ["annotation_text", "is_async_callable", "read_signature", "strip_annotated", "type_text",
           "unwrap_partial"]

_EMPTY = inspect.Parameter.empty
_UnionType = getattr(types, "UnionType", None)  # `int | None`


def unwrap_partial(func: Any) -> Any:
    while isinstance(func, functools.partial):
        func = func.func
    return func


def is_async_callable(func: Any) -> bool:
    """True when calling `func` returns an awaitable we can tell about in advance."""
    if inspect.iscoroutinefunction(func):  # functions, methods, partials of them
        return True
    inner = unwrap_partial(func)
    if inspect.iscoroutinefunction(inner):
        return True
    if inspect.isfunction(inner) or inspect.ismethod(inner) or inspect.isclass(inner):
        return False
    call = getattr(inner, "__call__", None)  # noqa: B004 (the method itself is wanted) an instance with `async def __call__`
    return call is not None and inspect.iscoroutinefunction(call)


def read_signature(func: Any) -> inspect.Signature | None:
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
    inner = unwrap_partial(func)
    inner = getattr(inner, "__func__", inner)  # bound methods
    if not (inspect.isfunction(inner) or hasattr(inner, "__wrapped__")):
        inner = getattr(type(inner), "__call__", inner)  # noqa: B004 (the method) callable objects
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
            annotation = eval(annotation, namespace)
        except Exception:
            return annotation
    return annotation


def strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """`Annotated[T, m1, m2]` -> (T, [m1, m2]); anything else -> (annotation, [])."""
    metadata = getattr(annotation, "__metadata__", None)
    origin = getattr(annotation, "__origin__", None)
    if metadata is not None and origin is not None:
        return origin, list(metadata)
    return annotation, []


def annotation_text(annotation: Any) -> str | None:
    """How a parameter's type is shown to the planner: `list[str]`, `int | None`, `Point`."""
    if annotation is _EMPTY:
        return None
    return type_text(annotation)


def type_text(t: Any) -> str:
    if isinstance(t, str):  # an annotation that could not be evaluated: as written
        return t
    if t is None or t is type(None):
        return "None"
    if t is Ellipsis:
        return "..."
    if isinstance(t, (list, tuple)):  # Callable[[A, B], R]'s parameter list
        return "[" + ", ".join(type_text(a) for a in t) + "]"
    t, _ = strip_annotated(t)
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Union or (_UnionType is not None and origin is _UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is not None:
        head = type_text(origin)
        return f"{head}[{', '.join(type_text(a) for a in args)}]" if args else head
    name = getattr(t, "__name__", None)
    if isinstance(t, (type, typing.TypeVar)) and isinstance(name, str):
        return name
    text = repr(t)
    return re.sub(r"\b(?:typing_extensions|typing|collections\.abc|builtins)\.", "", text)
