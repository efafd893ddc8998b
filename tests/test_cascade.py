"""The cascade over the loopback OpenAI server, with the real `openai` client: which levels
run, what each cost, the judges' verdicts and the memory of solutions between questions."""

from __future__ import annotations

import io
import re

import pytest

from llmcompiler import LLMCompiler
from llmcompiler.agents import Cascade, HumanJudge, ModelJudge, NoJudge
from llmcompiler.exceptions import ConfigurationError, JudgeError
from llmcompiler.llm import get_model
from llmcompiler.memory import SolutionMemory
from llmcompiler.testing import HTTPError, OpenAIServer

pytestmark = pytest.mark.usefixtures("close_openai_clients")

HEIGHTS = {"Ember Falls": "240 metres", "Juniper Falls": "190 metres", "Lark Falls": "310 metres"}


def height(name: str) -> str:
    """The height of a waterfall."""
    return HEIGHTS.get(name, "unknown")


def planner_of(body: dict) -> bool:
    return body["messages"][0]["content"].startswith("You plan how to answer")


def question_of(body: dict) -> str:
    return re.findall(r"Question: (.*)", body["messages"][-1]["content"])[-1].strip()


def level(answer: str | None):
    """A model that plans two lookups, then answers `answer` (None: keeps asking to replan)."""

    def respond(body: dict) -> str:
        if planner_of(body):
            names = re.findall(r"[A-Z][a-z]+ Falls", question_of(body))
            calls = "".join(f'{i}. height("{n}")\n' for i, n in enumerate(names, start=1))
            return f"Thought: both at once.\n{calls}{len(names) + 1}. join()<END_OF_PLAN>"
        if answer is None:
            return "Thought: I cannot tell.\nAction: Replan(look again)"
        return f"Thought: the numbers settle it.\nAction: Finish({answer})"

    return respond


@pytest.fixture
async def server():
    async with OpenAIServer() as llm:
        yield llm


def agent(server, name: str, **options) -> LLMCompiler:
    model = get_model("openai", name, base_url=server.base_url, api_key="test-key")
    return LLMCompiler(tools=[height], planner=model, max_replans=0, **options)


def calls_to(server, name: str) -> int:
    return sum(1 for r in server.requests if r.json.get("model") == name)


QUESTION = "Which waterfall is higher, Ember Falls or Juniper Falls?"


async def test_the_cheap_model_fails_and_the_strong_one_answers(server):
    server.script("cheap", *[level(None)] * 2)
    server.script("strong", *[level("Ember Falls")] * 2)
    cascade = Cascade([agent(server, "cheap"), agent(server, "strong")], names=["cheap", "strong"])
    result = await cascade.ainvoke(QUESTION)
    assert result.answer == "Ember Falls" and result.status == "answered" and result.error is None
    assert result.solved_by == 1 and [lv.verdict for lv in result.levels] == ["failed", "solved"]
    cheap, strong = result.levels
    assert "after the last allowed round (round 1 of 1)" in (cheap.result.error or "")
    assert cheap.usage.calls == 2 and strong.usage.calls == 2  # planner and joiner each
    assert cheap.usage.input_tokens > 0 and strong.usage.output_tokens > 0
    assert result.usage == cheap.usage + strong.usage
    assert cheap.cost() is None  # "cheap" has no list price: unknown, never zero
    assert result.result is strong.result and result.result.tasks  # the last run's records
    assert calls_to(server, "cheap") == 2 and calls_to(server, "strong") == 2


async def test_the_cheap_model_succeeds_and_the_strong_one_is_never_called(server):
    server.script("gpt-4o-mini", *[level("Ember Falls")] * 2)
    server.script("gpt-4o", HTTPError(500, "must not be asked"))
    cascade = Cascade([agent(server, "gpt-4o-mini"), agent(server, "gpt-4o")], names=["gpt-4o-mini", "gpt-4o"])
    result = await cascade.ainvoke(QUESTION)
    assert result.solved_by == 0 and len(result.levels) == 1 and result.answer == "Ember Falls"
    assert calls_to(server, "gpt-4o") == 0
    priced = result.levels[0].cost()
    assert priced is not None and priced > 0 and result.cost() == priced  # real list prices


