"""A reply cut at its token limit (`finish_reason: length`) is an error naming the role and the
limit, after keeping what already ran; its half-written tail is never parsed as a plan."""

from __future__ import annotations

import pytest

from llmcompiler import LLMCompiler, ReActAgent, tool
from llmcompiler.exceptions import ModelTruncatedError
from llmcompiler.llm import complete, get_model, user
from llmcompiler.llm.scripted import ScriptedModel
from llmcompiler.runtime import events as ev
from llmcompiler.testing import OpenAIServer

pytestmark = pytest.mark.usefixtures("close_openai_clients")


@pytest.fixture
async def server():
    async with OpenAIServer() as running:
        yield running


@tool
async def lookup(city: str) -> int:
    """Population of a city."""
    return {"Paris": 2_102_650, "Rome": 2_746_984}[city]


@tool
def add(a: int, b: int) -> int:
    """Sum."""
    return a + b


# word-sized tokens: "Thought:" " both" " at" " once" "\n1." ' lookup("Paris")' "\n2."
# ' lookup("Rome")' "\n3." " add($1," | " $2)" ... -- a limit of 10 cuts task 3 in half
PLAN = 'Thought: both at once\n1. lookup("Paris")\n2. lookup("Rome")\n3. add($1, $2)\n4. join()<END_OF_PLAN>'
FINISH = "Thought: the sum is known.\nAction: Finish(4849634)"
CUT = "its reply was cut at max_tokens={}; raise max_tokens (--max_tokens)"


def model(server, name, **options):
    return get_model("openai", name, base_url=server.base_url, api_key="k", retry_base_delay=0.001, **options)


def assert_cut_plan_kept_what_ran(result, limit):
    assert result.error == f"the planner failed in round 1: {CUT.format(limit)}"
    assert result.answer == ""
    # tasks 1 and 2 were whole and ran; the half line "3. add($1," became nothing
    assert [(r.idx, r.status, r.result) for r in result.tasks] == [(1, "done", 2_102_650), (2, "done", 2_746_984)]
    assert not any(isinstance(e, ev.JoinerStarted) for e in result.events)
    finished = next(e for e in result.events if isinstance(e, ev.PlannerFinished))
    assert finished.text.endswith("3. add($1,") and finished.error == CUT.format(limit)
    call = next(e for e in result.model_calls if e.role == "planner")
    assert call.error.startswith("ModelTruncatedError:") and call.usage.output_tokens == limit


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "not-streamed"])
async def test_a_plan_cut_for_length_ends_the_run_naming_the_planner_and_the_limit(server, stream):
    server.script("planner", PLAN, PLAN)
    server.script("joiner", FINISH)
    agent = LLMCompiler(
        tools=[lookup, add], planner=model(server, "planner", max_tokens=10, stream=stream), joiner=model(server, "joiner")
    )
    result = await agent.ainvoke("How many people live in Paris and Rome?")
    assert_cut_plan_kept_what_ran(result, 10)
    assert len([r for r in server.requests if r.model == "planner"]) == 1  # a cut is not retried
    assert server.requests[0].json["max_tokens"] == 10


async def test_a_plan_cut_without_plan_streaming_runs_nothing_of_it(server):
    server.script("planner", PLAN)
    agent = LLMCompiler(
        tools=[lookup, add], planner=model(server, "planner", max_tokens=10), joiner=model(server, "joiner"), stream=False
    )
    result = await agent.ainvoke("q")
    assert result.error == f"the planner failed in round 1: {CUT.format(10)}"
    assert result.tasks == []


async def test_a_joiner_reply_cut_for_length_is_an_error_not_an_answer(server):
    server.script("planner", PLAN)
    server.script("joiner", FINISH)
    agent = LLMCompiler(tools=[lookup, add], planner=model(server, "planner"), joiner=model(server, "joiner", max_tokens=4))
    result = await agent.ainvoke("q")
    assert result.error == f"the joiner failed in round 1: {CUT.format(4)}"
    assert result.answer == "" and result.decisions == []
    assert result.task(3).result == 4_849_634


async def test_complete_raises_the_cut_with_its_limit_and_keeps_the_usage(server):
    server.script(None, "one two three four five")
    with pytest.raises(ModelTruncatedError, match=r"cut at max_tokens=2 \(finish_reason: length\)") as caught:
        await complete(model(server, "m", max_tokens=2), [user("q")])
    assert caught.value.limit == 2


async def test_a_scripted_model_simulates_the_cut_for_whole_runs():
    agent = LLMCompiler(
        tools=[lookup, add], planner=ScriptedModel([PLAN], max_tokens=10), joiner=ScriptedModel([FINISH])
    )
    result = await agent.ainvoke("q")
    assert_cut_plan_kept_what_ran(result, 10)

    whole = await LLMCompiler(
        tools=[lookup, add], planner=ScriptedModel([PLAN], max_tokens=100), joiner=ScriptedModel([FINISH])
    ).ainvoke("q")
    assert whole.answer == "4849634", whole.error


async def test_a_react_step_cut_for_length_names_the_step():
    agent = ReActAgent(tools=[lookup, add], model=ScriptedModel(['Thought: look.\nAction: lookup("Paris")'], max_tokens=3))
    result = await agent.ainvoke("q")
    assert result.error == f"the model failed at step 1: {CUT.format(3)}"
    assert result.tasks == []
