"""The plan grammars: `plan_gbnf` (llama.cpp) and `plan_regex` (vLLM).

The GBNF text is read by a small interpreter in this file (enough GBNF for what
`plan_gbnf` writes: literals, character classes, groups, alternatives, `? * + {m,n}`):
it checks that the plans the parser reads are admitted, that near misses are not, and it
samples strings from the grammar to check that the parser reads every one of them. Where
llama-cpp-python is installed, llama.cpp's own grammar parser must accept the text too
(it is not a test dependency: without it that test is skipped).
"""

from __future__ import annotations

import importlib.util
import keyword
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmcompiler.plan import END_OF_PLAN, JOIN, PlanParser, plan_gbnf, plan_regex

TOOLS = ["search", "math"]
CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
SUITE_TOOLS = {"hotpotqa": ["search"], "movie": ["search"], "parallelqa": ["search", "math"]}


# -- a small GBNF interpreter ------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Cls:
    negated: bool
    ranges: tuple[tuple[str, str], ...]

    def admits(self, c: str) -> bool:
        inside = any(lo <= c <= hi for lo, hi in self.ranges)
        return inside != self.negated


@dataclass(frozen=True)
class RuleRef:
    name: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Rep:
    item: Node
    low: int
    high: int | None  # None: unbounded


Node = Lit | Cls | RuleRef | Seq | Alt | Rep

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-", "'": "'"}


