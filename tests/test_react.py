"""The ReAct baseline with ScriptedModel and real tools."""

from __future__ import annotations

import pytest

from llmcompiler import ReActAgent, RunFailedError, TaskStatus, tool
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.llm import Reply, ScriptedModel
from llmcompiler.runtime import events as ev


@tool
def search(entity: str) -> str:
    """Look an entity up."""
    facts = {"Everest": "Mount Everest is 8,849 m high.", "K2": "K2 is 8,611 m high."}
    if entity not in facts:
        raise LookupError(f"no page for {entity}")
    return facts[entity]


async def test_steps_until_finish():
    model = ScriptedModel(
        [
            'Thought: first Everest.\nAction: search("Everest")\nObservation: invented by the model',
            'Thought: now K2.\nAction: search("K2")',
            "Thought: Everest is higher.\nAction: Finish(Mount Everest)",
        ]
    )
    result = await ReActAgent(tools=[search], model=model).ainvoke("Which is higher?")
    assert result.error is None and result.answer == "Mount Everest"
    assert [r.result for r in result.tasks] == ["Mount Everest is 8,849 m high.", "K2 is 8,611 m high."]
    # the runtime stops the model at "Observation:" and appends the real result
    second_prompt = model.calls[1][-1].content
    assert 'Action: search("Everest")\nObservation: Mount Everest is 8,849 m high.' in second_prompt
    assert "invented by the model" not in second_prompt
    third_prompt = model.calls[2][-1].content
    assert third_prompt.count("Observation:") == 2
    assert result.usage["react"].calls == 3
    # one action at a time: the second starts after the first finished
    finished_1 = next(e.t for e in result.events if isinstance(e, ev.TaskFinished) and e.idx == 1)
    started_2 = next(e.t for e in result.events if isinstance(e, ev.TaskStarted) and e.idx == 2)
    assert finished_1 < started_2


async def test_tool_errors_and_bad_actions_are_observations():
    model = ScriptedModel(
        [
            'Thought: try.\nAction: search("Nowhere")',
            "Thought: try a bad tool.\nAction: browse('x')",
            "Thought: no action here",
            "Thought: give up.\nAction: Finish(unknown)",
        ]
    )
    result = await ReActAgent(tools=[search], model=model).ainvoke("q")
    assert result.answer == "unknown"
    assert result.task(1).observation == "ERROR: LookupError: no page for Nowhere"
    assert result.task(2).status is TaskStatus.FAILED and "unknown tool 'browse'" in result.task(2).observation
    prompt = model.calls[3][-1].content
    assert "Observation: ERROR: LookupError: no page for Nowhere" in prompt
    assert "Observation: ERROR: no action found" in prompt


async def test_step_limit_is_a_clear_failure():
    model = ScriptedModel(['Thought: again.\nAction: search("K2")'] * 3)
    agent = ReActAgent(tools=[search], model=model, max_steps=3)
    result = await agent.ainvoke("q")
    assert result.error == "ReAct reached its step limit (3) without an answer"
    assert len(result.tasks) == 3
    with pytest.raises(RunFailedError, match="step limit"):
        await ReActAgent(tools=[search], model=ScriptedModel(['Action: search("K2")']), max_steps=1).arun("q")


async def test_model_failure_ends_the_run():
    model = ScriptedModel([Reply("Thought: hmm", error=ConnectionResetError("reset"))])
    result = await ReActAgent(tools=[search], model=model).ainvoke("q")
    assert result.error == "the model failed at step 1: ConnectionResetError: reset"


def test_configuration():
    with pytest.raises(ConfigurationError, match="max_steps"):
        ReActAgent(tools=[search], model=ScriptedModel([]), max_steps=0)
    agent = ReActAgent(tools=[search], model=ScriptedModel(["Action: Finish(42)"]))
    assert agent.run("q") == "42"
