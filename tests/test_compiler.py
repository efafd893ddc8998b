"""Whole runs with ScriptedModel and real Python tools."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

from llmcompiler import LLMCompiler, RunFailedError, TaskStatus, tool
from llmcompiler.llm import Reply, ScriptedModel
from llmcompiler.runtime import events as ev


def finish(answer: str) -> str:
    return f"Thought: I have what I need.\nAction: Finish({answer})"


def of(result, kind, **match):
    """The events of one kind (optionally with matching fields), in order."""
    return [e for e in result.events if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())]


def first(result, kind, **match):
    found = of(result, kind, **match)
    assert found, f"no {kind.__name__} with {match}"
    return found[0]


def compiler(tools, plans, joins, **kwargs) -> LLMCompiler:
    return LLMCompiler(tools=tools, planner=ScriptedModel(plans), joiner=ScriptedModel(joins), **kwargs)


# -- shapes of plans ---------------------------------------------------------------------


async def test_fan_out_of_eight_calls_overlaps():
    started = 0
    all_started = asyncio.Event()

    @tool
    async def fetch(n: int) -> int:
        """Fetch item n."""
        nonlocal started
        started += 1
        if started == 8:
            all_started.set()
        # Every call waits until all eight are in flight: this only finishes if they overlap.
        await asyncio.wait_for(all_started.wait(), timeout=10)
        return n * n

    plan = "\n".join(f"{i}. fetch({i})" for i in range(1, 9)) + "\n9. join()<END_OF_PLAN>"
    result = await compiler([fetch], [plan], [finish("204")]).ainvoke("sum of squares")
    assert result.error is None and result.answer == "204"
    assert [r.status for r in result.tasks] == [TaskStatus.DONE] * 8
    assert [r.result for r in result.tasks] == [i * i for i in range(1, 9)]
    last_start = max(first(result, ev.TaskStarted, idx=i).t for i in range(1, 9))
    first_finish = min(first(result, ev.TaskFinished, idx=i).t for i in range(1, 9))
    assert last_start < first_finish


async def test_chain_runs_in_order_and_passes_values():
    @tool
    def inc(x: int) -> int:
        """Add one."""
        return x + 1

    plan = "1. inc(1)\n2. inc($1)\n3. inc($2)\n4. inc($3)\n5. join()<END_OF_PLAN>"
    result = await compiler([inc], [plan], [finish("5")]).ainvoke("count")
    assert [r.result for r in result.tasks] == [2, 3, 4, 5]
    assert [r.deps for r in result.tasks] == [(), (1,), (2,), (3,)]
    for i in range(2, 5):
        assert first(result, ev.TaskFinished, idx=i - 1).t <= first(result, ev.TaskStarted, idx=i).t


async def test_diamond():
    gate = asyncio.Event()
    inside = 0

    @tool
    async def source() -> str:
        """Start."""
        return "s"

    @tool
    async def branch(x: str, tag: str) -> str:
        """One side."""
        nonlocal inside
        inside += 1
        if inside == 2:
            gate.set()
        await asyncio.wait_for(gate.wait(), timeout=10)  # both branches must be running at once
        return f"{x}{tag}"

    @tool
    def merge(a: str, b: str) -> str:
        """Both sides."""
        return f"{a}+{b}"

    plan = '1. source()\n2. branch($1, "L")\n3. branch($1, "R")\n4. merge($2, $3)\n5. join()<END_OF_PLAN>'
    result = await compiler([source, branch, merge], [plan], [finish("sL+sR")]).ainvoke("q")
    assert result.task(4).result == "sL+sR"
    assert result.task(4).deps == (2, 3)
    join_after = first(result, ev.TaskStarted, idx=4).t
    assert first(result, ev.TaskFinished, idx=2).t <= join_after
    assert first(result, ev.TaskFinished, idx=3).t <= join_after


async def test_nested_references_keep_types_and_format_strings():
    seen = {}

    @tool
    def numbers() -> list:
        """Some numbers."""
        return [1, 2, 3]

    @tool
    def name() -> str:
        """A name."""
        return "Ada"

    @tool
    def inspect_args(payload: dict, items: list, note: str) -> str:
        """Record what arrived."""
        seen.update(payload=payload, items=items, note=note)
        return "ok"

    plan = (
        "1. numbers()\n2. name()\n"
        '3. inspect_args({"nums": $1, "who": "${2}", "deep": [("$1",)]}, ["$2", $1], note="$2 has $1")\n'
        "4. join()<END_OF_PLAN>"
    )
    result = await compiler([numbers, name, inspect_args], [plan], [finish("ok")]).ainvoke("q")
    assert result.task(3).status is TaskStatus.DONE, result.task(3).observation
    assert seen["payload"] == {"nums": [1, 2, 3], "who": "Ada", "deep": [([1, 2, 3],)]}
    assert seen["items"] == ["Ada", [1, 2, 3]]
    assert seen["note"] == "Ada has [1, 2, 3]"


# -- failures ----------------------------------------------------------------------------


async def test_tool_that_raises_fails_and_skips_dependents():
    @tool
    def lookup(key: str) -> str:
        """Look up a key."""
        if key == "bad":
            raise ValueError("no such key: bad")
        return key.upper()

    @tool
    def combine(a: str, b: str) -> str:
        """Combine."""
        return a + b

    plan = '1. lookup("bad")\n2. lookup("ok")\n3. combine($1, $2)\n4. combine($3, $2)\n5. join()<END_OF_PLAN>'
    joiner = ScriptedModel([lambda messages: finish("partial" if "no such key" in messages[-1].content else "?")])
    agent = LLMCompiler(tools=[lookup, combine], planner=ScriptedModel([plan]), joiner=joiner)
    result = await agent.ainvoke("q")
    assert result.error is None and result.answer == "partial"
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).observation == "ERROR: ValueError: no such key: bad"
    assert result.task(2).status is TaskStatus.DONE
    assert (result.task(3).status, result.task(3).observation) == (TaskStatus.SKIPPED, "skipped: $1 failed")
    assert (result.task(4).status, result.task(4).observation) == (TaskStatus.SKIPPED, "skipped: $3 failed")
    joiner_prompt = joiner.calls[0][-1].content
    assert "Observation: ERROR: ValueError: no such key: bad" in joiner_prompt
    assert "Observation: skipped: $1 failed" in joiner_prompt


async def test_tool_that_hangs_times_out_and_the_run_ends():
    cancelled = asyncio.Event()

    @tool(timeout=0.05)
    async def stuck(x: str) -> str:
        """Never returns."""
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return x

    @tool
    def quick(x: str) -> str:
        """Returns at once."""
        return x

    plan = '1. stuck("a")\n2. quick("b")\n3. quick($1)\n4. join()<END_OF_PLAN>'
    result = await compiler([stuck, quick], [plan], [finish("b")]).ainvoke("q")
    assert result.answer == "b"
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).observation == "ERROR: ToolTimeoutError: stuck timed out after 0.05s"
    assert cancelled.is_set()
    assert result.task(2).status is TaskStatus.DONE
    assert result.task(3).observation == "skipped: $1 failed"


async def test_sync_tool_hanging_past_timeout_does_not_block_the_loop():
    release = threading.Event()

    @tool(timeout=0.05)
    def blocking(x: str) -> str:
        """Blocks its thread."""
        release.wait(5)
        return x

    @tool
    async def async_one(x: str) -> str:
        """Async."""
        return x

    plan = '1. blocking("a")\n2. async_one("b")\n3. join()<END_OF_PLAN>'
    try:
        result = await compiler([blocking, async_one], [plan], [finish("b")]).ainvoke("q")
    finally:
        release.set()
    assert result.task(1).observation.startswith("ERROR: ToolTimeoutError")
    assert first(result, ev.TaskFinished, idx=2).t < first(result, ev.TaskFailed, idx=1).t


async def test_retries_then_success():
    attempts = 0

    @tool(retries=2)
    def flaky() -> str:
        """Fails twice."""
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError(f"attempt {attempts}")
        return "finally"

    result = await compiler([flaky], ["1. flaky()\n2. join()"], [finish("finally")]).ainvoke("q")
    record = result.task(1)
    assert (record.status, record.result, record.attempts) == (TaskStatus.DONE, "finally", 3)
    assert [e.error for e in of(result, ev.TaskRetrying)] == [
        "ERROR: ConnectionError: attempt 1",
        "ERROR: ConnectionError: attempt 2",
    ]


async def test_retries_exhausted():
    @tool(retries=1)
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("down")

    result = await compiler([broken], ["1. broken()\n2. join()"], [finish("none")]).ainvoke("q")
    assert (result.task(1).status, result.task(1).attempts) == (TaskStatus.FAILED, 2)
    assert result.task(1).observation == "ERROR: RuntimeError: down"


async def test_bad_plan_lines_become_failed_tasks():
    @tool
    def echo(x: str) -> str:
        """Echo."""
        return x

    plan = '1. echo("a")\n2. nope($1)\n3. echo($2)\n4. echo(1 + )\n5. echo($9)\n6. join()<END_OF_PLAN>'
    result = await compiler([echo], [plan], [finish("a")]).ainvoke("q")
    assert result.answer == "a"
    statuses = {r.idx: (r.status, r.observation) for r in result.tasks}
    assert statuses[1] == (TaskStatus.DONE, "a")
    assert statuses[2][0] is TaskStatus.FAILED and "unknown tool 'nope'" in statuses[2][1]
    assert statuses[3] == (TaskStatus.SKIPPED, "skipped: $2 failed")
    assert statuses[4][0] is TaskStatus.FAILED and statuses[4][1].startswith("ERROR: PlanError: cannot parse")
    assert statuses[5][0] is TaskStatus.FAILED and "forward reference" in statuses[5][1]


async def test_wrong_arguments_fail_without_retry():
    @tool(retries=3)
    def one(x: str) -> str:
        """One argument."""
        return x

    result = await compiler([one], ['1. one("a", "b")\n2. join()'], [finish("x")]).ainvoke("q")
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).attempts == 1
    assert result.task(1).observation.startswith("ERROR: TypeError:")


async def test_planner_stream_breaks_mid_plan():
    calls = []

    @tool
    async def search(q: str) -> str:
        """Search."""
        calls.append(q)
        return f"about {q}"

    broken = Reply('1. search("a")\n2. search("b")\n3. search("c', error=ConnectionResetError("connection reset by peer"))
    joiner = ScriptedModel([finish("unused")])
    agent = LLMCompiler(tools=[search], planner=ScriptedModel([broken]), joiner=joiner)
    result = await agent.ainvoke("q")
    assert result.error == "the planner failed in round 1: ConnectionResetError: connection reset by peer"
    assert result.answer == ""
    assert sorted(calls) == ["a", "b"]  # the cut-off third line is not guessed at
    assert [r.status for r in result.tasks] == [TaskStatus.DONE, TaskStatus.DONE]
    assert joiner.calls == []
    assert first(result, ev.PlannerFinished).error is not None
    with pytest.raises(RunFailedError, match="planner failed"):
        await LLMCompiler(tools=[search], planner=ScriptedModel([broken]), joiner=joiner).arun("q")


async def test_planner_fails_before_any_text():
    agent = compiler([], [RuntimeError("model unavailable")], [])
    result = await agent.ainvoke("q")
    assert result.error == "the planner failed in round 1: RuntimeError: model unavailable"
    assert result.tasks == []


async def test_joiner_failure_is_reported():
    @tool
    def a() -> str:
        """A."""
        return "x"

    result = await compiler([a], ["1. a()\n2. join()"], [TimeoutError("read timeout")]).ainvoke("q")
    assert result.error == "the joiner failed in round 1: TimeoutError: read timeout"
    assert result.task(1).status is TaskStatus.DONE


async def test_run_timeout_ends_the_run():
    @tool
    async def slow() -> str:
        """Slow."""
        await asyncio.Event().wait()
        return "never"

    result = await compiler([slow], ["1. slow()\n2. join()"], [finish("x")], timeout=0.1).ainvoke("q")
    assert result.error == "the run timed out after 0.1s"
    assert isinstance(result.events[-1], ev.RunFinished)


# -- replanning --------------------------------------------------------------------------


async def test_replan_uses_results_of_the_first_round():
    @tool
    def population(city: str) -> int:
        """Population of a city."""
        return {"Paris": 2_100_000, "Rome": 2_800_000}[city]

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    plan1 = '1. population("Paris")\n2. population("Rome")\n3. join()<END_OF_PLAN>'
    plan2 = "4. add($1, $2)\n5. join()<END_OF_PLAN>"
    planner = ScriptedModel([plan1, plan2])
    joiner = ScriptedModel(
        [
            "Thought: I have both populations but not their sum.\nAction: Replan(add them up)",
            lambda messages: finish(re.search(r"4\. add\(.*\)\nObservation: (\d+)", messages[-1].content).group(1)),
        ]
    )
    result = await LLMCompiler(tools=[population, add], planner=planner, joiner=joiner).ainvoke("total?")
    assert result.error is None
    assert result.answer == "4900000"
    assert result.rounds == 2
    assert result.task(4).result == 4_900_000 and result.task(4).round == 2
    replan_prompt = planner.calls[1][-1].content
    assert "Number the new calls from 4" in replan_prompt
    assert "Observation: 2100000" in replan_prompt
    assert "I have both populations but not their sum." in replan_prompt
    assert "add them up" in replan_prompt
    assert [e.action for e in of(result, ev.JoinerFinished)] == ["replan", "finish"]
    assert first(result, ev.Replan).reason == "add them up"


async def test_last_round_always_finishes():
    @tool
    def a() -> str:
        """A."""
        return "x"

    joiner = ScriptedModel(["Thought: need more\nAction: Replan(more)"] * 2)
    agent = LLMCompiler(tools=[a], planner=ScriptedModel(["1. a()\n2. join()", "3. a()\n4. join()"]), joiner=joiner, max_replans=1)
    result = await agent.ainvoke("q")
    assert result.rounds == 2
    assert "last round" in joiner.calls[1][-1].content
    assert "after the last allowed round (round 2 of 2)" in result.error
    assert of(result, ev.JoinerFinished)[-1].forced


async def test_replan_restarting_ids_gets_precise_errors():
    @tool
    def a() -> str:
        """A."""
        return "x"

    joiner = ScriptedModel(["Thought: again\nAction: Replan(again)", finish("done")])
    agent = LLMCompiler(tools=[a], planner=ScriptedModel(["1. a()\n2. join()", "1. a()\n2. join()"]), joiner=joiner)
    result = await agent.ainvoke("q")
    assert result.answer == "done"
    dup = [r for r in result.tasks if r.round == 2 and r.idx == 1]
    assert dup and dup[0].status is TaskStatus.FAILED and "duplicate task id 1" in dup[0].observation


# -- streaming, cancellation, API ----------------------------------------------------------


async def test_first_task_starts_before_the_plan_is_written():
    @tool
    async def search(q: str) -> str:
        """Search."""
        return q

    plan = "Thought: two lookups\n" + "".join(f'{i}. search("topic number {i}")\n' for i in range(1, 6)) + "6. join()<END_OF_PLAN>"
    planner = ScriptedModel([plan], tokens_per_second=500)
    result = await LLMCompiler(tools=[search], planner=planner, joiner=ScriptedModel([finish("ok")])).ainvoke("q")
    plan_done = first(result, ev.PlannerFinished).t
    assert first(result, ev.TaskStarted, idx=1).t < plan_done
    assert first(result, ev.TaskFinished, idx=1).t < plan_done
    # the task was parsed before the planner wrote the next line
    parsed = first(result, ev.TaskParsed).t
    later_tokens = [e for e in of(result, ev.PlannerToken) if e.t > parsed]
    assert "2. search" in "".join(e.text for e in later_tokens)


async def test_without_streaming_nothing_runs_before_the_plan_is_complete():
    @tool
    async def search(q: str) -> str:
        """Search."""
        return q

    plan = '1. search("a")\n2. search("b")\n3. join()'
    agent = LLMCompiler(tools=[search], planner=ScriptedModel([plan]), joiner=ScriptedModel([finish("ok")]), stream=False)
    result = await agent.ainvoke("q")
    assert first(result, ev.TaskStarted, idx=1).t > of(result, ev.PlannerToken)[-1].t


async def test_cancelling_a_run_cancels_tools_and_closes_the_planner_stream():
    started = asyncio.Event()
    tool_cancelled = asyncio.Event()
    stream_closed = asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Waits."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            tool_cancelled.set()
            raise
        return "never"

    class SlowPlanner:
        name = "slow"

        async def stream(self, messages, *, stop=()):
            try:
                yield "1. wait_forever()\n"
                await asyncio.Event().wait()  # the rest of the plan never comes
                yield "2. join()"
            finally:
                stream_closed.set()

    agent = LLMCompiler(tools=[wait_forever], planner=SlowPlanner(), joiner=ScriptedModel([]))
    run = asyncio.ensure_future(agent.ainvoke("q"))
    await asyncio.wait_for(started.wait(), 10)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert tool_cancelled.is_set()
    assert stream_closed.is_set()


async def test_astream_yields_typed_events_in_order():
    @tool
    def a() -> str:
        """A."""
        return "x"

    agent = compiler([a], ["1. a()\n2. join()<END_OF_PLAN>"], [finish("x")])
    kinds = [e.kind async for e in agent.astream("q")]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    for earlier, later in [
        ("PlannerStarted", "TaskParsed"),
        ("TaskParsed", "TaskReady"),
        ("TaskReady", "TaskStarted"),
        ("TaskStarted", "TaskFinished"),
        ("TaskFinished", "JoinerStarted"),
        ("JoinerStarted", "JoinerFinished"),
    ]:
        assert kinds.index(earlier) < kinds.index(later)
    times = [e.t async for e in compiler([a], ["1. a()\n2. join()"], [finish("x")]).astream("q")]
    assert times == sorted(times)


async def test_leaving_astream_early_cancels_the_run():
    cancelled = asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Waits."""
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return "x"

    agent = compiler([wait_forever], ["1. wait_forever()\n2. join()"], [finish("x")])
    stream = agent.astream("q")
    async for event in stream:
        if isinstance(event, ev.TaskStarted):
            break
    await stream.aclose()
    assert cancelled.is_set()


