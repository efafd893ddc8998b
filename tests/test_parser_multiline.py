"""Calls that span lines, and the argument parser's fast path.

- A call whose brackets (or triple-quoted string) are still open at a newline continues on
  the next lines, and its task comes out as soon as the call closes; a line that starts a
  task, a thought or the end marker instead ends the open call, which is repaired as before.
- The fast path for common argument shapes gives exactly what Python's parser gives
  (hypothesis, differential against the ast path), and gives up on anything else.
"""

from __future__ import annotations

import random

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from llmcompiler.plan import parser as parser_module  # noqa: E402
from llmcompiler.plan.parser import END_OF_PLAN, MAX_LINE_CHARS, PlanParser  # noqa: E402
from llmcompiler.plan.task import JOIN, Ref, Task  # noqa: E402

TOOLS = ("search", "math", "f")
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def T(idx, tool, text, *args, deps=(), thought=None, error=None, **kwargs):
    return Task(idx, tool, tuple(args), kwargs, tuple(deps), thought, text, error)


def parse(chunks):
    parser = PlanParser(TOOLS)
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    out.extend(parser.close())
    return out


def splits(text, seed=0):
    rng = random.Random(seed)
    yield [text]
    yield list(text)
    for _ in range(20):
        cuts = sorted(rng.sample(range(len(text) + 1), min(len(text), rng.randint(1, 6))))
        yield [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


CASES = [
    (
        "the reported bug: a list wrapped over lines",
        f"1. f([1,\n 2,\n 3])\n2. join(){END_OF_PLAN}",
        [T(1, "f", "1. f([1,\n 2,\n 3])", [1, 2, 3]), T(2, JOIN, "2. join()", deps=(1,))],
    ),
    (
        "keyword arguments and a dict over lines, references inside",
        '1. search("x")\n2. math(\n    "add",\n    context={\n        "a": $1,\n        "b": [${1}, 2],\n    },\n)\n',
        [
            T(1, "search", '1. search("x")', "x"),
            # (space before the closing parenthesis is left out of `text`, as on one line)
            T(2, "math", '2. math(\n    "add",\n    context={\n        "a": $1,\n        "b": [${1}, 2],\n    },)',
              "add", context={"a": Ref(1), "b": [Ref(1), 2]}, deps=(1,)),
        ],
    ),
    (
        "a triple-quoted string over lines keeps its newlines",
        '1. search("""first\n2. not a task\nThought: not one either""")\n',
        [T(1, "search", '1. search("""first\n2. not a task\nThought: not one either""")',
           "first\n2. not a task\nThought: not one either")],
    ),
    (
        "blank and number-led continuation lines",
        "1. math([\n\n  2.5,\n  3\n  , 4.0e1])",
        [T(1, "math", "1. math([\n\n  2.5,\n  3\n  , 4.0e1])", [2.5, 3, 40.0])],
    ),
    (
        "an open call ends at a line that starts a task",
        '1. search("x"\n  2 . math($1)\n',
        [T(1, "search", '1. search("x")', "x"), T(2, "math", "2 . math($1)", Ref(1), deps=(1,))],
    ),
    (
        "an open call ends at a thought",
        '1. search("x", k=[1,\nThought: next\n2. math($1)',
        [T(1, "search", '1. search("x", k=[1,])', "x", k=[1]),
         T(2, "math", "2. math($1)", Ref(1), deps=(1,), thought="next")],
    ),
    (
        "an open call ends at the end marker on its own line",
        f'1. search("x"\n{END_OF_PLAN}\n2. search("never")',
        [T(1, "search", '1. search("x")', "x")],
    ),
    (
        "an open call ends at `N. join` without parentheses",
        '1. search("x"\n2. join\n',
        [T(1, "search", '1. search("x")', "x"), T(2, JOIN, "2. join", deps=(1,))],
    ),
    (
        "comments inside a multi-line call end at their newline; the call goes on",
        "1. math([1,  # one $9 ]\n  # a whole-line comment (\n 2, $0])  # after\n2. f(1)",
        [T(1, "math", "1. math([1,  # one $9 ]\n  # a whole-line comment (\n 2, $0])", [1, 2, Ref(0)],
           error="$0 does not refer to any earlier task"),
         T(2, "f", "2. f(1)", 1)],
    ),
    (
        "a repaired multi-line call leaves its comments out, references after them still count",
        "1. search('x')\n2. math([1,  # one\n $1,  # two\n3. f($2)",
        [T(1, "search", "1. search('x')", "x"),
         T(2, "math", "2. math([1,  \n $1,])", [1, Ref(1)], deps=(1,)),
         T(3, "f", "3. f($2)", Ref(2), deps=(2,))],
    ),
    (
        "a continuation line can be cut by a comment: the call is repaired there",
        "1. math([1,\n 2  # two\n3. search('y')",
        [T(1, "math", "1. math([1,\n 2])", [1, 2]), T(3, "search", "3. search('y')", "y")],
    ),
    (
        "a plain string open at a newline is still an error (Python strings do not span lines)",
        '1. search("abc\ndef")\n2. search("y")',
        [T(1, "search", '1. search("abc', error="unterminated string in the arguments"),
         T(2, "search", '2. search("y")', "y")],
    ),
    (
        "the end marker inside a continuation line ends the plan, the call is repaired",
        f"1. math([1,\n 2{END_OF_PLAN}\n2. search('no')",
        [T(1, "math", "1. math([1,\n 2])", [1, 2])],
    ),
    (
        "the stream ends inside a multi-line call",
        "1. math([1,\n 2,\n",
        [T(1, "math", "1. math([1,\n 2,])", [1, 2])],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_multi_line_calls(text, expected):
    for chunks in splits(text):
        assert parse(chunks) == expected, chunks


def test_the_task_comes_out_as_soon_as_the_call_closes():
    parser = PlanParser(TOOLS)
    assert parser.feed("1. f([1,\n") == []
    assert parser.feed(" 2,\n 3]") == []
    (task,) = parser.feed(")")  # before the line's newline
    assert task.args == ([1, 2, 3],)
    assert parser.feed(" # done\n2. f($1)") == [T(2, "f", "2. f($1)", Ref(1), deps=(1,))]


def test_a_repaired_call_comes_out_as_soon_as_the_next_task_starts():
    parser = PlanParser(TOOLS)
    assert parser.feed('1. search("x"\n') == []
    assert parser.feed("2") == []  # `2,` would continue the call
    assert parser.feed(". ma") == []
    assert parser.feed("th(") == [T(1, "search", '1. search("x")', "x")]


def test_many_continuation_lines_are_one_call():
    n = 50_000
    text = "1. math([\n" + "".join(f"  {i},\n" for i in range(n)) + "])\n"
    for chunks in ([text], [text[i : i + 7] for i in range(0, len(text), 7)]):
        (task,) = parse(chunks)
        assert task.error is None and task.args == (list(range(n)),)


def test_the_line_limit_bounds_a_multi_line_call(monkeypatch):
    monkeypatch.setattr(parser_module, "MAX_LINE_CHARS", 1_000)
    text = "1. math([\n" + "  1,\n" * 400 + "])\n2. search('y')\n"
    first, second = parse([text])
    assert first.error == "the line is longer than 1,000 characters, the limit for one plan line"
    assert second == T(2, "search", "2. search('y')", "y")
    assert MAX_LINE_CHARS > 1_000


# -- properties -------------------------------------------------------------------------

scalars = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(['"a b"', "'c'", '"$1"', '"see ${2} and $1"', "$1", "${2}", "true", "None", "2.5", "-0.5e-3", '""']),
)
# a value as a list of tokens; the tokens are later joined with random separators
values = st.recursive(
    scalars.map(lambda s: [s]),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: ["[", *[t for x in xs for t in [*x, ","]], "]"]),
        st.lists(inner, max_size=3).map(lambda xs: ["(", *[t for x in xs for t in [*x, ","]], ")"]),
        st.lists(st.tuples(scalars, inner), max_size=2).map(
            lambda kv: ["{", *[t for k, v in kv for t in [k, ":", *v, ","]], "}"]
        ),
    ),
    max_leaves=8,
)
separators = st.sampled_from(["", " ", "\n", "\n    ", "\n\n  ", " \n\t"])
# a comment inside a wrapped call ends at its newline; brackets, quotes and `$` in it do not count
commented = separators | st.sampled_from(["  # note ) ] $9 '\n  ", "\n# (\n"])


