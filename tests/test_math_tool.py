"""safe_eval and the model-backed math tool."""

from __future__ import annotations

import math
import re
import time

import pytest

from llmcompiler import LLMCompiler, TaskStatus, tool
from llmcompiler.llm import ScriptedModel
from llmcompiler.tools import Tool
from llmcompiler.tools.math import (
    MAX_EXPRESSION_LENGTH,
    MathError,
    extract_expression,
    make_math_tool,
    round_result,
    safe_eval,
)

# -- safe_eval ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("(3 + 4) * 2", 14),
        ("37593 * 67", 2518731),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("-2 ** 2", -4),
        ("+5 - -3", 8),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("37593 ** (1 / 5)", 37593 ** (1 / 5)),
        ("pi * 2", 2 * math.pi),
        ("e", math.e),
        ("abs(-3.5) + round(2.5) + round(2.345, 2)", 3.5 + 2 + 2.35),
        ("min(3, 1, 2) + max(3, 1, 2)", 4),
        ("sqrt(16) + log(e) + log(8, 2) + log10(1000) + exp(0)", 12.0),
        ("sin(0) + cos(0) + tan(0)", 1.0),
        ("floor(2.7) + ceil(2.1) + pow(2, 3)", 2 + 3 + 8),
        ("  1.5e3 + 1_000  ", 2500.0),
        ("((((1 + 2))))", 3),
    ],
)
def test_safe_eval_computes(expression, expected):
    value = safe_eval(expression)
    assert value == pytest.approx(expected)
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "attribute access not allowed"),
        ("__import__('os')", "function '__import__' is not allowed"),
        ("().__class__", "attribute access not allowed"),
        ("open('/etc/passwd')", "function 'open' is not allowed"),
        ("(lambda: 1)()", "lambda not allowed"),
        ("lambda: 1", "lambda not allowed"),
        ("x + 1", "name 'x' is not allowed"),
        ("gazelle_max_speed * 1.4", "name 'gazelle_max_speed' is not allowed"),
        ("'a' * 3", "strings are not allowed"),
        ("True + 1", "bool values are not allowed"),
        ("1j * 2", "complex values are not allowed"),
        ("[1, 2][0]", "indexing not allowed"),
        ("[1, 2]", "lists not allowed"),
        ("1, 2", "tuples (write numbers without thousands separators"),
        ("1 < 2", "comparisons not allowed"),
        ("1 if 1 else 2", "conditional expressions not allowed"),
        ("2 ^ 3", "use ** for powers"),
        ("sqrt", "sqrt is a function"),
        ("round(1.5, ndigits=1)", "takes no keyword arguments"),
        ("pow(2, 3, 5)", "pow() takes 2 arguments, got 3"),
        ("9**9**9", "power too large"),
        ("pow(10, 10**6)", "power too large"),
        ("10.0 ** 400", "power too large"),
        ("exp(1000)", "result too large"),
        ("1e308 * 10", "not a finite number"),
        ("1 / 0", "division by zero"),
        ("sqrt(-1)", "math domain error"),
        ("(-8) ** (1 / 3)", "not a real number"),
        ("1 +", "not a valid expression"),
        ("", "empty expression"),
        ("1" + "+1" * MAX_EXPRESSION_LENGTH, "expression too long"),
        ("abs(" * 60 + "1" + ")" * 60, "nested too deeply"),
        ("-" * 60 + "1", "nested too deeply"),
        ("(" * 300 + "1" + ")" * 300, "not a valid expression"),
    ],
)
def test_safe_eval_refuses(expression, message):
    with pytest.raises(MathError, match=re.escape(message)):
        safe_eval(expression)


def test_safe_eval_refuses_huge_powers_at_once():
    start = time.perf_counter()
    for expression in ("9**9**9", "2**2**2**2**2**2", "(10**3000) * (10**3000)"):
        with pytest.raises(MathError):
            safe_eval(expression)
    assert time.perf_counter() - start < 0.5


def test_safe_eval_needs_a_string_and_math_error_is_a_value_error():
    with pytest.raises(MathError, match="must be a string"):
        safe_eval(42)  # type: ignore[arg-type]
    assert issubclass(MathError, ValueError)


def test_rounding_matches_the_original():
    assert round_result(8 / 3) == 2.667
    assert round_result(37593 ** (1 / 5)) == 8.223
    assert round_result(0.0004) == 0.0
    assert round_result(14) == 14 and isinstance(round_result(14), int)
    assert round_result(14.0) == 14.0


def test_extract_expression():
    assert extract_expression("```text\n(3 + 4) * 2\n```") == "(3 + 4) * 2"
    assert extract_expression("Sure.\n```text\n2 * 21\n```\n...numexpr...") == "2 * 21"
    assert extract_expression("```\n1 + 1\n```") == "1 + 1"
    assert extract_expression("```text\n5 * 5") == "5 * 5"  # cut by the stop sequence
    assert extract_expression("The expression is:\n2 * 21") == "2 * 21"
    assert extract_expression("Answer: 3 ^ 2") == "3 ** 2"
    with pytest.raises(MathError, match="2 lines"):
        extract_expression("```text\n1 + 1\n2 + 2\n```")
    with pytest.raises(MathError, match="empty"):
        extract_expression("   ")


# -- the tool -------------------------------------------------------------------------------