async def test_global_and_per_tool_concurrency_limits():
    running = {"any": 0, "slow": 0, "fast": 0}
    peak = dict(running)
    planned = asyncio.Event()  # every call waits for the whole plan: all 10 want to run at once

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.PlannerFinished):
            planned.set()

    async def track(kind: str) -> None:
        running["any"] += 1
        running[kind] += 1
        peak["any"] = max(peak["any"], running["any"])
        peak[kind] = max(peak[kind], running[kind])
        await planned.wait()
        for _ in range(3):
            await asyncio.sleep(0)
        running["any"] -= 1
        running[kind] -= 1

    @tool(max_concurrency=1)
    async def slow(i: int) -> int:
        """Limited to one at a time."""
        await track("slow")
        return i

    @tool
    async def fast(i: int) -> int:
        """Unlimited."""
        await track("fast")
        return i

    plan = "".join(f"{i}. slow({i})\n" for i in range(1, 5)) + "".join(f"{i}. fast({i})\n" for i in range(5, 11)) + "11. join()"
    result = await compiler([slow, fast], [plan], [finish("ok")], max_concurrency=3).ainvoke("q", on_event=on_event)
    assert all(r.status is TaskStatus.DONE for r in result.tasks)
    assert peak["slow"] == 1
    assert peak["any"] == 3


