"""The memory of solved questions: storing, BM25 recall, the agents' prompts, bad files, concurrency."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import pytest

from llmcompiler import LLMCompiler, ReActAgent, tool
from llmcompiler.exceptions import ConfigurationError, SolutionMemoryError
from llmcompiler.llm import ScriptedModel
from llmcompiler.memory import BM25Retriever, SolutionMemory, default_memory_path, tokenize


@tool
def search(entity: str) -> str:
    """Look an entity up."""
    facts = {"Everest": "Mount Everest is 8,849 m high.", "K2": "K2 is 8,611 m high."}
    if entity not in facts:
        raise LookupError(f"no page for {entity}")
    return facts[entity]


@tool
def math(problem: str, context: list | None = None) -> str:
    """Work out a problem."""
    return "238"


def finish(answer: str) -> str:
    return f"Thought: I have what I need.\nAction: Finish({answer})"


PLAN = '1. search("Everest")\n2. search("K2")\n3. math("difference in m", context=["$1", "$2"])\n4. join()<END_OF_PLAN>'
HEIGHTS = "How much higher is Mount Everest than K2?"


async def solved(question: str = HEIGHTS, plan: str = PLAN, answer: str = "238 m"):
    agent = LLMCompiler(tools=[search, math], planner=ScriptedModel([plan]), joiner=ScriptedModel([finish(answer)]))
    return await agent.ainvoke(question)


async def failed(question: str = HEIGHTS):
    agent = LLMCompiler(
        tools=[search, math],
        planner=ScriptedModel([PLAN]),
        joiner=ScriptedModel(["Thought: no.\nAction: Replan(more)"]),
        max_replans=0,
    )
    return await agent.ainvoke(question)


@pytest.fixture
def memory(tmp_path):
    with SolutionMemory(tmp_path / "memory.sqlite3") as memory:
        yield memory


# -- remember and recall -----------------------------------------------------------------


async def test_a_success_is_stored_with_its_plan(memory):
    result = await solved()
    stored = await memory.aremember(HEIGHTS, result, suite="general", model="gpt-4o")
    assert stored is not None and stored.id >= 1
    assert (stored.question, stored.suite, stored.model, stored.answer) == (HEIGHTS, "general", "gpt-4o", "238 m")
    assert stored.plans == tuple(result.plans) and stored.agent == "llmcompiler" and stored.code == ()
    assert stored.example == PLAN
    assert memory.get(stored.id) == stored
    assert memory.list() == [stored]


async def test_failures_and_duplicates_are_not_stored(memory):
    assert await memory.aremember(HEIGHTS, await failed(), suite="general", model="m") is None
    assert await memory.aremember(HEIGHTS, await solved(answer=" "), suite="general", model="m") is None
    assert await memory.aremember(HEIGHTS, await solved(), suite="general", model="m") is not None
    # the same question (case and spaces aside) with the same answer is there already
    again = await solved(question="  how much HIGHER is Mount Everest   than K2? ")
    assert await memory.aremember(again.question, again, suite="general", model="other") is None
    # another suite, or another answer, is another solution
    assert await memory.aremember(HEIGHTS, await solved(), suite="hotpotqa", model="m") is not None
    assert await memory.aremember(HEIGHTS, await solved(answer="238 metres"), suite="general", model="m") is not None
    assert len(memory.list()) == 3 and len(memory.list("general")) == 2


async def test_recall_ranks_the_similar_question_first_and_keeps_to_its_suite(memory):
    questions = [
        "Who directed the film Jaws?",
        "How much higher is Mount Everest than Kangchenjunga?",
        "What is the capital of Australia?",
    ]
    for question in questions:
        await memory.aremember(question, await solved(question=question), suite="general", model="m")
    await memory.aremember(HEIGHTS, await solved(), suite="hotpotqa", model="m")
    found = await memory.arecall("How much higher is Mount Everest than Lhotse?", suite="general")
    assert [s.question for s in found][0] == questions[1]
    assert all(s.suite == "general" for s in found)
    assert HEIGHTS not in [s.question for s in found]  # the closest question, but another suite's
    assert await memory.arecall("Everest and K2", suite="movie") == []
    # only scores above zero: nothing in common, nothing recalled; k caps the rest
    assert await memory.arecall("Tell me about penguins", suite="general") == []
    assert len(await memory.arecall("How much higher is the capital film?", suite="general", k=2)) == 2


def test_bm25_alone():
    docs = ["the cat sat on the mat", "a dog in the fog", "cats and dogs", "mat weaving for cats"]
    ranked = BM25Retriever().rank("cat on a mat", docs)
    assert ranked[0][0] == 0 and all(score > 0 for _, score in ranked)
    assert {i for i, _ in ranked} == {0, 3}  # "cats" is not "cat": no stemming
    assert BM25Retriever().rank("the of a", docs) == []  # stopwords only
    assert BM25Retriever().rank("cat", []) == []
    assert tokenize("What's K2's height, in m?") == ["k2", "height", "m"]


async def test_a_replanned_run_is_remembered_as_one_plan(memory):
    plans = [
        'Thought: first the peak.\n1. search("Everest")\n2. search("Nowhere")\n3. join()<END_OF_PLAN>',
        '4. search("K2")\n5. math("difference", context=["$1", "${4}"])\n6. join()<END_OF_PLAN>',
    ]
    joins = ["Thought: K2 is missing.\nAction: Replan(look up K2)", finish("238 m")]
    agent = LLMCompiler(tools=[search, math], planner=ScriptedModel(plans), joiner=ScriptedModel(joins))
    result = await agent.ainvoke(HEIGHTS)
    assert result.answer == "238 m" and result.rounds == 2
    stored = await memory.aremember(HEIGHTS, result, suite="general", model="m")
    assert stored is not None and stored.plans == tuple(p.replace("<END_OF_PLAN>", "") for p in plans)
    # the failed search and the first round's join() are left out; ids and references renumbered
    assert stored.example == (
        "Thought: first the peak.\n"
        '1. search("Everest")\n'
        '2. search("K2")\n'
        '3. math("difference", context=["$1", "$2"])\n'
        "4. join()<END_OF_PLAN>"
    )


async def test_the_code_of_code_tasks_is_stored(memory):
    @tool
    def code(task: str) -> str:
        """Write and run code (this one reports as the code tool does)."""
        return "42\nCode (worked on try 2):\n```python\nprint(6 * 7)\n```"

    agent = LLMCompiler(
        tools=[code],
        planner=ScriptedModel(['1. code("six times seven")\n2. join()']),
        joiner=ScriptedModel([finish("42")]),
    )
    result = await agent.ainvoke("What is six times seven?")
    stored = await memory.aremember(result.question, result, suite="code", model="m")
    assert stored is not None and stored.code == ("print(6 * 7)\n",)


# -- the agents' prompts -------------------------------------------------------------------


async def test_the_planner_sees_the_stored_solution_ahead_of_the_suite_examples(memory):
    await memory.aremember(HEIGHTS, await solved(), suite="general", model="m")
    await memory.aremember("Who wrote Hamlet?", await solved(question="Who wrote Hamlet?"), suite="movie", model="m")
    planner = ScriptedModel([PLAN])
    suite_examples = 'Question: How tall is Lhotse?\n1. search("Lhotse")\n2. join()<END_OF_PLAN>'
    agent = LLMCompiler(
        tools=[search, math],
        planner=planner,
        joiner=ScriptedModel([finish("238 m")]),
        planner_examples=suite_examples,
        memory=memory,
        memory_suite="general",
    )
    result = await agent.ainvoke("How much higher is Mount Everest than K2, in metres?")
    assert result.answer == "238 m"
    prompt = planner.calls[0][0].content
    recalled = f"Question: {HEIGHTS}\n{PLAN}"
    assert recalled in prompt and suite_examples in prompt
    assert prompt.index(recalled) < prompt.index(suite_examples)
    assert "solved before" in prompt and "Hamlet" not in prompt
    # recall only: the run stored nothing
    assert len(memory.list()) == 2


async def test_react_sees_its_own_stored_solutions(memory):
    steps = ['Thought: Everest first.\nAction: search("Everest")', finish("8,849 m")]
    first = await ReActAgent(tools=[search], model=ScriptedModel(steps)).ainvoke("How high is Mount Everest?")
    stored = await memory.aremember(first.question, first, suite="general", model="m")
    assert stored is not None and stored.agent == "react"
    assert stored.example == (
        "Thought: Everest first.\n"
        'Action: search("Everest")\n'
        "Observation: Mount Everest is 8,849 m high.\n"
        "Thought: I have what I need.\n"
        "Action: Finish(8,849 m)"
    )
    await memory.aremember(HEIGHTS, await solved(), suite="general", model="m")  # an LLMCompiler plan
    model = ScriptedModel(steps)
    agent = ReActAgent(
        tools=[search],
        model=model,
        examples="Question: an example\nAction: Finish(x)",
        memory=memory,
        memory_suite="general",
    )
    await agent.ainvoke("How high is Mount Everest, in feet?")
    prompt = model.calls[0][0].content
    assert stored.example in prompt and prompt.index(stored.example) < prompt.index("Question: an example")
    assert "join()" not in prompt  # ReAct is shown ReAct's solutions, not plans


async def test_a_memory_that_cannot_be_read_fails_the_run_with_its_message(tmp_path):
    memory = SolutionMemory(tmp_path / "m.sqlite3", busy_timeout=0.05)
    holder = sqlite3.connect(tmp_path / "m.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        planner = ScriptedModel([PLAN])
        agent = LLMCompiler(tools=[search, math], planner=planner, joiner=ScriptedModel([finish("x")]), memory=memory)
        result = await agent.ainvoke(HEIGHTS)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        memory.close()
    assert result.status.value == "failed" and isinstance(result.exception, SolutionMemoryError)
    assert "is locked by another program" in result.error and planner.calls == []


def test_agent_memory_arguments_are_checked():
    with pytest.raises(ConfigurationError, match="memory must be a SolutionMemory"):
        LLMCompiler(tools=[search], planner=ScriptedModel(["x"]), memory="memory.sqlite3")
    with pytest.raises(ConfigurationError, match="memory_k"):
        ReActAgent(tools=[search], model=ScriptedModel(["x"]), memory_k=0)


# -- bad files ---------------------------------------------------------------------------------


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


def test_a_corrupt_file_is_one_line(tmp_path):
    path = tmp_path / "memory.sqlite3"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(SolutionMemoryError) as exc:
        SolutionMemory(path)
    assert "not a readable SQLite file" in one_line(exc) and str(path) in str(exc.value)


def test_another_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE sessions (id INTEGER)")
    other.close()
    with pytest.raises(SolutionMemoryError) as exc:
        SolutionMemory(path)
    assert "not a memory of solutions (its tables: sessions)" in one_line(exc)
    with sqlite3.connect(path) as other:  # untouched
        assert [r[0] for r in other.execute("SELECT name FROM sqlite_master")] == ["sessions"]
    other.close()


async def test_a_locked_file_is_one_line(tmp_path):
    path = tmp_path / "memory.sqlite3"
    memory = SolutionMemory(path, busy_timeout=0.05)
    result = await solved()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SolutionMemoryError) as exc:
            await memory.aremember(HEIGHTS, result, suite="general", model="m")
        assert "is locked by another program (waited 0.05s to store a solution)" in one_line(exc)
        with pytest.raises(SolutionMemoryError, match="locked"):
            SolutionMemory(path, busy_timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert await memory.aremember(HEIGHTS, result, suite="general", model="m") is not None  # free again
    memory.close()
    with pytest.raises(SolutionMemoryError, match="is closed"):
        memory.list()


def test_a_folder_and_a_bad_timeout(tmp_path):
    with pytest.raises(SolutionMemoryError, match="is a folder"):
        SolutionMemory(tmp_path)
    with pytest.raises(ConfigurationError, match="busy_timeout"):
        SolutionMemory(tmp_path / "m.sqlite3", busy_timeout=float("nan"))


def test_the_default_path_is_in_the_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMCOMPILER_CACHE_DIR", str(tmp_path / "cache"))
    assert default_memory_path() == tmp_path / "cache" / "memory.sqlite3"
    with SolutionMemory() as memory:
        assert memory.path == default_memory_path() and memory.path.exists()


# -- concurrency ---------------------------------------------------------------------------------


async def test_two_remembers_at_once(tmp_path):
    path = tmp_path / "memory.sqlite3"
    one, two = SolutionMemory(path), SolutionMemory(path)
    try:
        a, b = await solved(), await solved(question="Who directed Jaws?", answer="Spielberg")
        # two connections, two questions: both kept
        stored = await asyncio.gather(
            one.aremember(a.question, a, suite="general", model="m"),
            two.aremember(b.question, b, suite="general", model="m"),
        )
        assert all(s is not None for s in stored) and len({s.id for s in stored}) == 2
        # the same question at once, from both connections and twice from one: kept once
        again = await asyncio.gather(
            *(m.aremember(c.question, c, suite="hotpotqa", model="m") for m in (one, two, one) for c in [a])
        )
        assert sum(s is not None for s in again) == 1
        assert len(one.list()) == 3 == len(two.list())
    finally:
        one.close()
        two.close()


async def test_export_writes_json_lines(memory, tmp_path):
    import json

    await memory.aremember(HEIGHTS, await solved(), suite="general", model="m")
    await memory.aremember("Who wrote Hamlet?", await solved(question="Who wrote Hamlet?"), suite="movie", model="m")
    target = tmp_path / "out.jsonl"
    assert memory.export(target) == 2
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["suite"] for r in records] == ["general", "movie"] and records[0]["plans"] == [
        PLAN.replace("<END_OF_PLAN>", "")
    ]
    assert memory.export(target, suite="movie") == 1
    assert memory.clear("movie") == 1 and memory.clear() == 1 and memory.list() == []
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# -- over HTTP: the real openai client against the loopback server ----------------------------


async def test_over_http_the_next_planner_request_carries_the_solution(tmp_path, close_openai_clients):
    from llmcompiler.llm import get_model
    from llmcompiler.testing import OpenAIServer

    def agent(server, memory):
        def model():
            return get_model("openai", "gpt-4o-mini", base_url=server.base_url, api_key="k", retry_base_delay=0.001)

        return LLMCompiler(tools=[search, math], planner=model(), joiner=model(), memory=memory, memory_suite="general")

    with SolutionMemory(tmp_path / "m.sqlite3") as memory:
        async with OpenAIServer() as server:
            server.script("gpt-4o-mini", PLAN, finish("238 m"), PLAN, finish("238 m"))
            first = await agent(server, memory).ainvoke(HEIGHTS)
            assert first.answer == "238 m"
            await memory.aremember(HEIGHTS, first, suite="general", model="gpt-4o-mini")
            await memory.aremember("Who wrote Hamlet?", first, suite="movie", model="gpt-4o-mini")
            second = await agent(server, memory).ainvoke("How much higher is Mount Everest than Lhotse?")
            assert second.answer == "238 m"
            planner_requests = [r.json for r in server.requests if "Tools:" in r.json["messages"][0]["content"]]
        assert len(planner_requests) == 2
        assert "solved before" not in planner_requests[0]["messages"][0]["content"]
        shown = planner_requests[1]["messages"][0]["content"]
        assert f"Question: {HEIGHTS}\n{PLAN}" in shown and "Hamlet" not in shown