async def test_math_tool_with_a_scripted_model():
    model = ScriptedModel(["```text\n(3 + 4) * 2\n```"])
    math_tool = make_math_tool(model)
    assert isinstance(math_tool, Tool) and math_tool.name == "math" and math_tool.is_async
    assert math_tool.prompt_line().startswith("math(problem: str, context: Optional[list[str]]) -> float:")
    assert await math_tool.func("twice the sum of 3 and 4") == 14
    system_message, user_message = model.calls[0]
    assert system_message.role == "system" and "```text" in system_message.content
    assert user_message.role == "user" and user_message.content == "Question: twice the sum of 3 and 4"


async def test_math_tool_with_context_and_rounding():
    model = ScriptedModel(["```text\n8849 / 2\n```", "```text\n(8849 - 8611) / 3\n```\n```output\n79.33\n```"])
    math_tool = make_math_tool(model)
    one = await math_tool.func("half of Everest's height in meters", ["Everest is 8,849 m (29,032 ft) tall."])
    assert one == 4424.5
    assert model.calls[0][1].content == (
        "Context:\nEverest is 8,849 m (29,032 ft) tall.\n\nQuestion: half of Everest's height in meters"
    )
    two = await math_tool.func(
        "a third of the height difference in meters",
        context=["Mount Everest: 8,849 m", "K2: 8,611 m"],
    )
    assert two == 79.333  # 79.3333... rounded to 3 decimals
    assert model.calls[1][1].content == (
        "Context 1:\nMount Everest: 8,849 m\n\nContext 2:\nK2: 8,611 m\n\n"
        "Question: a third of the height difference in meters"
    )


async def test_math_tool_forgives_thousands_separators_only_when_needed():
    model = ScriptedModel(["```text\n1,500 * 2\n```", "```text\nmax(1,234)\n```"])
    math_tool = make_math_tool(model)
    assert await math_tool.func("double 1,500") == 3000
    assert await math_tool.func("the larger of 1 and 234") == 234


async def test_math_tool_custom_examples_and_name():
    model = ScriptedModel(["```text\n1 + 1\n```"])
    calc = make_math_tool(model, name="calc", examples=[("What is one plus one?", "1 + 1")])
    assert calc.name == "calc" and calc.prompt_line().startswith("calc(problem: str")
    assert await calc.func("1+1") == 2
    assert "Question: What is one plus one?\n```text\n1 + 1\n```" in model.calls[0][0].content


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("I am not sure how to solve this.", "cannot evaluate the model's expression 'I am not sure how to solve this.'"),
        ("```text\nheight_of_everest - 8611\n```", "name 'height_of_everest' is not allowed"),
        ("```text\n__import__('os').getcwd()\n```", "attribute access not allowed"),
        ("", "the model's answer is empty"),
    ],
)
async def test_math_tool_refuses_unusable_answers(answer, message):
    math_tool = make_math_tool(ScriptedModel([answer]))
    with pytest.raises(MathError) as info:
        await math_tool.func("what is the difference?")
    assert message in str(info.value)
    assert "what is the difference?" in str(info.value)


# -- in a run ----------------------------------------------------------------------------------


def finish(answer: str) -> str:
    return f"Thought: I have what I need.\nAction: Finish({answer})"


async def test_math_tool_in_a_run_with_context_from_another_tool():
    @tool
    def height(mountain: str) -> str:
        """Height of a mountain."""
        return {"Everest": "Mount Everest is 8,849 m tall.", "K2": "K2 is 8,611 m tall."}[mountain]

    math_model = ScriptedModel(["```text\n8849 - 8611\n```"])
    plan = (
        '1. height("Everest")\n2. height("K2")\n'
        '3. math("height difference in meters", context=["$1", "$2"])\n4. join()<END_OF_PLAN>'
    )
    agent = LLMCompiler(
        tools=[height, make_math_tool(math_model)],
        planner=ScriptedModel([plan]),
        joiner=ScriptedModel([finish("238 m")]),
    )
    result = await agent.ainvoke("How much higher is Everest than K2?")
    assert result.error is None and result.answer == "238 m"
    assert result.tasks[2].status is TaskStatus.DONE and result.tasks[2].result == 238
    assert "Context 1:\nMount Everest is 8,849 m tall.\n\nContext 2:\nK2 is 8,611 m tall." in math_model.calls[0][1].content
    assert result.usage["tool"].calls == 1  # the math model's tokens count in the run


async def test_garbage_model_answer_fails_the_task_with_a_precise_message():
    plan = '1. math("what is the meaning of life")\n2. join()<END_OF_PLAN>'
    joiner = ScriptedModel([finish("unknown")])
    agent = LLMCompiler(
        tools=[make_math_tool(ScriptedModel(["Forty-two, obviously."]))],
        planner=ScriptedModel([plan]),
        joiner=joiner,
    )
    result = await agent.ainvoke("What is the meaning of life?")
    assert result.error is None and result.answer == "unknown"
    (task,) = result.tasks
    assert task.status is TaskStatus.FAILED
    assert task.observation == (
        "ERROR: MathError: cannot evaluate the model's expression 'Forty-two, obviously.' for problem "
        "'what is the meaning of life': not a valid expression: 'Forty-two, obviously.' (invalid syntax)"
    )
    assert task.observation in "\n".join(m.content for m in joiner.calls[0])