async def test_sync_tools_run_in_worker_threads():
    threads = []
    # All ten calls must be inside the tool at once to pass the barrier: more than the
    # default executor's 6 workers on a 2-core machine, so sync tools are not queued.
    barrier = threading.Barrier(10, timeout=10)

    @tool
    def where() -> str:
        """Which thread."""
        threads.append(threading.current_thread())
        barrier.wait()
        return "ok"

    plan = "".join(f"{i}. where()\n" for i in range(1, 11)) + "11. join()"
    result = await compiler([where], [plan], [finish("ok")]).ainvoke("q")
    assert all(r.status is TaskStatus.DONE for r in result.tasks), [r.observation for r in result.tasks]
    assert threading.main_thread() not in threads and len(set(threads)) == 10


def test_run_and_arun_return_the_answer():
    @tool
    def a() -> str:
        """A."""
        return "x"

    assert compiler([a], ["1. a()\n2. join()"], [finish('"x (y)"')]).run("q") == "x (y)"


async def test_run_refuses_inside_a_loop():
    agent = compiler([], ["1. join()"], [finish("x")])
    with pytest.raises(RuntimeError, match="use `await arun"):
        agent.run("q")


async def test_usage_is_recorded_per_role():
    @tool
    def a() -> str:
        """A."""
        return "x"

    result = await compiler([a], ["1. a()\n2. join()"], [finish("x")]).ainvoke("q")
    assert set(result.usage) == {"planner", "joiner"}
    assert result.usage["planner"].output_tokens > 0 and result.usage["planner"].input_tokens > 0
    assert result.usage["joiner"].calls == 1
    assert result.total_usage.calls == 2