@pytest.mark.parametrize(
    ("reply", "verdicts", "answer", "warned"),
    [
        ("yes", ["solved"], "Juniper Falls", False),
        ("No. Juniper Falls is lower.", ["unsolved", "solved"], "Ember Falls", False),
        ("It is hard to say.", ["unclear", "solved"], "Ember Falls", True),
    ],
)
async def test_the_model_judge(server, reply, verdicts, answer, warned):
    server.script("cheap", *[level("Juniper Falls")] * 2)
    server.script("strong", *[level("Ember Falls")] * 2)
    server.script("judge", reply, "yes")
    warnings: list[str] = []
    judge = ModelJudge(get_model("openai", "judge", base_url=server.base_url, api_key="k"))
    cascade = Cascade(
        [agent(server, "cheap"), agent(server, "strong")], names=["cheap", "strong"], judge=judge, warn=warnings.append
    )
    result = await cascade.ainvoke(QUESTION)
    assert [lv.verdict for lv in result.levels] == verdicts and result.answer == answer
    asked = [r.json for r in server.requests if r.json.get("model") == "judge"]
    assert (
        "Answer: Juniper Falls" in asked[0]["messages"][-1]["content"]
        and QUESTION in asked[0]["messages"][-1]["content"]
    )
    judged = result.levels[0].judgement
    assert judged is not None and judged.usage.calls == 1 and judged.model == "judge"
    assert result.levels[0].usage.calls == 3  # planner, joiner and the judge
    assert bool(warnings) is warned
    if warned:
        assert len(warnings) == 1 and "neither yes nor no" in warnings[0] and "\n" not in warnings[0]


async def test_a_judge_saying_no_to_every_level_keeps_the_last_answer(server):
    server.script("cheap", *[level("Juniper Falls")] * 2)
    server.script("judge", "no")
    judge = ModelJudge(get_model("openai", "judge", base_url=server.base_url, api_key="k"))
    result = await Cascade([agent(server, "cheap")], judge=judge).ainvoke(QUESTION)
    assert result.solved_by is None and result.answer == "Juniper Falls" and result.error is None
    assert [lv.verdict for lv in result.levels] == ["unsolved"] and result.levels[0].name == "level 1"


async def test_the_human_judge_reads_a_pipe_and_asks_again_on_nonsense(server):
    server.script("cheap", *[level("Juniper Falls")] * 2)
    server.script("strong", *[level("Ember Falls")] * 2)
    shown = io.StringIO()
    judge = HumanJudge(io.StringIO("n\nperhaps\ny\n"), shown)
    cascade = Cascade([agent(server, "cheap"), agent(server, "strong")], names=["cheap", "strong"], judge=judge)
    result = await cascade.ainvoke(QUESTION)
    assert [lv.verdict for lv in result.levels] == ["unsolved", "solved"] and result.answer == "Ember Falls"
    text = shown.getvalue()
    assert text.count("Is this question solved? [y/n]") == 3 and "please answer y or n" in text
    assert "Answer: Juniper Falls" in text and "Answer: Ember Falls" in text


async def test_the_human_judge_with_a_closed_stdin_ends_the_cascade_with_one_line(server):
    server.script("cheap", *[level("Juniper Falls")] * 2)
    server.script("strong", HTTPError(500, "must not be asked"))
    closed = io.StringIO()
    closed.close()
    for stdin in (io.StringIO(""), closed):
        cascade = Cascade([agent(server, "cheap"), agent(server, "strong")], judge=HumanJudge(stdin, io.StringIO()))
        result = await cascade.ainvoke(QUESTION)
        assert isinstance(result.exception, JudgeError) and result.status == "failed"
        assert result.error is not None and "standard input is closed" in result.error and "\n" not in result.error
        assert result.answer == "Juniper Falls" and [lv.verdict for lv in result.levels] == ["unclear"]
        server.script("cheap", *[level("Juniper Falls")] * 2)
    assert calls_to(server, "strong") == 0


