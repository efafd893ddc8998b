"""A joiner reply without `Action: Finish(...)` or `Replan(...)` ends the run with an error."""

from __future__ import annotations

import pytest

from llmcompiler import LLMCompiler, RunFailedError, tool
from llmcompiler.llm import ScriptedModel
from llmcompiler.runtime import events as ev


@tool
def search(entity: str) -> str:
    """Look an entity up."""
    return f"{entity} is 8,849 m high."


PLAN = '1. search("Everest")\n2. join()<END_OF_PLAN>'


def compiler(*joins: str) -> LLMCompiler:
    return LLMCompiler(tools=[search], planner=ScriptedModel([PLAN] * 3), joiner=ScriptedModel(list(joins)))


@pytest.mark.parametrize(
    "reply, shown",
    [
        ("", "the reply was empty"),
        ("  \n", "the reply was empty"),
        ("Thought: I still need K2.", "the reply was 'Thought: I still need K2.'"),
        ("Thought: t\nAction: search('K2')", "the reply was \"Thought: t\\nAction: search('K2')\""),
        ("Thought: " + "x" * 500, "the reply began 'Thought: " + "x" * 191 + "'"),
    ],
    ids=["empty", "blank", "thought-only", "other-action", "long"],
)
async def test_no_decision_fails_the_run(reply, shown):
    agent = compiler(reply)
    with pytest.raises(RunFailedError) as caught:
        await agent.arun("How high is Everest?")
    result = caught.value.result
    expected = f"the joiner's reply in round 1 had no Action: Finish(...) or Replan(...); {shown}"
    assert result.error == expected and str(caught.value) == expected
    assert result.answer == "" and result.decisions == []
    assert [r.result for r in result.tasks] == ["Everest is 8,849 m high."]  # what ran is kept
    assert not [e for e in result.events if isinstance(e, ev.JoinerFinished)]


async def test_no_decision_after_a_replan_names_its_round():
    agent = compiler("Thought: need more\nAction: Replan(look again)", "")
    result = await agent.ainvoke("How high is Everest?")
    assert result.error == "the joiner's reply in round 2 had no Action: Finish(...) or Replan(...); the reply was empty"
    assert [d.action for d in result.decisions] == ["replan"]


async def test_plain_text_without_thought_or_action_is_still_the_answer():
    # weak models that ignore the format and just answer keep working
    assert await compiler("8,849 m").arun("How high is Everest?") == "8,849 m"
