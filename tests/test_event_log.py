"""The event log keeps the four events every task has packed (issue 16): what it gives
back must be the same events, in the same order, folded into the same ledger."""

from __future__ import annotations

import gc
import pickle

from llmcompiler import LLMCompiler, tool
from llmcompiler.llm import ScriptedModel
from llmcompiler.plan.task import Ref, Task
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import TaskStatus, fold

PLAN = "1. op()\n2. op($1)\n3. bad(\n4. op($1, $2)\n5. op($3)\n6. join()<END_OF_PLAN>"
JOIN = "Thought: done.\nAction: Finish(ok)"


async def op(*inputs: int) -> int:
    return len(inputs) + 1


def agent() -> LLMCompiler:
    return LLMCompiler(
        tools=[tool(op)],
        planner=ScriptedModel([PLAN], chunk_tokens=3, name="planner"),
        joiner=ScriptedModel([JOIN], name="joiner"),
        max_replans=0,
    )


async def test_the_log_gives_back_what_the_subscribers_got():
    seen: list[ev.Event] = []
    result = await agent().ainvoke("q", on_event=seen.append)
    assert result.answer == "ok"
    events = result.events
    assert len(events) == len(seen)
    assert list(events) == seen and events == seen  # equal, in order
    assert [type(e) for e in events] == [type(e) for e in seen]
    assert events[-1] == seen[-1] and events[-3:] == seen[-3:] and events[::2] == seen[::2]
    # the tool's value is not part of an event's equality: compare it on its own
    values = [e.value for e in events if isinstance(e, ev.TaskFinished)]
    assert values == [e.value for e in seen if isinstance(e, ev.TaskFinished)] == [1, 2, 3]
    kinds = [e.kind for e in events]
    assert {"TaskParsed", "TaskReady", "TaskStarted", "TaskFinished", "TaskFailed", "TaskSkipped"} <= set(kinds)


async def test_the_folded_log_is_the_live_ledger():
    result = await agent().ainvoke("q")
    live = result.ledger
    assert live is not None
    again = fold(result.events)
    assert [
        (r.idx, r.status, r.observation, r.parsed_at, r.ready_at, r.started_at, r.finished_at) for r in again.ordered()
    ] == [
        (r.idx, r.status, r.observation, r.parsed_at, r.ready_at, r.started_at, r.finished_at) for r in live.ordered()
    ]
    assert [r.status for r in live.ordered()] == [
        TaskStatus.DONE,
        TaskStatus.DONE,
        TaskStatus.FAILED,
        TaskStatus.DONE,
        TaskStatus.SKIPPED,
    ]
    parsed = [e for e in result.events if isinstance(e, ev.TaskParsed)]
    assert [e.task.idx for e in parsed] == [1, 2, 3, 4, 5, 6]
    assert parsed[1].task.args == (Ref(1),) and parsed[-1].task.tool == "join"


def test_packed_events_are_not_tracked_by_the_collector():
    log = ev.EventLog()
    log.task_parsed(1, Task(1, "op"))
    log.task_ready(1)
    log.task_started(1, "op")
    log.task_finished(1, "3", 1, 3)
    gc.collect()
    assert [gc.is_tracked(item) for item in log._items] == [False] * 4
    record = log.ledger.tasks[1]
    assert record.status is TaskStatus.DONE and record.result == 3 and record.observation == "3"
    assert [e.kind for e in log.events] == ["TaskParsed", "TaskReady", "TaskStarted", "TaskFinished"]
    assert log.events[0].t == record.parsed_at and log.events[3].t == record.finished_at


def test_emit_and_the_packed_events_keep_one_order():
    log = ev.EventLog()
    log.emit(ev.RunStarted(question="q"))
    log.task_parsed(1, Task(1, "op"))
    log.emit(ev.TaskFailed(idx=1, error="ERROR: x"))
    log.task_parsed(1, Task(2, "join"))
    assert [e.kind for e in log.events] == ["RunStarted", "TaskParsed", "TaskFailed", "TaskParsed"]
    assert log.events[3].task == Task(2, "join") and log.ledger.plan[1] == Task(2, "join")
    assert repr(log.events) == "<EventList of 4 events>"
    assert log.events != [ev.RunStarted(question="q")]
    assert (log.events == object()) is False


async def test_a_result_pickles_with_its_events():
    result = await agent().ainvoke("q")
    copy = pickle.loads(pickle.dumps(result))
    assert copy.events == result.events and copy.answer == "ok"
