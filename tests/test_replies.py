"""Replies files for `--model_type scripted --replies FILE`: loading, checking, roles, cycling."""

from __future__ import annotations

import json

import pytest

from llmcompiler import LLMCompiler, ReActAgent
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.llm.base import user
from llmcompiler.llm.replies import ScriptedModels, load_replies, scripted_models

PLAN = '1. double(21)\n2. join()<END_OF_PLAN>'
FINISH = "Thought: $1 is 42.\nAction: Finish(42)"


def double(x: int) -> int:
    """Twice x."""
    return 2 * x


def write(tmp_path, data, name="replies.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


async def text_of(model) -> str:
    parts = [chunk async for chunk in model.stream([user("q")]) if isinstance(chunk, str)]
    return "".join(parts)


async def test_roles_answer_an_llmcompiler_run_and_lists_cycle(tmp_path):
    script = load_replies(write(tmp_path, {"planner": [PLAN], "joiner": FINISH, "ttft": 0.01, "tokens_per_second": 500}))
    assert script.ttft == 0.01 and script.tokens_per_second == 500
    models = ScriptedModels(script)
    agent = LLMCompiler(tools=[double], planner=models.first(), joiner=models.new())
    for _ in range(3):  # one reply per role serves every question
        result = await agent.ainvoke("twice 21?")
        assert result.error is None and result.answer == "42"
        assert [t.result for t in result.tasks] == [42]
    assert models.first() is models.first()


async def test_a_plain_list_answers_calls_in_order_across_roles(tmp_path):
    models = ScriptedModels(load_replies(write(tmp_path, ["first", "second", "third"])))
    planner, joiner, tools = models.first(), models.new(), models.tools_model()
    assert [await text_of(planner), await text_of(joiner), await text_of(tools), await text_of(planner)] == [
        "first",
        "second",
        "third",
        "first",
    ]


async def test_react_role_and_a_missing_tools_role(tmp_path):
    path = write(tmp_path, {"react": ["Thought: easy.\nAction: Finish(42)"]})
    models = ScriptedModels(load_replies(path), react=True)
    result = await ReActAgent(tools=[double], model=models.first()).ainvoke("twice 21?")
    assert result.answer == "42"
    with pytest.raises(Exception, match='no "tools" replies'):
        await text_of(models.tools_model())
    with pytest.raises(ConfigurationError, match=r'has no "planner", "joiner" replies \(this run needs "planner" and "joiner"\)'):
        ScriptedModels(load_replies(path))


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", r"is not valid JSON: Expecting property name enclosed in double quotes \(line 1, column 2\)"),
        ('"just a string"', "must hold a list of replies or an object"),
        ("[]", "the list has no replies"),
        ('[1, "x"]', "reply 1 of the list must be a string, not a number"),
        ('{"planer": "x"}', "unknown key 'planer'"),
        ('{"ttft": 1}', "has no replies"),
        ('{"planner": {"text": "x"}}', '"planner" must be a reply \\(a string\\) or a list of them, not dict'),
        ('{"planner": "x", "ttft": NaN}', '"ttft" must be a number of seconds >= 0, not nan'),
        ('{"planner": "x", "ttft": -1}', '"ttft" must be a number of seconds >= 0, not -1'),
        ('{"planner": "x", "tokens_per_second": 0}', '"tokens_per_second" must be a positive number, not 0'),
        ('{"planner": "x", "tokens_per_second": Infinity}', '"tokens_per_second" must be a positive number'),
        ('{"planner": "x", "chunk_tokens": 1.5}', '"chunk_tokens" must be a whole number >= 1, not 1.5'),
        ('{"planner": "x", "chunk_tokens": true}', '"chunk_tokens" must be a whole number >= 1, not True'),
    ],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_replies(path)
    assert path in str(caught.value) and "\n" not in str(caught.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigurationError, match="no replies file"):
        load_replies(tmp_path / "missing.json")
    (tmp_path / "latin1.json").write_bytes(b'["caf\xe9"]')
    with pytest.raises(ConfigurationError, match="is not UTF-8 text"):
        load_replies(tmp_path / "latin1.json")
    with pytest.raises(ConfigurationError, match="cannot read the replies file"):
        load_replies(tmp_path)  # a folder


def test_the_commands_pairing_of_model_type_and_replies(tmp_path):
    path = write(tmp_path, {"planner": PLAN, "joiner": FINISH})
    assert scripted_models("openai", None) is None
    assert isinstance(scripted_models(" Scripted ", path), ScriptedModels)
    assert scripted_models("scripted", path, name="mine").first().name == "mine"
    with pytest.raises(ConfigurationError, match="--model_type scripted needs --replies FILE"):
        scripted_models("scripted", None)
    with pytest.raises(ConfigurationError, match="needs --model_type scripted, not 'openai'"):
        scripted_models("openai", path)
    with pytest.raises(ConfigurationError, match="take no model options"):
        scripted_models("scripted", path).new("planner", grammar="root ::= x")