async def test_plan_without_join_still_runs_and_joins():
    @tool
    def a() -> str:
        """A."""
        return "x"

    result = await compiler([a], ['1. a()\n2. a()'], [finish("x")]).ainvoke("q")
    assert result.answer == "x" and len(result.tasks) == 2


def test_configuration_errors_are_precise():
    from llmcompiler.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="the planner must be a model with stream"):
        LLMCompiler(tools=[], planner="gpt-4")
    with pytest.raises(ConfigurationError, match="max_replans"):
        LLMCompiler(tools=[], planner=ScriptedModel([]), max_replans=-1)
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        LLMCompiler(tools=[], planner=ScriptedModel([]), max_concurrency=0)


async def test_model_whose_stream_call_raises_is_reported():
    class Broken:
        name = "broken"

        def stream(self, messages, *, stop=()):
            raise ConnectionRefusedError("no server on 127.0.0.1:9")

    result = await LLMCompiler(tools=[], planner=Broken()).ainvoke("q")
    assert result.error == "the planner failed in round 1: ConnectionRefusedError: no server on 127.0.0.1:9"


async def test_a_model_running_on_into_the_next_example_is_cut_off():
    @tool
    def search(q: str) -> str:
        """Search."""
        return q.upper()

    planner = ScriptedModel(['1. search("a")\n2. join()\n###\nQuestion: another\n1. search("b")\n2. join()'])
    joiner = ScriptedModel(["Thought: A.\nAction: Finish(A)\n###\nQuestion: another\nThought: no\nAction: Replan(more)"])
    result = await LLMCompiler(tools=[search], planner=planner, joiner=joiner).ainvoke("q")
    assert result.answer == "A"
    assert [r.idx for r in result.tasks] == [1]
    # the joiner sees each call as the planner wrote it (as the examples show calls)
    assert '1. search("a")\nObservation: A' in joiner.calls[0][-1].content


