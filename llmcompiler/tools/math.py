"""The `math` tool: a model writes one arithmetic expression, `safe_eval` computes it.

    from llmcompiler.tools.math import make_math_tool, safe_eval

    safe_eval("sqrt(16) + 2**10")            # 1028.0
    math_tool = make_math_tool(model)        # math(problem: str, context: list[str] | None = None)

`safe_eval` never calls `eval`: it parses the expression and walks a whitelist of syntax
(numbers, ``+ - * / // % **``, unary ``+``/``-``, parentheses, the names ``pi`` and
``e``, and the functions in `FUNCTIONS`), with limits on the input's length, its nesting
and the size of every intermediate integer.

The tool asks its model (through `llmcompiler.llm.complete`, so its tokens count in the
run as role "tool") to turn the problem and its context into one expression inside
```` ```text ... ``` ````, evaluates it and returns the number, rounded to 3 decimals as
the original LLMCompiler tool did. A model answer without a usable expression, or an
expression `safe_eval` refuses, raises `MathError`, so the task fails with
``ERROR: MathError: ...``.
"""

from __future__ import annotations

import ast
import math as _m
import re
from collections.abc import Callable, Sequence
from typing import Any

from llmcompiler._text import shorten
from llmcompiler.exceptions import ToolError
from llmcompiler.llm.base import complete, system, user
from llmcompiler.tools.base import Tool

__all__ = [
    "FUNCTIONS",
    "MAX_EXPRESSION_LENGTH",
    "MathError",
    "evaluate_expression",
    "extract_expression",
    "make_math_tool",
    "round_result",
    "safe_eval",
]

Number = int | float

MAX_EXPRESSION_LENGTH = 1000
MAX_DEPTH = 50  # nesting of the expression tree
MAX_INT_BITS = 10_000  # about 3,000 decimal digits
ROUND_DIGITS = 3  # the original rounded math results to 3 decimal places

CONSTANTS: dict[str, float] = {"pi": _m.pi, "e": _m.e}


class MathError(ToolError, ValueError):
    """An expression that can't or mustn't be computed, or a model answer without one."""


def _log(x: Number, base: Number | None = None) -> float:
    return _m.log(x) if base is None else _m.log(x, base)


def _round(x: Number, ndigits: int | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int):
        raise MathError(f"round()'s second argument must be a whole number, got {ndigits!r}")
    return round(x, ndigits)


def _minmax(fn: Callable[..., Number]) -> Callable[..., Number]:
    def pick(*args: Number) -> Number:
        if not args:
            raise MathError(f"{fn.__name__}() needs at least one number")
        return fn(args)

    return pick


def _pow2(base: Number, exponent: Number) -> Number:
    return _power(base, exponent)


#: Functions an expression may call, with the numbers of arguments each takes.
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (_minmax(min), 1, 1000),
    "max": (_minmax(max), 1, 1000),
    "sqrt": (_m.sqrt, 1, 1),
    "log": (_log, 1, 2),
    "log10": (_m.log10, 1, 1),
    "exp": (_m.exp, 1, 1),
    "sin": (_m.sin, 1, 1),
    "cos": (_m.cos, 1, 1),
    "tan": (_m.tan, 1, 1),
    "floor": (_m.floor, 1, 1),
    "ceil": (_m.ceil, 1, 1),
    "pow": (_pow2, 2, 2),
}

