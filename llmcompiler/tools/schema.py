"""A tool's parameters: one description that the prompt shows, the JSON schema reports and
calls are checked against.

`Parameters` is made either from the wrapped callable's `inspect.Signature` (with the
argument descriptions of its docstring) or from a JSON schema (an explicit `args_schema`, a
langchain-core tool's fields). Everything else is read off it:

- `render()`: the parameters as in a `def` line, for prompt lines and error messages;
- `schema`: the JSON schema; from a signature it is built with pydantic, one
  `TypeAdapter` per annotation, when first asked for (pydantic is imported then);
- `bind()`: a planned call checked with `inspect.Signature.bind`, so a call fits exactly
  when Python would accept it. Only a call that does not fit pays for its message, which
  says in the planner's terms what is wrong (`search() takes query: str; got 2 positional
  arguments`).

Arguments are not converted or checked against their types here: a plan's values reach
the callable as the planner wrote them (langchain-core tools validate their own input).
"""

from __future__ import annotations

import inspect
import json
import keyword
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmcompiler.tools.signature import annotation_text, strip_annotated

__all__ = ["Param", "Parameters", "normalise_schema"]

_EMPTY = inspect.Parameter.empty
_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD
_POSITIONAL = (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD)
_VARIADIC = (_VAR_POSITIONAL, _VAR_KEYWORD)


@dataclass(frozen=True)
class Param:
    # A docstring of its own: without one, Python 3.10's dataclass builds it from
    # inspect.signature, which reads the `inspect.Parameter.empty` default as "no default"
    # and fails with "non-default argument follows default argument".
    """One parameter of a tool, as the planner sees it."""

    name: str
    kind: Any  # an inspect.Parameter kind
    annotation: str | None = None  # rendered type, None when unconstrained
    default: Any = _EMPTY

    @property
    def required(self) -> bool:
        return self.default is _EMPTY and self.kind not in _VARIADIC

    def render(self) -> str:
        prefix = "*" if self.kind is _VAR_POSITIONAL else "**" if self.kind is _VAR_KEYWORD else ""
        text = prefix + self.name
        if self.annotation:
            text += f": {self.annotation}"
        if self.default is not _EMPTY:
            text += (" = " if self.annotation else "=") + repr(self.default)
        return text