@st.composite
def multi_line_calls(draw, gaps=separators):
    """A call with its tokens joined by random spaces and newlines (`gaps`), and the same call on one line."""
    tokens = ["f", "("]
    for value in draw(st.lists(values, max_size=3)):
        tokens += [*value, ","]
    if draw(st.booleans()):
        tokens += ["k", "=", *draw(values), ","]
    tokens.append(")")
    wrapped = tokens[0] + tokens[1]
    for token in tokens[2:]:
        # a newline right after `(`/`,`/`[`/`{` or before a closer: as a model wraps a call
        wrapped += draw(gaps) + token
    return "2. " + wrapped, "2. " + " ".join(tokens[:2]) + " ".join(tokens[2:])


@SETTINGS
@given(multi_line_calls(commented), st.lists(st.integers(min_value=0, max_value=300), max_size=10))
def test_a_multi_line_call_is_the_call_on_one_line_under_any_chunking(calls, cuts):
    wrapped, one_line = calls
    text = f'1. search("x")\n{wrapped}\n3. join(){END_OF_PLAN}'
    whole = parse([text])
    points = sorted({min(c, len(text)) for c in cuts})
    assert parse([text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]) == whole
    assert parse(list(text)) == whole
    (flat,) = [t for t in parse([f'1. search("x")\n{one_line}\n']) if t.idx == 2]
    assert [t.idx for t in whole] == [1, 2, 3]
    task = whole[1]
    assert (task.args, task.kwargs, task.deps, task.error) == (flat.args, flat.kwargs, flat.deps, flat.error)
    assert task.text == wrapped[:-1].strip() + ")"  # space before the ")" left out, as on one line