_BINARY: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: a / b),
    ast.FloorDiv: ("//", lambda a, b: a // b),
    ast.Mod: ("%", lambda a, b: a % b),
}
_OPERATOR_NAMES = {
    ast.BitXor: "^ (use ** for powers)",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "conditional expressions",
    ast.Tuple: "tuples (write numbers without thousands separators: 1000000, not 1,000,000)",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "strings",
    ast.NamedExpr: "assignments",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def _check_int(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise MathError(f"result too large (over {MAX_INT_BITS} bits)")
    if isinstance(value, float) and not _m.isfinite(value):
        raise MathError("result is not a finite number (overflow)")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        # Refuse before computing: 9**9**9 would take hours and gigabytes.
        if exponent * _m.log2(abs(base)) > MAX_INT_BITS:
            raise MathError(f"power too large: {base}**{exponent} has more than {MAX_INT_BITS} bits")
    if isinstance(base, (int, float)) and isinstance(exponent, (int, float)):
        if base < 0 and isinstance(exponent, float) and not exponent.is_integer():
            raise MathError(f"a negative number to a fractional power is not a real number: ({base})**{exponent}")
    try:
        return base**exponent
    except OverflowError:
        raise MathError(f"power too large: {base}**{exponent} overflows") from None


class _Evaluator:
    def __init__(self) -> None:
        self.depth = 0

    def visit(self, node: ast.AST) -> Number:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathError(f"expression nested too deeply (over {MAX_DEPTH} levels)")
        try:
            return _check_int(self._visit(node))
        finally:
            self.depth -= 1

    def _visit(self, node: ast.AST) -> Number:
        if isinstance(node, ast.Expression):
            return self.visit(node.body)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                kind = "strings" if isinstance(value, (str, bytes)) else f"{type(value).__name__} values"
                raise MathError(f"{kind} are not allowed in a math expression: {value!r}")
            return value
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op is ast.Pow:
                return _power(self.visit(node.left), self.visit(node.right))
            if op not in _BINARY:
                raise MathError(f"operator {_OPERATOR_NAMES.get(op, op.__name__)} is not allowed")
            symbol, fn = _BINARY[op]
            left, right = self.visit(node.left), self.visit(node.right)
            try:
                return fn(left, right)
            except ZeroDivisionError:
                raise MathError(f"division by zero in {ast.unparse(node)}") from None
            except OverflowError:
                raise MathError(f"result too large in {ast.unparse(node)}") from None
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return +self.visit(node.operand)
            unary = type(node.op)
            raise MathError(f"operator {_OPERATOR_NAMES.get(unary, unary.__name__)} is not allowed")
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id in FUNCTIONS:
                raise MathError(f"{node.id} is a function: call it, e.g. {node.id}(2)")
            raise MathError(
                f"name {node.id!r} is not allowed (only numbers, pi and e; "
                "write the value itself instead of a variable)"
            )
        if isinstance(node, ast.Call):
            return self._call(node)
        what = _FORBIDDEN.get(type(node), type(node).__name__)
        raise MathError(f"{what} not allowed in a math expression")

    def _call(self, node: ast.Call) -> Number:
        if not isinstance(node.func, ast.Name):
            what = _FORBIDDEN.get(type(node.func))
            if what is not None:
                raise MathError(f"{what} not allowed in a math expression")
            raise MathError("only calls of the allowed functions, by name, are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS)
            raise MathError(f"function {name!r} is not allowed (allowed: {allowed})")
        if node.keywords:
            raise MathError(f"{name}() takes no keyword arguments")
        fn, low, high = FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            count = str(low) if low == high else f"{low} to {high}"
            raise MathError(f"{name}() takes {count} argument{'s' if high > 1 else ''}, got {len(node.args)}")
        args = [self.visit(a) for a in node.args]
        try:
            return fn(*args)
        except MathError:
            raise
        except ZeroDivisionError:
            raise MathError(f"division by zero in {ast.unparse(node)}") from None
        except OverflowError:
            raise MathError(f"result too large in {ast.unparse(node)}") from None
        except (ValueError, TypeError) as exc:
            raise MathError(f"{ast.unparse(node)}: {exc}") from None


def safe_eval(expression: str) -> Number:
    """Compute an arithmetic expression without `eval`.

    Allowed: int and float literals, ``+ - * / // % **``, unary ``+``/``-``,
    parentheses, ``pi``, ``e`` and calls of `FUNCTIONS` by name. Anything else
    (names, attributes, strings, lambdas, comparisons, ...) raises `MathError`, as do
    division by zero, math domain errors, powers over `MAX_INT_BITS` bits, non-finite
    results and inputs over `MAX_EXPRESSION_LENGTH` characters.
    """
    if not isinstance(expression, str):
        raise MathError(f"expression must be a string, got {type(expression).__name__}")
    text = expression.strip()
    if not text:
        raise MathError("empty expression")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise MathError(f"expression too long ({len(text)} characters, at most {MAX_EXPRESSION_LENGTH})")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise MathError(f"not a valid expression: {text!r} ({exc.msg})") from None
    except (RecursionError, MemoryError, ValueError):
        raise MathError(f"not a valid expression: {_clip(text)!r}") from None
    try:
        return _Evaluator().visit(tree)
    except RecursionError:  # pragma: no cover - MAX_DEPTH comes first
        raise MathError("expression nested too deeply") from None


def round_result(value: Number) -> Number:
    """Round as the original LLMCompiler math tool did: to 3 decimal places. Integers
    stay integers (the original also turned them into floats: 14 -> 14.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MathError(f"result is not a number: {value!r}")
    if isinstance(value, int):
        return value
    return round(value, ROUND_DIGITS)


# --------------------------------------------------------------------------------------
# The model-backed tool
# --------------------------------------------------------------------------------------

_INSTRUCTIONS = """\
You turn a math question into ONE arithmetic expression that a calculator evaluates.

Rules:
- Write only numbers, operators (+ - * / // % **), parentheses and these functions: \
abs, round, min, max, sqrt, log, log10, exp, sin, cos, tan, floor, ceil, pow. \
The constants pi and e may be used.
- Never use variables or names of things: copy the numbers you need from the question or \
the context (e.g. write 29032 * 0.3048, not everest_height_ft * 0.3048).
- Write numbers without units, currency signs, percent signs or thousands separators \
(1500000, not 1,500,000 or $1.5 million).
- Convert values to the same unit before combining them, and give the result in the unit \
the question asks for. For "in millions", write the number of millions (e.g. 12.5).
- A difference between two values is positive: subtract the smaller from the larger.
- Exactly one expression, no explanation, inside a ```text block.
"""

DEFAULT_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("How much is 15% of 2,340?", "2340 * 15 / 100"),
    (
        "Context:\nThe Eiffel Tower is 330 m tall.\n\nContext 2:\nThe Statue of Liberty is 93 metres tall "
        "from ground to torch.\n\nQuestion: How many times taller is the Eiffel Tower than the Statue of Liberty?",
        "330 / 93",
    ),
    (
        "Context:\nLake Baikal has a maximum depth of 1,642 m (5,387 ft).\n\n"
        "Question: What is the depth of Lake Baikal in kilometers, minus 1?",
        "1642 / 1000 - 1",
    ),
)


def _render_examples(examples: str | Sequence[tuple[str, str]] | None) -> str:
    if isinstance(examples, str):
        return examples.strip()
    pairs = DEFAULT_EXAMPLES if examples is None else tuple(examples)
    blocks = [f"Question: {q}\n```text\n{x}\n```" for q, x in pairs]
    return "\n\n".join(blocks)


def _context_items(context: Any) -> list[str]:
    if context is None:
        return []
    if isinstance(context, (str, int, float)):
        context = [context]
    try:
        items = list(context)
    except TypeError:
        items = [context]
    return [str(c) for c in items if c is not None and str(c).strip()]


def build_prompt(problem: str, context: Any = None) -> str:
    """The user message for one problem: its context (numbered when there are several),
    then the question."""
    items = _context_items(context)
    if not items:
        return f"Question: {problem}"
    if len(items) == 1:
        ctx = f"Context:\n{items[0]}"
    else:
        ctx = "\n\n".join(f"Context {i}:\n{c}" for i, c in enumerate(items, 1))
    return f"{ctx}\n\nQuestion: {problem}"


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_THOUSANDS = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d,])")
_PREFIX = re.compile(r"^(?:answer|expression|result|math)\s*[:=]\s*", re.IGNORECASE)


def extract_expression(answer: str) -> str:
    """The expression in a model's answer: the first ```` ```text ```` (or any) code block,
    else the last non-empty line. Raises `MathError` when there is none or the block
    holds more than one line."""
    text = answer.strip()
    match = _FENCE.search(text)
    if match:
        lines = [ln.strip() for ln in match.group(2).splitlines() if ln.strip()]
        if not lines:
            raise MathError("the model's ```text block is empty")
        if len(lines) > 1:
            raise MathError(
                f"the model wrote {len(lines)} lines in its ```text block, not one expression: "
                f"{_clip(match.group(2))!r}"
            )
        expression = lines[0]
    else:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise MathError("the model's answer is empty")
        expression = lines[-1]
    expression = _PREFIX.sub("", expression.strip().strip("`").strip())
    # Forgivable habits: ^ for powers, typographic operators.
    return expression.replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-")


def evaluate_expression(expression: str) -> Number:
    """`safe_eval`, forgiving thousands separators: an expression that fails as written
    ("1,500 * 2" parses as a tuple) is tried again with "1,500" read as 1500. One that
    works as written is never reinterpreted ("max(1,234)" stays max(1, 234))."""
    try:
        return safe_eval(expression)
    except MathError:
        plain = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), expression)
        if plain == expression:
            raise
        try:
            return safe_eval(plain)
        except MathError:
            pass
        raise


def _clip(text: str) -> str:
    return shorten(text, 160, marker="...")


_MATH_DESCRIPTION = """\
{name}(problem: str, context: Optional[list[str]]) -> float:
 - Solves one math problem and returns the number (rounded to 3 decimals).
 - `problem` is a simple expression (e.g. "1 + 3") or a word problem \
(e.g. "how many apples are there if there are 3 apples and 2 apples").
 - One calculation per call: `{name}("1 + 3, 2 + 4")` does not work; call \
`{name}("1 + 3")` and `{name}("2 + 4")` instead. But fold steps into one call where you \
can: `{name}("what is 110% of $1")` rather than a percentage and then a sum.
 - `{name}` does not see earlier results unless you pass them in `context`, a list of \
strings: e.g. after 1. search("Mount Everest") write {name}("height of Everest in feet", \
context=["$1"]). Never put a search result inside `problem`.
 - State the unit you want in `problem`, e.g. "in meters" or "in millions".
"""


def make_math_tool(
    model: Any,
    *,
    name: str = "math",
    examples: str | Sequence[tuple[str, str]] | None = None,
    description: str | None = None,
    **options: Any,
) -> Tool:
    """A `Tool` ``name(problem: str, context: list[str] | None = None)`` backed by `model`.

    `model` is a `ChatModel` (or a langchain-core chat model). `examples` replaces the
    worked examples in the prompt: a string used as written, or ``(question,
    expression)`` pairs. `options` are `Tool`'s keyword options (timeout, retries,
    max_concurrency).
    """
    from llmcompiler.llm.factory import as_model  # lazy: keeps `import llmcompiler.tools.math` light

    chat = as_model(model, role="math tool model")
    instructions = _INSTRUCTIONS + "\nExamples:\n\n" + _render_examples(examples) + "\n"

    async def solve(problem: str, context: list[str] | None = None) -> float:
        if not isinstance(problem, str):
            problem = str(problem)
        if not problem.strip():
            raise MathError("the problem is empty")
        messages = [system(instructions), user(build_prompt(problem, context))]
        answer, _ = await complete(chat, messages, stop=["```output"], role="tool")
        try:
            expression = extract_expression(answer)
        except MathError as exc:
            raise MathError(f"{exc} (problem: {_clip(problem)!r}; model answer: {_clip(answer)!r})") from None
        try:
            value = evaluate_expression(expression)
        except MathError as exc:
            raise MathError(
                f"cannot evaluate the model's expression {_clip(expression)!r} for problem {_clip(problem)!r}: {exc}"
            ) from None
        return round_result(value)

    solve.__name__ = solve.__qualname__ = name
    text = description if description is not None else _MATH_DESCRIPTION.format(name=name)
    return Tool(
        name, solve, text, stringify_rule=lambda args: f"{name}({args[0]!r})" if args else f"{name}()", **options
    )