class Parameters:
    """The parameters of a tool: rendering, JSON schema and argument binding from one list.

    Make one with `from_signature`, `from_schema` or `unknown`.
    """

    __slots__ = ("_aliases", "_arg_docs", "_rendered", "_schema", "_signature", "params")

    def __init__(
        self,
        params: Sequence[Param],
        *,
        schema: dict[str, Any] | None,
        signature: inspect.Signature | None = None,
        arg_docs: Mapping[str, str] | None = None,
    ) -> None:
        self.params: tuple[Param, ...] = tuple(params)
        # None: built from `signature` and `arg_docs` when first asked for. Neither the
        # prompt nor binding needs it, and building it imports pydantic (~0.1 s).
        self._schema = schema
        self._arg_docs = arg_docs or {}
        # What `bind` asks Python about. A JSON schema's field names need not be Python
        # names, nor its required fields come before its optional ones: such fields get
        # a stand-in name, and the order check is skipped (binding only asks whether a
        # parameter has a default, not which one).
        self._aliases: dict[str, str] = {}  # stand-in -> real name
        if signature is None:
            shown = []
            for i, p in enumerate(self.params):
                name = p.name
                if not name.isidentifier() or keyword.iskeyword(name):
                    name = f"_arg{i}"
                    self._aliases[name] = p.name
                shown.append(inspect.Parameter(name, p.kind, default=p.default))
            signature = inspect.Signature(shown, __validate_parameters__=False)
        self._signature = signature
        self._rendered: str | None = None

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_signature(cls, sig: inspect.Signature, arg_docs: Mapping[str, str]) -> Parameters:
        """The parameters of a Python callable, described by `arg_docs` where they say."""
        params = [Param(p.name, p.kind, annotation_text(p.annotation), p.default) for p in sig.parameters.values()]
        return cls(params, schema=None, signature=sig, arg_docs=arg_docs)

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any]) -> Parameters:
        """The parameters a JSON schema describes, in its properties' order.

        An optional field without a stated default shows the default None.
        """
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        params = []
        for name, prop in properties.items():
            if name in required:
                default = _EMPTY
            elif isinstance(prop, Mapping) and "default" in prop:
                default = prop["default"]
            else:
                default = None
            params.append(Param(name, _POSITIONAL_OR_KEYWORD, _schema_type_text(prop), default))
        if schema.get("x-var-positional"):
            params.append(Param(str(schema["x-var-positional"]), _VAR_POSITIONAL))
        if schema.get("x-var-keyword"):
            params.append(Param(str(schema["x-var-keyword"]), _VAR_KEYWORD))
        return cls(params, schema=dict(schema))

    @classmethod
    def unknown(cls) -> Parameters:
        """Anything goes: for callables without a signature (some builtins)."""
        schema = {"type": "object", "properties": {}, "x-var-positional": "args",
                  "x-var-keyword": "kwargs", "additionalProperties": True}
        return cls([Param("args", _VAR_POSITIONAL), Param("kwargs", _VAR_KEYWORD)], schema=schema)

    # -- use ------------------------------------------------------------------------------

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema of the parameters (``"type": "object"``, properties in order)."""
        if self._schema is None:
            self._schema = _schema_from_signature(self._signature, self._arg_docs)
        return self._schema

    def render(self) -> str:
        """The parameters as in a `def` line, with `/` and `*` markers where Python needs them."""
        if self._rendered is None:
            parts: list[str] = []
            star_written = False
            params = self.params
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
            self._rendered = ", ".join(parts)
        return self._rendered

    def bind(self, tool_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The call's arguments by parameter name, in parameter order, as Python would bind
        them (extra positional arguments as a tuple under the `*args` name, extra keywords
        as a dict under the `**kwargs` name; defaults are not filled in).

        A call that does not fit raises `TypeError` naming the tool, its parameters and
        the first problem.
        """
        call_kwargs = kwargs
        if self._aliases:
            real_to_alias = {real: alias for alias, real in self._aliases.items()}
            call_kwargs = {real_to_alias.get(k, k): v for k, v in kwargs.items()}
        try:
            bound = self._signature.bind(*args, **call_kwargs)
        except TypeError:
            shown = self.render() or "no arguments"
            raise TypeError(f"{tool_name}() takes {shown}; {self._misfit(args, kwargs)}") from None
        if self._aliases:
            return {self._aliases.get(k, k): v for k, v in bound.arguments.items()}
        return bound.arguments

    def _misfit(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        # Called only once binding has failed: finds the first problem in the order Python
        # reports them (too many positional arguments, then each keyword, then missing ones).
        params = self.params
        positional = [p for p in params if p.kind in _POSITIONAL]
        var_keyword = any(p.kind is _VAR_KEYWORD for p in params)
        if len(args) > len(positional) and not any(p.kind is _VAR_POSITIONAL for p in params):
            n = len(args)
            return f"got {n} positional argument{'' if n == 1 else 's'}"
        given = {p.name for p in positional[: len(args)]}
        by_name = {p.name: p for p in params if p.kind not in _VARIADIC}
        for key in kwargs:
            param = by_name.get(key)
            if param is None or param.kind is _POSITIONAL_ONLY:
                if var_keyword:
                    continue
                if param is not None:
                    return f"got positional-only argument {key!r} as a keyword argument"
                return f"got an unexpected keyword argument {key!r}"
            if key in given:
                return f"got multiple values for argument {key!r}"
            given.add(key)
        missing = [p.name for p in params if p.required and p.name not in given]
        names = ", ".join(repr(m) for m in missing)
        return f"missing required argument{'s' if len(missing) > 1 else ''} {names}"

    def as_positional(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Any] | None:
        """`args` with `kwargs` moved into their positions (gaps filled with defaults), or
        None when a keyword has no position after `args` or a gap has no default."""
        order = [p for p in self.params if p.kind in _POSITIONAL]
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


# -- JSON schema from a signature ---------------------------------------------------------


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
        _, metadata = strip_annotated(p.annotation)
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


# -- reading a JSON schema -------------------------------------------------------------


_JSON_TYPES = {
    "string": "str", "integer": "int", "number": "float", "boolean": "bool",
    "null": "None", "array": "list", "object": "dict",
}


def _schema_type_text(prop: Any) -> str | None:
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


def normalise_schema(args_schema: Any) -> dict[str, Any]:
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