class _Reader:
    """Recursive descent over one rule's right-hand side."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def skip(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\n":
            self.i += 1

    def char(self) -> str:
        c = self.s[self.i]
        if c != "\\":
            self.i += 1
            return c
        e = self.s[self.i + 1]
        if e in "xu":
            width = 2 if e == "x" else 4
            value = chr(int(self.s[self.i + 2 : self.i + 2 + width], 16))
            self.i += 2 + width
            return value
        self.i += 2
        return _ESCAPES[e]

    def expr(self) -> Node:
        options = [self.seq()]
        while self.i < len(self.s) and self.s[self.i] == "|":
            self.i += 1
            options.append(self.seq())
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def seq(self) -> Node:
        items: list[Node] = []
        while True:
            self.skip()
            if self.i >= len(self.s) or self.s[self.i] in "|)":
                break
            items.append(self.postfix(self.term()))
        return items[0] if len(items) == 1 else Seq(tuple(items))

    def term(self) -> Node:
        c = self.s[self.i]
        if c == '"':
            self.i += 1
            out = []
            while self.s[self.i] != '"':
                out.append(self.char())
            self.i += 1
            return Lit("".join(out))
        if c == "[":
            self.i += 1
            negated = self.s[self.i] == "^"
            self.i += negated
            ranges = []
            while self.s[self.i] != "]":
                lo = self.char()
                hi = lo
                if self.s[self.i] == "-" and self.s[self.i + 1] != "]":
                    self.i += 1
                    hi = self.char()
                ranges.append((lo, hi))
            self.i += 1
            return Cls(negated, tuple(ranges))
        if c == "(":
            self.i += 1
            inner = self.expr()
            assert self.s[self.i] == ")", self.s[self.i :]
            self.i += 1
            return inner
        name = re.match(r"[A-Za-z0-9-]+", self.s[self.i :])
        assert name is not None, f"cannot read GBNF at {self.s[self.i:self.i + 20]!r}"
        self.i += name.end()
        return RuleRef(name.group())

    def postfix(self, node: Node) -> Node:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "?":
                node = Rep(node, 0, 1)
            elif c == "*":
                node = Rep(node, 0, None)
            elif c == "+":
                node = Rep(node, 1, None)
            elif c == "{":
                m = re.match(r"\{(\d+)(,(\d*))?\}", self.s[self.i :])
                assert m is not None
                low = int(m.group(1))
                high = low if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
                self.i += m.end() - 1
                node = Rep(node, low, high)
            else:
                break
            self.i += 1
        return node


class Grammar:
    def __init__(self, text: str) -> None:
        self.rules: dict[str, Node] = {}
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, body = line.partition("::=")
            assert sep, f"not a rule: {line!r}"
            assert name.strip() not in self.rules, f"rule defined twice: {name}"
            reader = _Reader(body.strip())
            self.rules[name.strip()] = reader.expr()
            assert reader.i == len(reader.s), f"unread GBNF: {reader.s[reader.i:]!r}"
        for name in self._referenced(self.rules.values()):
            assert name in self.rules, f"undefined rule {name}"
        self._min: dict[str, int] = {}

    def _referenced(self, nodes) -> set[str]:
        out: set[str] = set()
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if isinstance(node, RuleRef):
                out.add(node.name)
            elif isinstance(node, Seq):
                stack.extend(node.items)
            elif isinstance(node, Alt):
                stack.extend(node.options)
            elif isinstance(node, Rep):
                stack.append(node.item)
        return out

    # matching: the set of positions where `node` can end when it starts at `pos`

    def matches(self, text: str, rule: str = "root") -> bool:
        memo: dict[tuple[str, int], frozenset[int]] = {}
        return len(text) in self._ends(self.rules[rule], text, 0, memo)

    def _ends(self, node: Node, text: str, pos: int, memo) -> frozenset[int]:
        if isinstance(node, Lit):
            return frozenset({pos + len(node.text)}) if text.startswith(node.text, pos) else frozenset()
        if isinstance(node, Cls):
            return frozenset({pos + 1}) if pos < len(text) and node.admits(text[pos]) else frozenset()
        if isinstance(node, RuleRef):
            key = (node.name, pos)
            if key not in memo:
                memo[key] = frozenset()  # no left recursion in these grammars
                memo[key] = self._ends(self.rules[node.name], text, pos, memo)
            return memo[key]
        if isinstance(node, Seq):
            current = frozenset({pos})
            for item in node.items:
                current = frozenset(e for p in current for e in self._ends(item, text, p, memo))
                if not current:
                    break
            return current
        if isinstance(node, Alt):
            return frozenset(e for option in node.options for e in self._ends(option, text, pos, memo))
        assert isinstance(node, Rep)
        out: set[int] = {pos} if node.low == 0 else set()
        frontier, seen, count = {pos}, {pos}, 0
        while frontier and (node.high is None or count < node.high):
            count += 1
            frontier = {e for p in frontier for e in self._ends(node.item, text, p, memo)}
            if node.high is None:
                frontier -= seen
                seen |= frontier
            if count >= node.low:
                out |= frontier
        return frozenset(out)

    # sampling: random strings of the language, preferring short choices when deep

    def min_length(self, node: Node) -> int:
        if not self._min:
            for name in self.rules:
                self._min[name] = 10**9
            changed = True
            while changed:
                changed = False
                for name, body in self.rules.items():
                    value = self._min_of(body)
                    if value < self._min[name]:
                        self._min[name], changed = value, True
        return self._min_of(node)

    def _min_of(self, node: Node) -> int:
        if isinstance(node, Lit):
            return len(node.text)
        if isinstance(node, Cls):
            return 1
        if isinstance(node, RuleRef):
            return self._min[node.name]
        if isinstance(node, Seq):
            return sum(self._min_of(i) for i in node.items)
        if isinstance(node, Alt):
            return min(self._min_of(o) for o in node.options)
        return node.low * self._min_of(node.item)

    def sample(self, rng: random.Random, rule: str = "root", max_depth: int = 12) -> str:
        self.min_length(self.rules[rule])
        out: list[str] = []
        self._gen(self.rules[rule], rng, 0, max_depth, out)
        return "".join(out)

    _ALPHABET = "abcXYZ 019_$#()[]{},.=:;'\"\\/<>-+*%!?é中😀\t"

    def _gen(self, node: Node, rng: random.Random, depth: int, max_depth: int, out: list[str]) -> None:
        deep = depth > max_depth
        if isinstance(node, Lit):
            out.append(node.text)
        elif isinstance(node, Cls):
            if node.negated:
                out.append(rng.choice([c for c in self._ALPHABET if node.admits(c)]))
            else:
                lo, hi = rng.choice(node.ranges)
                out.append(chr(rng.randint(ord(lo), ord(hi))))
        elif isinstance(node, RuleRef):
            self._gen(self.rules[node.name], rng, depth + 1, max_depth, out)
        elif isinstance(node, Seq):
            for item in node.items:
                self._gen(item, rng, depth, max_depth, out)
        elif isinstance(node, Alt):
            if deep:
                option = min(node.options, key=self._min_of)
            else:
                option = rng.choice(node.options)
            self._gen(option, rng, depth, max_depth, out)
        else:
            count = node.low
            limit = node.high if node.high is not None else node.low + 12
            while count < limit and not deep and rng.random() < 0.6:
                count += 1
            for _ in range(count):
                self._gen(node.item, rng, depth, max_depth, out)


@pytest.fixture(scope="module")
def grammar() -> Grammar:
    return Grammar(plan_gbnf(TOOLS))


def test_the_interpreter_reads_and_rejects() -> None:
    g = Grammar('root ::= "a" [0-9]{1,2} ("-" | "+")? x*\nx ::= [^\\n"0-9]')
    assert g.matches("a1") and g.matches("a12+") and g.matches("a9-zz")
    assert not g.matches("a") and not g.matches("a123") and not g.matches('a1"') and not g.matches("a1\n")


# -- what the grammar admits ---------------------------------------------------------------

VALID_PLANS = [
    # the plan of DESIGN.md
    'Thought: optional reasoning, attached to the next action\n1. search("Mount Everest")\n'
    '2. search(entity="K2")\n3. math("height difference in meters", context=["$1", "$2"])\n'
    "4. join()<END_OF_PLAN>",
    "1. join()",
    "1. join()<END_OF_PLAN>",
    '1. search("a")\n2. join()',
    "1. search('single quotes')\nThought: the last thought\n2. join()",
    '1. search("escapes: \\" \\\\ \\n \\t \\x41 \\u00e9 and \'")\n2. join()',
    "1. search('it\\'s')\n2. join()",
    '1. search("unicode é 中 😀 and # $ ( ) [ ] { }")\n2. join()',
    "1. search()\n2. math(1, -2, 3.5, -0.25, 1e9, 2.5E-3, 0)\n3. join()",
    "1. math(2)\n2. math($1)\n3. math(${1}, x=${2})\n4. join()",
    '1. search("a")\n2. math("$1 plus ${1}", context=[$1, "$1"])\n3. join()',
    "1. math([1, [2, [3, []]]], (1, 2), (), {\"k\": [1, {\"n\": None}]}, {})\n2. join()",
    "1. math(True, False, None, true, false, null)\n2. join()",
    "1. math(a=1, b_2='x', _c=[1,2],d =3, e= 4)\n2. join()",
    '1. math("x",y=1)\n2. join()',
    "1. math({1: 'one', 'two': 2})\n2. join()",
    "7. search('replan numbering')\n8. math($7, context=[$3])\n9. join()<END_OF_PLAN>",
]


@pytest.mark.parametrize("plan", VALID_PLANS)
def test_valid_plans_are_admitted_and_parse(grammar: Grammar, plan: str) -> None:
    assert grammar.matches(plan), plan
    assert re.fullmatch(plan_regex(TOOLS), plan), plan
    known = range(1, 7) if plan.startswith("7.") else None
    parser = PlanParser(TOOLS, first_id=7 if known else 1, known_ids=known)
    tasks = parser.feed(plan) + parser.close()
    assert [t.error for t in tasks] == [None] * len(tasks), plan
    assert tasks[-1].tool == JOIN


def _example_plans(text: str) -> list[str]:
    plans = []
    for example in text.split("###"):
        lines = example.strip().splitlines()
        start = next((i for i, line in enumerate(lines) if re.match(r"(Thought:|\d+\. )", line)), None)
        if start is not None:
            plans.append("\n".join(lines[start:]))
    return plans


@pytest.mark.parametrize("suite", sorted(SUITE_TOOLS))
@pytest.mark.parametrize("part", ["gpt_prompts", "llama_prompts"])
def test_every_example_plan_of_the_suites_is_admitted(suite: str, part: str) -> None:
    path = CONFIGS_DIR / suite / f"{part}.py"
    spec = importlib.util.spec_from_file_location(f"_grammar_{suite}_{part}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plans = _example_plans(module.PLANNER_EXAMPLES)
    assert plans, f"no plans found in {path}"
    g = Grammar(plan_gbnf(SUITE_TOOLS[suite]))
    for plan in plans:
        assert plan.endswith(f"join(){END_OF_PLAN}")
        assert g.matches(plan), plan


INVALID_PLANS = {
    "unknown tool": '1. lookup("x")\n2. join()',
    "a tool of another suite": '1. calendar("x")\n2. join()',
    "prefix of a tool name": '1. sear("x")\n2. join()',
    "no join": '1. search("x")\n',
    "no join at all": '1. search("x")',
    "empty": "",
    "a call after join": '1. join()\n2. search("x")',
    "text after join": "1. join() and then some",
    "unnumbered call": 'search("x")\n1. join()',
    "id 0": '0. search("x")\n1. join()',
    "id with a leading zero": '01. search("x")\n2. join()',
    "id of seven digits": '1234567. search("x")\n1234568. join()',
    "bare name argument": "1. search(Everest)\n2. join()",
    "positional after keyword": '1. search(q="x", "y")\n2. join()',
    "unterminated string": '1. search("x)\n2. join()',
    "newline inside a string": '1. search("x\ny")\n2. join()',
    "unbalanced brackets": "1. math([1, 2)\n2. join()",
    "invalid escape": '1. search("\\q")\n2. join()',
    "short \\x escape": '1. search("\\x4")\n2. join()',
    "number with a leading zero": "1. math(007)\n2. join()",
    "expression": "1. math(1 + 2)\n2. join()",
    "$0": "1. math($0)\n2. join()",
    "bare dollar": "1. math($)\n2. join()",
    "call inside arguments": "1. math(len([1]))\n2. join()",
    "star args": "1. math(*[1])\n2. join()",
    "comment after the call": '1. search("x")  # note\n2. join()',
    "blank line": '1. search("x")\n\n2. join()',
    "lowercase thought": 'thought: x\n1. search("x")\n2. join()',
    "two thoughts in a row": 'Thought: a\nThought: b\n1. search("x")\n2. join()',
    "keyword name of 33 characters": f"1. math({'k' * 33}=1)\n2. join()",
    "join with arguments": "1. join(1)",
    "space before the parenthesis": '1. search ("x")\n2. join()',
}


@pytest.mark.parametrize("name", sorted(INVALID_PLANS))
def test_near_misses_are_not_admitted(grammar: Grammar, name: str) -> None:
    assert not grammar.matches(INVALID_PLANS[name])


def test_tools_outside_the_set_are_not_admitted() -> None:
    g = Grammar(plan_gbnf(["search"]))
    assert g.matches('1. search("x")\n2. join()')
    assert not g.matches('1. math("x")\n2. join()')


# -- sampled strings: every one is a plan the parser reads -----------------------------------

# What a context-free grammar cannot rule out (see the module docstring of plan.grammar).
_SEMANTIC = re.compile(
    r"duplicate task id|is a forward reference|does not refer to any earlier task|refers to the task itself"
    r"|keyword argument repeated"
)


def test_every_sampled_plan_parses(grammar: Grammar) -> None:
    rng = random.Random(20240605)
    regex = re.compile(plan_regex(TOOLS))
    semantic = keyword_names = 0
    samples = [grammar.sample(rng) for _ in range(300)]
    assert len(set(samples)) > 250  # the sampler explores the grammar
    assert any("'" in s for s in samples) and any("{" in s for s in samples) and any("=" in s for s in samples)
    for k, text in enumerate(samples):
        if k < 40:  # the interpreter's matcher and sampler agree
            assert grammar.matches(text), text
        assert regex.fullmatch(text), text  # the GBNF language lies inside the vLLM regex's
        parser = PlanParser(TOOLS)
        tasks = parser.feed(text) + parser.close()
        assert parser.has_join or tasks[-1].error, text
        assert tasks[-1].tool == JOIN, text
        for task in tasks:
            if task.error is None:
                continue
            names = re.findall(r"[(,] ?([A-Za-z_]\w*) ?=", task.text or "")
            if any(keyword.iskeyword(n) or n in ("True", "False", "None") for n in names):
                keyword_names += 1  # `if=1` is not Python
                continue
            assert _SEMANTIC.search(task.error), f"{task.error}\n{text}"
            semantic += 1
    assert semantic > 0  # random ids and references: the parser's checks did run


def test_sampled_plans_stream_like_whole_ones(grammar: Grammar) -> None:
    rng = random.Random(7)
    for _ in range(50):
        text = grammar.sample(rng)
        whole = PlanParser(TOOLS)
        expected = whole.feed(text) + whole.close()
        streamed = PlanParser(TOOLS)
        got, i = [], 0
        while i < len(text):
            step = rng.randint(1, 6)
            got += streamed.feed(text[i : i + step])
            i += step
        got += streamed.close()
        assert [(t.idx, t.tool, t.args, t.kwargs, t.error) for t in got] == [
            (t.idx, t.tool, t.args, t.kwargs, t.error) for t in expected
        ]


# -- the text itself -------------------------------------------------------------------------


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name


def test_tools_by_name_or_object_give_the_same_text() -> None:
    text = plan_gbnf(["search", "math", "search"])
    assert text == plan_gbnf([_Named("math"), _Named("search")])
    assert text.splitlines()[0].startswith("root ::= ")
    assert 'plan-tool ::= "math" | "search"' in text
    assert all(re.fullmatch(r"[a-z0-9-]+ ::= .+", line) for line in text.splitlines())


@pytest.mark.parametrize(
    ("tools", "message"),
    [([], "at least one tool"), (["my-tool"], "cannot appear in a plan"), (["join"], "join() ends every plan"), (["1x"], "[A-Za-z_]")],
)
def test_tools_the_parser_cannot_read_are_refused(tools: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_gbnf(tools)


def test_unicode_tool_names() -> None:
    g = Grammar(plan_gbnf(["café"]))
    assert g.matches("1. café('x')\n2. join()")
    parser = PlanParser(["café"])
    assert [t.error for t in parser.feed("1. café('x')\n2. join()") + parser.close()] == [None, None]


# -- llama.cpp's own parser (only where llama-cpp-python is installed) ------------------------


def test_llama_cpp_accepts_the_grammar() -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (not a test dependency)")
    # a vocabulary is needed only to sample, not to parse: NULL is enough here
    for tools in (["search"], ["search", "math"], ["café", "lookup_2"]):
        sampler = llama_cpp.llama_sampler_init_grammar(None, plan_gbnf(tools).encode(), b"root")
        assert sampler, f"llama.cpp rejected the grammar for {tools}"
        llama_cpp.llama_sampler_free(sampler)
    # the check can fail: a grammar with an undefined rule is refused
    assert not llama_cpp.llama_sampler_init_grammar(None, b"root ::= plan-missing", b"root")