async def test_on_event_sees_every_event_as_it_happens():
    @tool
    def a() -> str:
        """A."""
        return "x"

    seen = []
    result = await compiler([a], ["1. a()\n2. join()"], [finish("x")]).ainvoke("q", on_event=seen.append)
    assert seen == result.events and isinstance(seen[-1], ev.RunFinished)


# -- large chunks and large plans: the loop is not stalled, the events are the same ---------


async def test_a_large_chunk_is_parsed_in_slices_and_its_first_tasks_start_before_the_rest_is_read():
    @tool
    async def add(*numbers: int) -> int:
        """Sum of the numbers plus one."""
        return sum(numbers) + 1

    n = 300
    plan = "\n".join(["1. add(0)"] + [f"{i}. add(${i - 1})" for i in range(2, n + 1)]) + f"\n{n + 1}. join()"
    planner = ScriptedModel([plan], tokens_per_second=None, chunk_tokens=100_000)  # the whole plan in one chunk
    agent = LLMCompiler(tools=[add], planner=planner, joiner=ScriptedModel([finish("done")]), max_replans=0)
    result = await agent.ainvoke("count")
    assert result.error is None and result.answer == "done"
    assert [r.result for r in result.tasks] == list(range(1, n + 1))
    kinds = [type(e) for e in result.events]
    token = kinds.index(ev.PlannerToken)
    assert kinds.count(ev.PlannerToken) == 1
    parsed = [i for i, k in enumerate(kinds) if k is ev.TaskParsed]
    assert token < parsed[0] and len(parsed) == n + 1  # (join() too)
    # the planner's call is reported after every task its text completed (as before)
    call = next(i for i, e in enumerate(result.events) if isinstance(e, ev.ModelCall) and e.role == "planner")
    assert call > parsed[-1]
    # the first task ran while the later lines of the same chunk were still to be parsed
    assert result.events.index(first(result, ev.TaskFinished, idx=1)) < parsed[-1]