arg_pieces = st.one_of(
    st.sampled_from(["1", "-2", "007", "00", "0", "1.5", "1.", ".5", "1e3", "1_0", "0x1", "-0.0", "$1", "$01", "${0}",
                     "${12}", "$1a", "$", "$$1", "True", "true", "None", "null", "Truex", "'a'", '"b"', '"$3"', "'${4}x'",
                     '""', '"""t"""', "'\\n'", 'r"x"', "b'y'", '"a" "b"', '"\x00"', '"\ud800"', '"é東"', "[", "]", "(",
                     ")", "{", "}", ",", ":", "=", "k=", "if=", "__debug__=", "None=", "k =", "x", "*", "**", " ", "\n",
                     "\t", "\x0c", "\u00a0", "-", "+", "#"]),
    st.integers(-10**20, 10**20).map(str),
)


@SETTINGS
@given(st.lists(arg_pieces, max_size=14).map("".join))
def test_the_fast_path_agrees_with_pythons_parser(body):
    line = "1. f(" + body
    start = len("1. f(")
    fast = parser_module._fast_arguments(line, start, len(line))
    if fast is None:
        return  # not a simple shape: the ast path decides
    assert typed(parser_module._ast_arguments(line, start)) == typed(fast)


def typed(value):
    """`value` with every element's type next to it: 1, 1.0 and True are equal, but not here."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(map(repr, value)))
    return (type(value).__name__, value)


@SETTINGS
@given(multi_line_calls())
def test_the_fast_path_reads_wrapped_calls_as_pythons_parser_does(calls):
    for call in calls:
        line = call[: call.rindex(")")]  # up to the call's closing parenthesis
        start = call.index("(") + 1
        fast = parser_module._fast_arguments(line, start, len(line))
        assert fast is not None, call  # every shape here is a simple one
        assert typed(parser_module._ast_arguments(line, start)) == typed(fast)
