"""Tests for llmcompiler.tools: Tool, the @tool decorator and the adapters."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from llmcompiler.tools import LangChainTool, Tool, as_tool, as_tools, tool

# ------------------------------------------------------------------ helper functions


def search(query: str, k: int = 3) -> str:
    """Look up an entity
    on Wikipedia.

    Returns the first paragraphs of the best page.

    Args:
        query (str): The entity to look up.
            Use the exact title when known.
        k: How many results.

    Returns:
        The text of the pages.

    Raises:
        LookupError: nothing found.
    """
    return f"{query}:{k}"


async def asearch(query: str, k: int = 3) -> str:
    """Look up an entity asynchronously."""
    await asyncio.sleep(0)
    return f"async {query}:{k}"


class Point(BaseModel):
    x: int
    y: int = 0


async def call(t: Tool, *args: Any, **kwargs: Any) -> Any:
    """What the executor does: bind, call, await when async."""
    a, kw = t.bind(args, kwargs)
    result = t.func(*a, **kw)
    return await result if t.is_async else result


# ------------------------------------------------------------------ decorator forms


def test_bare_decorator_makes_a_tool_that_still_calls_the_function():
    t = tool(search)
    assert isinstance(t, Tool)
    assert t.name == "search"
    assert t.func is search
    assert t("x") == "x:3"
    assert t("x", k=1) == "x:1"
    assert t.timeout is None and t.retries == 0 and t.max_concurrency is None
    assert t.stringify_rule is None


def test_decorator_with_empty_parentheses():
    @tool()
    def lookup(q: str) -> str:
        """Find q."""
        return q * 2

    assert lookup.name == "lookup"
    assert lookup.description == "Find q."
    assert lookup("ab") == "abab"


def test_decorator_with_name_as_only_positional_argument():
    @tool("wiki")
    def lookup(q: str) -> str:
        return q

    assert lookup.name == "wiki"
    assert lookup.description == ""


def test_decorator_with_all_options():
    def rule(args: list) -> str:
        return f"lookup of {args[0]}"

    @tool(
        name="find",
        description="Finds things.",
        timeout=2.5,
        retries=2,
        max_concurrency=4,
        stringify_rule=rule,
    )
    async def lookup(q: str) -> str:
        """Ignored docstring."""
        return q

    assert lookup.name == "find"
    assert lookup.description == "Finds things."
    assert lookup.timeout == 2.5
    assert lookup.retries == 2
    assert lookup.max_concurrency == 4
    assert lookup.stringify_rule is rule
    assert lookup.is_async is True
    assert asyncio.run(lookup("z")) == "z"


def test_decorator_with_invalid_option_raises():
    with pytest.raises(ValueError, match="retries must be an int >= 0"):
        tool(retries=-1)(search)


def test_decorating_a_lambda_needs_a_name():
    with pytest.raises(ValueError, match="cannot derive a tool name"):
        tool(lambda x: x)
    t = tool(name="double")(lambda x: x * 2)
    assert t.name == "double" and t(4) == 8


# ------------------------------------------------------------------ derived metadata


def test_description_excludes_args_returns_and_raises_sections():
    t = tool(search)
    assert t.description == (
        "Look up an entity\non Wikipedia.\n\nReturns the first paragraphs of the best page."
    )
    assert "Args" not in t.description and "LookupError" not in t.description


def test_schema_types_defaults_required_and_arg_descriptions():
    schema = tool(search).args_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    assert schema["properties"] == {
        "query": {
            "type": "string",
            "description": "The entity to look up. Use the exact title when known.",
        },
        "k": {"type": "integer", "default": 3, "description": "How many results."},
    }


def test_schema_of_richer_annotations():
    @tool
    def f(
        a,
        b: list[int],
        c: str | None = None,
        d: dict[str, float] = {},  # noqa: B006
        e: Point = Point(x=1),  # noqa: B008
        points: list[Point] = [],  # noqa: B006
        f: Annotated[int, "an annotated note"] = 1,
        g: Annotated[int, Field(description="from Field", ge=0)] = 2,
        h: object = object(),
    ):
        return a

    props = f.args_schema["properties"]
    assert props["a"] == {}  # no annotation: unconstrained
    assert props["b"] == {"type": "array", "items": {"type": "integer"}}
    assert props["c"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert props["d"] == {"type": "object", "additionalProperties": {"type": "number"}, "default": {}}
    assert props["e"]["type"] == "object" and props["e"]["required"] == ["x"]  # inline model
    assert "default" not in props["e"]  # not JSON: left out, still optional
    assert props["points"] == {"type": "array", "items": {"$ref": "#/$defs/Point"}, "default": []}
    assert f.args_schema["$defs"]["Point"]["required"] == ["x"]
    assert f.signature.startswith(
        "(a, b: list[int], c: str | None = None, d: dict[str, float] = {}, e: Point = Point(x=1, y=0), "
        "points: list[Point] = [], f: int = 1, g: int = 2, h: object = <object object at "
    )
    assert props["f"] == {"type": "integer", "default": 1, "description": "an annotated note"}
    assert props["g"]["description"] == "from Field" and props["g"]["minimum"] == 0
    assert props["h"] == {}  # an arbitrary class: no JSON schema, unconstrained
    assert f.args_schema["required"] == ["a", "b"]


def test_var_args_and_kwargs_are_allowed_and_noted():
    @tool
    def f(x: int, *rest: str, flag: bool = False, **extra):
        return x

    schema = f.args_schema
    assert list(schema["properties"]) == ["x", "flag"]
    assert schema["x-var-positional"] == "rest"
    assert schema["x-var-keyword"] == "extra"
    assert schema["additionalProperties"] is True
    assert f.signature == "(x: int, *rest: str, flag: bool = False, **extra)"
    assert f.bind((1, "a", "b"), {"flag": True, "other": 3}) == ((1, "a", "b"), {"flag": True, "other": 3})


def test_string_annotations_that_do_not_resolve_are_kept_as_written():
    def f(x: NoSuchType, y: list[int] = None) -> str:  # noqa: F821
        return "ok"

    t = tool(f)
    assert t.args_schema["properties"]["x"] == {}
    assert t.signature == "(x: NoSuchType, y: list[int] = None) -> str"


def test_keyword_only_and_positional_only_rendering():
    def f(a: int, /, b: int, *, c: int = 1) -> None:
        return None

    t = tool(f)
    assert t.signature == "(a: int, /, b: int, *, c: int = 1) -> None"


def test_callable_object_and_partial():
    class Adder:
        """Adds a number."""

        def __call__(self, a: int, b: int = 1) -> int:
            return a + b

    t = as_tool(Adder())
    assert t.name == "Adder"
    assert t.description == "Adds a number."
    assert t.signature == "(a: int, b: int = 1) -> int"
    assert t(2) == 3

    p = tool(functools.partial(search, k=5))
    assert p.name == "search"
    assert p.description.startswith("Look up an entity")
    assert p("x") == "x:5"


# ------------------------------------------------------------------ async detection


def test_async_detection():
    class AsyncCallable:
        async def __call__(self, x):
            return x

    class Holder:
        async def method(self, x):
            return x

        def sync_method(self, x):
            return x

    assert tool(asearch).is_async is True
    assert tool(search).is_async is False
    assert tool(name="p")(functools.partial(asearch, k=1)).is_async is True
    assert tool(name="p")(functools.partial(functools.partial(asearch), "x")).is_async is True
    assert tool(name="p")(functools.partial(search, k=1)).is_async is False
    assert Tool("c", AsyncCallable(), "").is_async is True
    assert Tool("p", functools.partial(AsyncCallable(), 1), "").is_async is True
    assert Tool("m", Holder().method, "").is_async is True
    assert Tool("s", Holder().sync_method, "").is_async is False
    assert Tool("l", lambda x: x, "").is_async is False


async def test_calling_through_bind_sync_and_async():
    assert await call(tool(search), "a", k=2) == "a:2"
    assert await call(tool(asearch), "b") == "async b:3"


# ------------------------------------------------------------------ bind


def test_bind_is_identity_for_fitting_calls():
    t = tool(search)
    args, kwargs = t.bind(("x",), {"k": 2})
    assert args == ("x",) and kwargs == {"k": 2}
    assert isinstance(args, tuple) and isinstance(kwargs, dict)
    assert t.bind(["x"], {}) == (("x",), {})
    assert t.bind((), {"query": "x"}) == ((), {"query": "x"})


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("a", 1, 2), {}, "search() takes query: str, k: int = 3; got 3 positional arguments"),
        ((), {"q": "a"}, "search() takes query: str, k: int = 3; got an unexpected keyword argument 'q'"),
        (("a",), {"query": "b"}, "search() takes query: str, k: int = 3; got multiple values for argument 'query'"),
        ((), {"k": 1}, "search() takes query: str, k: int = 3; missing required argument 'query'"),
    ],
)
def test_bind_errors_name_the_tool_and_its_signature(args, kwargs, message):
    with pytest.raises(TypeError) as info:
        tool(search).bind(args, kwargs)
    assert str(info.value) == message


def test_bind_error_examples_from_the_brief():
    @tool
    def search(query: str) -> str:
        return query

    with pytest.raises(TypeError) as info:
        search.bind(("a", "b"), {})
    assert str(info.value) == "search() takes query: str; got 2 positional arguments"

    @tool
    def now() -> str:
        return "t"

    with pytest.raises(TypeError) as info:
        now.bind((1,), {})
    assert str(info.value) == "now() takes no arguments; got 1 positional argument"


def test_bind_multiple_missing_and_positional_only():
    def f(a, b, /, c):
        return a

    t = tool(f)
    with pytest.raises(TypeError, match=r"missing required arguments 'b', 'c'$"):
        t.bind((1,), {})
    with pytest.raises(TypeError, match="got positional-only argument 'a' as a keyword argument"):
        t.bind((), {"a": 1, "b": 2, "c": 3})


def test_bind_without_a_signature_passes_through():
    t = Tool("biggest", max, "The largest item.")
    assert t.bind((1, 2, 3), {}) == ((1, 2, 3), {})
    assert t.signature == "(*args, **kwargs)"
    assert t.args_schema["additionalProperties"] is True


# ------------------------------------------------------------------ prompt_line


def test_prompt_line_collapses_the_description():
    assert tool(search).prompt_line() == (
        "search(query: str, k: int = 3) -> str: Look up an entity on Wikipedia. "
        "Returns the first paragraphs of the best page."
    )


def test_prompt_line_without_description_or_return_annotation():
    def f(x, y=2):
        return x

    assert Tool("f", f, "").prompt_line() == "f(x, y=2)"
    assert Tool("f", f, "  Does f.\n  Twice.  ").prompt_line() == "f(x, y=2): Does f. Twice."


def test_prompt_line_keeps_an_original_llmcompiler_description():
    description = (
        "search(entity: str) -> str:\n"
        " - Executes an exact search of the entity on Wikipedia.\n"
        " - Returns the first paragraph if the entity is found.\n"
    )
    t = Tool("search", lambda entity: entity, description)
    assert t.prompt_line() == description.strip()


def test_prompt_line_with_explicit_schema():
    schema = {
        "type": "object",
        "properties": {"entity": {"type": "string"}, "n": {"type": "integer", "default": 1}},
        "required": ["entity"],
    }

    async def run(*args):
        return args

    t = Tool("lookup", run, "Look up.", args_schema=schema)
    assert t.args_schema == schema
    assert t.prompt_line() == "lookup(entity: str, n: int = 1): Look up."
    assert t.bind(("a", "b", "c"), {}) == (("a", "b", "c"), {})  # the callable takes *args


def test_explicit_pydantic_schema_class():
    t = Tool("pt", lambda x, y=0: x + y, "Point.", args_schema=Point)
    assert t.args_schema["required"] == ["x"]
    assert t.signature == "(x: int, y: int = 0)"


# ------------------------------------------------------------------ stringify


def test_stringify_default_is_python_syntax():
    t = tool(search)
    assert t.stringify(("Mount Everest",), {"k": 2}) == "search('Mount Everest', k=2)"
    assert t.stringify([], {}) == "search()"
    assert t.stringify([[1, "a"]]) == "search([1, 'a'])"


def test_stringify_with_rule():
    def rule(args: list) -> str:
        return "math(" + " | ".join(map(str, args)) + ")"

    t = Tool("math", lambda problem, context=None: 0, "Math.", rule)
    assert t.stringify(["1+1"], {}) == "math(1+1)"
    assert t.stringify([], {"problem": "2*2"}) == "math(2*2)"
    assert t.stringify(["p"], {"context": ["c"]}) == "math(p | ['c'])"


def test_stringify_rule_falls_back_when_keywords_cannot_be_positioned():
    t = Tool("f", lambda *args, **kwargs: 0, "F.", lambda args: "RULE")
    assert t.stringify(["a"], {}) == "RULE"
    assert t.stringify(["a"], {"zz": 1}) == "f('a', zz=1)"
    g = Tool("g", lambda a, b=5, c=6: 0, "G.", lambda args: repr(args))
    assert g.stringify([1], {"c": 3}) == "[1, 5, 3]"  # the gap is filled with the default


def test_repr():
    t = tool(timeout=3, retries=1, max_concurrency=2)(asearch)
    assert repr(t) == (
        "<Tool asearch(query: str, k: int = 3) -> str async timeout=3 retries=1 max_concurrency=2>"
    )
    assert repr(tool(search)) == "<Tool search(query: str, k: int = 3) -> str>"


# ------------------------------------------------------------------ constructor validation


def test_constructor_positional_signature_of_the_original():
    def rule(args):
        return "r"

    t = Tool("search", search, "Search.", rule)
    assert (t.name, t.func, t.description, t.stringify_rule) == ("search", search, "Search.", rule)
    assert t.args_schema["required"] == ["query"]  # derived from func, Args: included
    assert t.args_schema["properties"]["k"]["description"] == "How many results."


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "tool name must be a non-empty string"),
        ({"name": None}, "tool name must be a non-empty string"),
        ({"name": "web search"}, "tool name 'web search' is not a valid identifier"),
        ({"name": "1st"}, "tool name '1st' is not a valid identifier"),
        ({"name": "wiki-search"}, "tool name 'wiki-search' is not a valid identifier"),
        ({"name": "join"}, "tool name 'join' is reserved"),
        ({"func": 42}, "tool 'search': func must be callable, got int"),
        ({"description": 3}, "tool 'search': description must be a string, got int"),
        ({"stringify_rule": "x"}, "stringify_rule must be callable"),
        ({"retries": -1}, "tool 'search': retries must be an int >= 0, got -1"),
        ({"retries": 1.5}, "retries must be an int >= 0, got 1.5"),
        ({"retries": True}, "retries must be an int >= 0"),
        ({"timeout": -1}, "tool 'search': timeout must be > 0 seconds, got -1"),
        ({"timeout": 0}, "timeout must be > 0 seconds"),
        ({"timeout": float("nan")}, "timeout must be > 0 seconds"),
        ({"timeout": "5"}, "timeout must be a number of seconds or None"),
        ({"max_concurrency": 0}, "max_concurrency must be an int >= 1 or None, got 0"),
        ({"args_schema": 5}, "args_schema must be a JSON-schema dict or a pydantic model class"),
    ],
)
def test_constructor_validation(kwargs, message):
    arguments = {"name": "search", "func": search, "description": "Search."} | kwargs
    with pytest.raises(ValueError) as info:
        Tool(**arguments)
    assert message in str(info.value)


def test_constructor_accepts_valid_limits():
    t = Tool("search", search, "S.", timeout=0.5, retries=3, max_concurrency=1)
    assert (t.timeout, t.retries, t.max_concurrency) == (0.5, 3, 1)
    assert Tool("_private2", search, "S.").name == "_private2"
    assert Tool("s", search, None).description == ""


def test_is_async_can_be_overridden():
    def returns_awaitable(x):
        return asearch(x)

    t = Tool("s", returns_awaitable, "S.")
    assert t.is_async is False
    t.is_async = True
    assert asyncio.run(call(t, "q")) == "async q:3"


# ------------------------------------------------------------------ langchain-core


def _lc():
    return pytest.importorskip("langchain_core.tools")


@pytest.fixture
def lc_search():
    lc = _lc()

    @lc.tool
    def search_lc(query: str, k: int = 3) -> str:
        """Look up an entity.

        Args:
            query: the entity
            k: how many
        """
        return f"lc {query}:{k}"

    return search_lc


@pytest.fixture
def lc_asearch():
    lc = _lc()

    @lc.tool
    async def asearch_lc(query: str, k: int = 3) -> str:
        """Look up an entity, asynchronously."""
        await asyncio.sleep(0)
        return f"alc {query}:{k}"

    return asearch_lc


async def test_langchain_decorated_sync_tool(lc_search):
    t = as_tool(lc_search)
    assert isinstance(t, LangChainTool) and isinstance(t, Tool)
    assert t.langchain_tool is lc_search
    assert t.name == "search_lc"
    assert t.is_async is True
    assert t.description == "Look up an entity."
    assert t.args_schema == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "the entity"},
            "k": {"type": "integer", "default": 3, "description": "how many"},
        },
        "required": ["query"],
    }
    assert t.prompt_line() == "search_lc(query: str, k: int = 3) -> str: Look up an entity."

    # positional mapping, keyword mapping, both, defaults left to langchain
    assert t.bind(("x", 2), {}) == ((), {"query": "x", "k": 2})
    assert t.bind((), {"k": 2, "query": "x"}) == ((), {"query": "x", "k": 2})
    assert await call(t, "x", 2) == "lc x:2"
    assert await call(t, "y", k=5) == "lc y:5"
    assert await call(t, query="z") == "lc z:3"
    assert await t("w") == "lc w:3"  # func maps positional arguments itself


async def test_langchain_decorated_async_tool(lc_asearch):
    t = as_tool(lc_asearch)
    assert t.is_async is True
    assert await call(t, "x") == "alc x:3"
    assert await call(t, "x", k=7) == "alc x:7"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("a", 1, 2), {}, "search_lc() takes query: str, k: int = 3; got 3 positional arguments"),
        ((), {"q": "a"}, "search_lc() takes query: str, k: int = 3; got an unexpected keyword argument 'q'"),
        (("a",), {"query": "b"}, "got multiple values for argument 'query'"),
        ((1,), {"k": 1, "query": "x"}, "got multiple values for argument 'query'"),
        ((), {"k": 1}, "missing required argument 'query'"),
    ],
)
async def test_langchain_argument_errors(lc_search, args, kwargs, message):
    t = as_tool(lc_search)
    with pytest.raises(TypeError) as info:
        t.bind(args, kwargs)
    assert message in str(info.value)
    with pytest.raises(TypeError) as info:
        await t.func(*args, **kwargs)
    assert message in str(info.value)


async def test_langchain_structured_tool_sync_and_async():
    lc = _lc()

    class Inputs(BaseModel):
        a: int = Field(description="first number")
        b: list[str] = []

    def add(a: int, b: list[str] = []) -> str:  # noqa: B006
        return f"sync {a} {b}"

    async def aadd(a: int, b: list[str] = []) -> str:  # noqa: B006
        return f"async {a} {b}"

    sync_tool = as_tool(lc.StructuredTool.from_function(func=add, name="add", description="Add.", args_schema=Inputs))
    async_tool = as_tool(lc.StructuredTool.from_function(coroutine=aadd, name="aadd", description="Add."))
    assert sync_tool.args_schema["properties"]["a"] == {"type": "integer", "description": "first number"}
    assert sync_tool.args_schema["required"] == ["a"]
    assert sync_tool.signature == "(a: int, b: list[str] = []) -> str"
    assert await call(sync_tool, 1, ["x"]) == "sync 1 ['x']"
    assert await call(sync_tool, b=["y"], a="2") == "sync 2 ['y']"  # langchain validates/coerces
    assert await call(async_tool, 3) == "async 3 []"
    assert async_tool.is_async and sync_tool.is_async


async def test_langchain_single_input_tool_gets_its_one_field():
    lc = _lc()
    legacy = lc.Tool(name="upper", func=lambda text: text.upper(), description="Upper-case.")
    t = as_tool(legacy)
    assert t.signature == "(tool_input: str)"
    assert t.bind(("abc",), {}) == ((), {"tool_input": "abc"})
    assert await call(t, "abc") == "ABC"
    assert await call(t, tool_input="xyz") == "XYZ"
    with pytest.raises(TypeError, match="got 2 positional arguments"):
        t.bind(("a", "b"), {})


async def test_langchain_tool_with_json_schema_dict():
    lc = _lc()
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    }

    async def forecast(**kwargs):
        return kwargs

    t = as_tool(lc.StructuredTool(name="forecast", description="Weather.", args_schema=schema, coroutine=forecast))
    assert t.signature == "(city: str, days: int = None)"
    assert await call(t, "Oslo") == {"city": "Oslo"}
    assert await call(t, "Oslo", 3) == {"city": "Oslo", "days": 3}


def test_langchain_tool_options_and_renaming(lc_search):
    t = as_tool(lc_search, name="find", timeout=4, retries=1, max_concurrency=2, description="Find.")
    assert (t.name, t.timeout, t.retries, t.max_concurrency) == ("find", 4, 1, 2)
    assert t.prompt_line() == "find(query: str, k: int = 3) -> str: Find."
    with pytest.raises(TypeError, match="unexpected option"):
        as_tool(lc_search, args_schema={})
    # a copy with one more option keeps the others
    u = as_tool(t, retries=3)
    assert (u.name, u.timeout, u.retries, u.description) == ("find", 4, 3, "Find.")


async def test_langchain_tool_error_propagates(lc_search):
    lc = _lc()

    def boom(x: str) -> str:
        raise lc.ToolException("no such page")

    t = as_tool(lc.StructuredTool.from_function(func=boom, name="boom", description="Boom."))
    with pytest.raises(lc.ToolException, match="no such page"):
        await call(t, "x")


# ------------------------------------------------------------------ as_tool / as_tools


def test_as_tool_returns_tools_as_is_and_wraps_callables():
    t = tool(search)
    assert as_tool(t) is t
    wrapped = as_tool(asearch)
    assert isinstance(wrapped, Tool) and wrapped.name == "asearch" and wrapped.is_async
    renamed = as_tool(t, name="find", timeout=1)
    assert renamed is not t and renamed.name == "find" and renamed.timeout == 1
    assert renamed.description == t.description and renamed.func is search
    with pytest.raises(TypeError, match="not callable"):
        as_tool(42)


def test_as_tools_from_sequence_and_mapping(lc_search):
    tools = as_tools([search, asearch, lc_search])
    assert list(tools) == ["search", "asearch", "search_lc"]
    assert all(isinstance(t, Tool) for t in tools.values())
    named = as_tools({"find": search, "double": lambda x: x * 2, "web": lc_search, "s": tool(search)})
    assert list(named) == ["find", "double", "web", "s"]
    assert named["double"](3) == 6
    assert named["web"].langchain_tool is lc_search


def test_as_tools_rejects_duplicates():
    with pytest.raises(ValueError, match="duplicate tool name 'search'"):
        as_tools([search, tool(search)])
    with pytest.raises(ValueError, match="duplicate tool name 'x'"):
        as_tools([Tool("x", search, ""), tool(name="x")(asearch)])
    with pytest.raises(TypeError, match="sequence or a mapping"):
        as_tools("search")


# ------------------------------------------------------------------ import cost


def test_importing_tools_does_not_import_langchain_or_pydantic():
    modules = ["base", "convert", "docstring", "langchain", "schema", "signature", "tool"]
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module('llmcompiler.tools.' + m)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('langchain_core', 'pydantic')))\n"
    )
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pydantic_is_imported_only_when_a_schema_is_read():
    code = (
        "import sys\n"
        "from llmcompiler.tools import tool\n"
        "def search(query: str, k: int = 3) -> str:\n"
        "    return query\n"
        "t = tool(search)\n"
        "line, bound = t.prompt_line(), t.bind(('x',), {'k': 2})\n"
        "print('pydantic' in sys.modules, line)\n"
        "print(t.args_schema['properties']['k'], 'pydantic' in sys.modules)\n"
    )
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "False search(query: str, k: int = 3) -> str",
        "{'type': 'integer', 'default': 3} True",
    ]


def test_pydantic_is_a_declared_dependency():
    tomllib = pytest.importorskip("tomllib")
    import pathlib

    pyproject = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert any(d.replace(" ", "").startswith("pydantic>=2") for d in dependencies)


# ------------------------------------------------------------------ one model of the parameters


def test_bind_agrees_with_python_when_kwargs_catch_a_positional_only_name():
    def f(a, /, **extra):
        return (a, extra)

    t = tool(f)
    assert t.bind((1,), {"a": 2}) == ((1,), {"a": 2})
    assert asyncio.run(call(t, 1, a=2)) == (1, {"a": 2})
    with pytest.raises(TypeError, match=r"^f\(\) takes a, /, \*\*extra; missing required argument 'a'$"):
        t.bind((), {"a": 2})


def test_bind_writes_its_message_only_for_a_call_that_does_not_fit(monkeypatch):
    from llmcompiler.tools.schema import Parameters

    t = tool(search)

    def render(self):
        raise AssertionError("the parameters were rendered")

    monkeypatch.setattr(Parameters, "render", render)
    assert t.bind(("x",), {"k": 2}) == (("x",), {"k": 2})
    assert t.bind((), {"query": "x"}) == ((), {"query": "x"})
    with pytest.raises(AssertionError, match="rendered"):
        t.bind((), {})


def test_schema_fields_that_are_not_python_names_or_come_after_optional_ones():
    from llmcompiler.tools.schema import Parameters

    params = Parameters.from_schema(
        {
            "type": "object",
            "properties": {"page-size": {"type": "integer"}, "class": {"type": "string"}, "query": {"type": "string"}},
            "required": ["query"],
        }
    )
    assert params.render() == "page-size: int = None, class: str = None, query: str"
    assert params.bind("find", (10, "a", "q"), {}) == {"page-size": 10, "class": "a", "query": "q"}
    assert params.bind("find", (), {"query": "q", "class": "b", "page-size": 3}) == {
        "page-size": 3,
        "class": "b",
        "query": "q",
    }
    with pytest.raises(TypeError) as info:
        params.bind("find", (10,), {})
    assert str(info.value) == (
        "find() takes page-size: int = None, class: str = None, query: str; missing required argument 'query'"
    )
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'page_size'$"):
        params.bind("find", (), {"query": "q", "page_size": 1})


async def test_langchain_tool_with_fields_that_are_not_python_names():
    lc = _lc()
    schema = {
        "type": "object",
        "properties": {"from": {"type": "string"}, "max-results": {"type": "integer"}},
        "required": ["from"],
    }

    async def lookup(**kwargs):
        return kwargs

    t = as_tool(lc.StructuredTool(name="lookup", description="Look up.", args_schema=schema, coroutine=lookup))
    assert t.signature == "(from: str, max-results: int = None)"
    assert t.bind(("a", 2), {}) == ((), {"from": "a", "max-results": 2})
    assert await call(t, "a", 2) == {"from": "a", "max-results": 2}


def test_prompt_schema_and_binding_describe_the_same_parameters():
    t = tool(search)
    assert list(t.args_schema["properties"]) == ["query", "k"]
    assert t.signature == "(query: str, k: int = 3) -> str"
    assert t.bind((), {"query": "x", "k": 1}) == ((), {"query": "x", "k": 1})
    with pytest.raises(TypeError, match="takes query: str, k: int = 3;"):
        t.bind((), {"k": 1})


async def test_the_runtime_needs_no_more_of_a_tool_than_its_protocol(lc_search):
    from llmcompiler.runtime.executor import call_tool
    from llmcompiler.runtime.protocols import RuntimeTool
    from llmcompiler.runtime.threads import ThreadRunner

    members = {n for n in vars(RuntimeTool) if not n.startswith("_")}
    assert members == {"name", "func", "is_async", "timeout", "retries", "max_concurrency", "bind"}
    for t in (tool(search), as_tool(lc_search), Tool("biggest", max, "")):
        assert all(hasattr(t, m) for m in members)

    class Bare:  # exactly the protocol's members, nothing of Tool
        name = "double"
        is_async = False
        timeout = None
        retries = 1
        max_concurrency = None

        def __init__(self):
            self.calls = 0

        def func(self, x):
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("first attempt fails")
            return 2 * x

        def bind(self, args, kwargs):
            return tuple(args), dict(kwargs)

    bare = Bare()
    threads = ThreadRunner(2)
    try:
        outcome = await call_tool(bare, (21,), {}, threads=threads)
    finally:
        threads.close()
    assert (outcome.ok, outcome.value, outcome.attempts, bare.calls) == (True, 42, 2, 2)