async def test_one_large_chunk_and_small_chunks_give_the_same_tasks_and_scratchpad():
    @tool
    async def add(*numbers: int) -> int:
        """Sum of the numbers plus one."""
        return sum(numbers) + 1

    n = 1200  # more than one slice of the scratchpad, too
    plan = "\n".join(f"{i}. add({i}{f', ${i - 1}' if i % 3 == 0 else ''})" for i in range(1, n + 1))
    runs = []
    for chunk_tokens in (1, 7, 100_000):
        joiner = ScriptedModel([finish("ok")])
        planner = ScriptedModel([plan + f"\n{n + 1}. join()"], tokens_per_second=None, chunk_tokens=chunk_tokens)
        result = await LLMCompiler(tools=[add], planner=planner, joiner=joiner, max_replans=0).ainvoke("q")
        assert result.error is None
        parsed = [(e.task.idx, e.task.tool, e.task.args) for e in of(result, ev.TaskParsed)]
        runs.append(([r.result for r in result.tasks], parsed, joiner.calls[0][-1].content))
    assert runs[0] == runs[1] == runs[2]
    assert "1. add(1)\nObservation: 2\n2. add(2)\nObservation: 3\n3. add(3, $2)\nObservation: 7" in runs[0][2]
    assert runs[0][2].count("Observation: ") == n


def test_the_slice_cut_is_just_past_the_nth_newline_or_the_end():
    """`_after_lines`, a regex of exactly `lines` lines, cuts where finding the newlines one
    by one would."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from llmcompiler.agents.compiler import _after_lines

    def one_by_one(text: str, start: int, lines: int) -> int:
        at = start
        for _ in range(lines):
            at = text.find("\n", at) + 1
            if at == 0:
                return len(text)
        return at

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(st.text(alphabet="ab\n\r", max_size=40), st.integers(0, 40), st.integers(1, 6))
    def check(text, start, lines):
        start = min(start, len(text))
        assert _after_lines(text, start, lines) == one_by_one(text, start, lines)

    check()