async def test_no_judge_and_bad_configuration():
    assert (await NoJudge().ajudge("q", "a")).verdict == "solved"
    with pytest.raises(ConfigurationError, match="at least one level"):
        Cascade([])
    with pytest.raises(ConfigurationError, match="not an agent"):
        Cascade([object()])
    with pytest.raises(ConfigurationError, match="needs 1 names"):
        Cascade([_Agent()], names=["a", "b"])


class _Agent:
    async def ainvoke(self, question, on_event=None):  # pragma: no cover - never run
        raise AssertionError


async def test_memory_shows_the_strong_models_solution_to_the_cheap_one_next_time(server, tmp_path):
    memory = SolutionMemory(tmp_path / "memory.sqlite3")
    try:
        server.script("cheap", *[level(None)] * 2)
        server.script("strong", *[level("Ember Falls")] * 2)
        levels = [agent(server, name, memory=memory, memory_suite="falls") for name in ("cheap", "strong")]
        cascade = Cascade(levels, names=["cheap", "strong"], memory=memory, suite="falls")
        first = await cascade.ainvoke(QUESTION)
        assert first.solved_by == 1
        stored = memory.list()
        assert [(s.suite, s.model, s.answer) for s in stored] == [("falls", "strong", "Ember Falls")]

        server.script("cheap", *[level("Lark Falls")] * 2)
        second = await cascade.ainvoke("Which waterfall is higher, Lark Falls or Juniper Falls?")
        assert second.solved_by == 0
        planner_prompts = [r.json for r in server.requests if r.json.get("model") == "cheap" and planner_of(r.json)]
        last_prompt = "\n".join(m["content"] for m in planner_prompts[-1]["messages"])
        assert QUESTION in last_prompt and 'height("Ember Falls")' in last_prompt

        other = agent(server, "cheap", memory=memory, memory_suite="another suite")
        server.script("cheap", *[level("Lark Falls")] * 2)
        await other.ainvoke("Which waterfall is higher, Lark Falls or Juniper Falls?")
        planner_prompts = [r.json for r in server.requests if r.json.get("model") == "cheap" and planner_of(r.json)]
        assert QUESTION not in "\n".join(m["content"] for m in planner_prompts[-1]["messages"])
        assert len(memory.list()) == 2  # the second question, solved by the cheap level, is stored too
    finally:
        memory.close()


async def test_a_locked_memory_keeps_the_answer_and_says_it_was_not_stored(server, tmp_path):
    import sqlite3

    path = tmp_path / "memory.sqlite3"
    memory = SolutionMemory(path, busy_timeout=0.05)
    other = sqlite3.connect(path)
    try:
        other.execute("BEGIN EXCLUSIVE")  # another program holds the file
        server.script("cheap", *[level("Ember Falls")] * 2)
        result = await Cascade([agent(server, "cheap")], memory=memory, suite="falls").ainvoke(QUESTION)
        assert result.answer == "Ember Falls" and result.solved_by == 0 and result.error is None
        assert result.memory_error is not None and "locked" in str(result.memory_error)
    finally:
        other.rollback()
        other.close()
        memory.close()


@pytest.mark.parametrize("react", [False, True])
async def test_a_cascade_of_models(server, react):
    def react_step(body: dict) -> str:
        done = body["messages"][-1]["content"].count("Observation:")
        if done == 0:
            return 'Thought: look it up.\nAction: height("Ember Falls")'
        return "Thought: enough.\nAction: Finish(Ember Falls)"

    server.script("cheap", HTTPError(400, "not today"))
    server.script("strong", *([react_step] * 2 if react else [level("Ember Falls")] * 2))
    models = [get_model("openai", name, base_url=server.base_url, api_key="k") for name in ("cheap", "strong")]
    options = {"max_steps": 3} if react else {"max_replans": 0}
    cascade = Cascade.of_models(models, tools=[height], react=react, **options)
    result = await cascade.ainvoke(QUESTION)
    assert cascade.names == ["cheap", "strong"] and result.solved_by == 1 and result.answer == "Ember Falls"
    assert result.result.agent == ("react" if react else "llmcompiler")
