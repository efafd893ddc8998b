"""The ledger (one fold of a run's events), typed run outcomes and the exception tree."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil

import pytest

import llmcompiler
from llmcompiler import LLMCompiler, ReActAgent, tool
from llmcompiler import exceptions as errors
from llmcompiler.evaluation.runner import run_benchmark
from llmcompiler.evaluation.store import ResultStore
from llmcompiler.exceptions import (
    BenchmarkAborted,
    LLMCompilerError,
    ModelError,
    ModelHTTPError,
    NoDecisionError,
    ReplanLimitError,
    RunCancelledError,
    RunTimeoutError,
    StepLimitError,
)
from llmcompiler.llm import ScriptedModel
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import Ledger, RunStatus, TaskStatus, fold
from llmcompiler.trace import load_trace, save_trace


@tool
async def double(x: int) -> int:
    """Twice x."""
    return 2 * x


@tool
def broken(x: int) -> int:
    """Always fails."""
    raise ValueError(f"no {x}")


def path_text(path) -> str:
    return path.read_text(encoding="utf-8")


def finish(answer: str) -> str:
    return f"Thought: done.\nAction: Finish({answer})"


def agent(plans, joins, **kwargs) -> LLMCompiler:
    return LLMCompiler(tools=[double, broken], planner=ScriptedModel(plans), joiner=ScriptedModel(joins), **kwargs)


async def test_the_result_is_the_ledger_of_its_events_and_every_time_is_an_event_time():
    plan = "1. double(2)\n2. double($1)\n3. broken($2)\n4. double($3)\n5. join()<END_OF_PLAN>"
    result = await agent([plan], [finish("8")]).ainvoke("q")
    assert result.status is RunStatus.ANSWERED and result.exception is None and result.agent == "llmcompiler"
    again = fold(result.events)  # a second fold of the same events says the same
    assert [(r.idx, r.status, r.result, r.observation) for r in again.ordered()] == [
        (r.idx, r.status, r.result, r.observation) for r in result.tasks
    ]
    assert [r.status for r in result.tasks] == [TaskStatus.DONE, TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.SKIPPED]
    assert result.task(2).result == 8 and result.task(4).observation == "skipped: $3 failed"
    stamps = {(type(e), getattr(e, "idx", None)): e.t for e in result.events}
    for record in result.tasks:
        assert record.parsed_at in {e.t for e in result.events if isinstance(e, ev.TaskParsed) and e.task.idx == record.idx}
        if record.started_at is not None:
            assert record.started_at == stamps[(ev.TaskStarted, record.idx)]
            assert record.ready_at == stamps[(ev.TaskReady, record.idx)]
        end_kind = {TaskStatus.DONE: ev.TaskFinished, TaskStatus.FAILED: ev.TaskFailed, TaskStatus.SKIPPED: ev.TaskSkipped}
        assert record.finished_at == stamps[(end_kind[record.status], record.idx)]
    assert result.usage == again.usage and result.plans == again.plans and len(result.plans) == 1
    assert result.usage["planner"].calls == result.usage["joiner"].calls == 1
    assert result.ledger is not None and result.ledger.finished == result.events[-1].t


async def test_a_duplicate_id_fails_on_its_own_record_while_the_first_keeps_running():
    release = asyncio.Event()

    @tool
    async def slow() -> str:
        """Waits."""
        await release.wait()
        return "slow done"

    plan = "1. slow()\n1. slow()\n2. join()<END_OF_PLAN>"

    def joined(messages):
        return finish("ok")

    compiler = LLMCompiler(tools=[slow], planner=ScriptedModel([plan]), joiner=ScriptedModel([joined]))

    def on_event(event):
        if isinstance(event, ev.TaskFailed):  # the duplicate fails while the first still runs
            release.set()

    result = await compiler.ainvoke("q", on_event=on_event)
    first, duplicate = result.tasks
    assert (first.status, first.observation) == (TaskStatus.DONE, "slow done")
    assert duplicate.status is TaskStatus.FAILED and "duplicate task id 1" in duplicate.observation


@pytest.mark.parametrize(
    ("plans", "joins", "kwargs", "status", "kind", "message"),
    [
        ([ModelHTTPError("bad key", status=401)], [], {}, RunStatus.FAILED, ModelHTTPError, "the planner failed in round 1"),
        ([RuntimeError("boom")], [], {}, RunStatus.FAILED, ModelError, "RuntimeError: boom"),
        (["1. double(1)\n2. join()"], ["Thought: I am not sure."], {}, RunStatus.FAILED, NoDecisionError, "had no Action"),
        (
            ["1. double(1)\n2. join()"],
            ["Thought: more.\nAction: Replan(again)"],
            {"max_replans": 0},
            RunStatus.FAILED,
            ReplanLimitError,
            "after the last allowed round",
        ),
    ],
)
async def test_a_run_without_an_answer_has_a_status_and_a_typed_exception(plans, joins, kwargs, status, kind, message):
    result = await agent(plans, joins, **kwargs).ainvoke("q")
    assert result.status is status and type(result.exception) is kind
    assert message in (result.error or "") and result.events[-1].status == status.value


async def test_timeout_and_cancellation_are_statuses_of_their_own():
    @tool
    async def hang() -> str:
        """Never returns."""
        await asyncio.Event().wait()
        return ""

    slow = LLMCompiler(tools=[hang], planner=ScriptedModel(["1. hang()\n2. join()"]), joiner=ScriptedModel([]), timeout=0.05)
    result = await slow.ainvoke("q")
    assert result.status is RunStatus.TIMED_OUT and isinstance(result.exception, RunTimeoutError)
    assert isinstance(result.exception, TimeoutError)

    started = asyncio.Event()
    log = ev.EventLog(lambda e: started.set() if isinstance(e, ev.TaskStarted) else None)
    run = LLMCompiler(tools=[hang], planner=ScriptedModel(["1. hang()\n2. join()"]), joiner=ScriptedModel([]))._new_run("q", log)
    worker = asyncio.ensure_future(run.execute())
    await started.wait()
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    assert log.ledger.status is RunStatus.CANCELLED and log.ledger.cancelled
    assert isinstance(log.ledger.exception, RunCancelledError)
    assert log.ledger.tasks[1].status is TaskStatus.FAILED  # stopped while running


async def test_react_says_who_it_is_and_ends_at_its_step_limit_with_a_type():
    model = ScriptedModel(['Thought: go.\nAction: double(1)', 'Thought: again.\nAction: double(2)'])
    result = await ReActAgent(tools=[double], model=model, max_steps=2).ainvoke("q")
    assert result.agent == "react" and result.events[0].agent == "react"
    assert result.status is RunStatus.FAILED and isinstance(result.exception, StepLimitError)
    assert [r.result for r in result.tasks] == [2, 4]
    kinds = {type(e) for e in result.events}
    assert not kinds & {ev.PlannerStarted, ev.PlannerToken, ev.PlannerFinished, ev.JoinerFinished}  # its own events
    assert [(s.step, s.thought, s.action, s.answer) for s in result.ledger.steps] == [
        (1, "go.", "double(1)", None),
        (2, "again.", "double(2)", None),
    ]
    answered = await ReActAgent(tools=[double], model=ScriptedModel([finish("7")])).ainvoke("q")
    assert [(s.action, s.answer) for s in answered.ledger.steps] == [("", "7")] and answered.decisions == []
    assert answered.plans == [finish("7")] and answered.rounds == 1


async def test_the_benchmark_stops_on_a_fatal_http_status_by_type_not_by_message(tmp_path):
    examples = [{"id": str(i), "question": f"q{i}", "answer": "x"} for i in range(3)]
    # a 500 whose text reads like an auth failure is not fatal: every question is tried
    looks_fatal = [ModelHTTPError("authentication failed (401) not found (404)", status=500)] * 3
    with ResultStore(tmp_path / "a.json") as store:
        ran = await run_benchmark(agent(looks_fatal, []), examples, store, method="llmcompiler")
        assert ran.ran == 3 and len(store.records) == 3
    fatal = [ModelHTTPError("the server said no", status=403)] * 3
    with ResultStore(tmp_path / "b.json") as store:
        with pytest.raises(BenchmarkAborted) as stopped:
            await run_benchmark(agent(fatal, []), examples, store, method="llmcompiler")
    assert isinstance(stopped.value.cause, ModelHTTPError) and stopped.value.cause.status == 403
    assert "the server said no" in str(stopped.value)


async def test_a_saved_trace_folds_to_the_same_outcome_and_old_traces_still_load(tmp_path):
    result = await agent([RuntimeError("boom")], []).ainvoke("q")
    loaded = load_trace(save_trace(result.events, tmp_path / "t.json"))
    ledger = fold(loaded)
    assert (ledger.status, ledger.error, ledger.agent) == (RunStatus.FAILED, result.error, "llmcompiler")
    assert ledger.exception is None  # the exception object lives in memory only
    assert '"exception"' not in path_text(tmp_path / "t.json")
    forged = path_text(tmp_path / "t.json").replace('"status": "failed"', '"status": "failed", "exception": "x"')
    (tmp_path / "forged.json").write_text(forged)
    with pytest.raises(errors.TraceError, match="unknown field 'exception'"):
        load_trace(tmp_path / "forged.json")
    old = Ledger()
    for event in (ev.RunStarted(question="q", t=0.0), ev.RunFinished(answer="", error=None, cancelled=True, t=1.0)):
        old.apply(event)  # no `status`: a trace from before it existed
    assert old.status is RunStatus.CANCELLED
    older = fold([ev.RunFinished(answer="", error="it broke", t=1.0)])
    assert older.status is RunStatus.FAILED


def test_every_exception_of_the_package_is_in_the_tree_and_drawn_in_its_docstring():
    doc = errors.__doc__ or ""
    found = []
    for module_info in pkgutil.walk_packages(llmcompiler.__path__, "llmcompiler."):
        if ".testing" in module_info.name or module_info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(module_info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found.append(value)
    assert BenchmarkAborted in found and errors.StoreError in found
    for cls in found:
        assert issubclass(cls, LLMCompilerError), cls
        assert cls is LLMCompilerError or f"+-- {cls.__name__} " in doc, cls
    from llmcompiler.agents.base import RunFailedError
    from llmcompiler.evaluation.runner import BenchmarkAborted as reexported
    from llmcompiler.trace.record import TraceError

    assert RunFailedError is errors.RunFailedError and reexported is BenchmarkAborted and TraceError is errors.TraceError


async def test_the_view_knows_the_agent_from_the_first_event_and_old_react_traces_still_say_react(tmp_path):
    import json

    from llmcompiler.view import RunState

    model = ScriptedModel(["Thought: go.\nAction: double(1)", finish("2")])
    result = await ReActAgent(tools=[double], model=model).ainvoke("q")
    state = RunState()
    state.apply(result.events[0])
    assert state.agent == "react" and state.react  # before any model call
    for event in result.events[1:]:
        state.apply(event)
    assert (state.answer, state.tasks[0].state, state.model_calls) == ("2", "done", 2)
    path = save_trace(result.events, tmp_path / "react.json")
    data = json.loads(path.read_text())
    del data["events"][0]["agent"]  # as a trace from before RunStarted.agent was written
    path.write_text(json.dumps(data))
    assert load_trace(path)[0].agent == "react"
    data["events"] = [e for e in data["events"] if e.get("role") != "react"]
    path.write_text(json.dumps(data))
    assert load_trace(path)[0].agent == "llmcompiler"


async def test_phase_times_of_a_replanned_run_are_the_event_times_of_each_round():
    from llmcompiler.evaluation.runner import phase_times

    plans = ["1. double(1)\n2. join()<END_OF_PLAN>", "3. double($1)\n4. join()<END_OF_PLAN>"]
    joins = ["Thought: more.\nAction: Replan(again)", finish("4")]
    result = await agent(plans, joins).ainvoke("q")
    t0 = result.events[0].t

    def at(kind, round):
        return next(e.t for e in result.events if isinstance(e, kind) and e.round == round) - t0

    first_start = next(e.t for e in result.events if isinstance(e, ev.TaskStarted)) - t0
    expected = {"first_task_started": first_start}
    for r in (1, 2):
        expected[f"round_{r}_plan_done"] = at(ev.PlannerFinished, r)
        expected[f"round_{r}_join_started"] = at(ev.JoinerStarted, r)
        expected[f"round_{r}_join_done"] = at(ev.JoinerFinished, r)
    assert phase_times(result) == expected


async def test_the_ledger_follows_the_model_call_under_way_for_live_displays():
    plan = "1. double(1)\n2. double(2)\n3. join()<END_OF_PLAN>"
    agent = LLMCompiler(tools=[double], planner=ScriptedModel([plan]), joiner=ScriptedModel([finish("6")]))
    ledger = Ledger()
    seen: list[tuple[str, str | None, int]] = []

    def watch(event: ev.Event) -> None:
        ledger.apply(event)
        seen.append((type(event).__name__, ledger.streaming, ledger.progress["planner"].tokens))

    result = await agent.ainvoke("q", on_event=watch)
    assert result.answer == "6"
    started = next(i for i, s in enumerate(seen) if s[0] == "PlannerStarted")
    finished = next(i for i, s in enumerate(seen) if s[0] == "PlannerFinished")
    assert all(s[1] == "planner" for s in seen[started:finished])
    tokens = [s[2] for s in seen[started:finished] if s[0] == "PlannerToken"]
    assert tokens == list(range(1, len(tokens) + 1)) and tokens  # one more per chunk streamed
    assert any(s[1] == "joiner" for s in seen) and ledger.streaming is None
    assert (ledger.round, ledger.progress["planner"].tasks) == (1, 2)
    planner_call = next(c for c in ledger.model_calls if c.role == "planner")
    assert ledger.progress["planner"].tokens == planner_call.usage.output_tokens  # the reported count wins
