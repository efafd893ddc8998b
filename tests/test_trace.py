"""Traces: events to JSON and back, timelines, Gantt pictures."""

from __future__ import annotations

import asyncio
import json

import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.llm import ScriptedModel
from llmcompiler.runtime import events as ev
from llmcompiler.trace import Timeline, TraceError, critical_tasks, gantt_png, load_trace, save_trace


@tool
async def fetch(key: str) -> dict:
    """Fetch."""
    await asyncio.sleep(0)
    return {"key": key, "items": [1, 2]}


@tool
def bad(x) -> str:
    """Fails."""
    raise ValueError("nope")


PLAN = '1. fetch("a")\n2. fetch("b")\n3. fetch("$1 and $2")\n4. bad($3)\n5. bad({"k": [$1]})\n6. join()<END_OF_PLAN>'


@pytest.fixture
async def result():
    agent = LLMCompiler(
        tools=[fetch, bad],
        planner=ScriptedModel([PLAN], tokens_per_second=5000),
        joiner=ScriptedModel(["Thought: t\nAction: Finish(done)"]),
    )
    return await agent.ainvoke("q")


async def test_round_trip_keeps_every_event(result, tmp_path):
    path = save_trace(result.events, tmp_path / "trace.json")
    loaded = load_trace(path)
    assert [type(e) for e in loaded] == [type(e) for e in result.events]
    assert [e.t for e in loaded] == [e.t for e in result.events]
    parsed = [e.task for e in loaded if isinstance(e, ev.TaskParsed)]
    original = [e.task for e in result.events if isinstance(e, ev.TaskParsed)]
    assert parsed == original  # Ref arguments and deps survive
    calls = [e for e in loaded if isinstance(e, ev.ModelCall)]
    assert calls[0].usage == result.usage["planner"]


async def test_timeline_spans_follow_the_events(result):
    timeline = Timeline.from_events(result.events)
    tasks = {s.idx: s for s in timeline.tasks}
    assert sorted(tasks) == [1, 2, 3, 4, 5]
    assert tasks[1].status == "done" and tasks[4].status == "failed"
    for span in timeline.tasks:
        assert span.parsed is not None and span.parsed <= span.start <= span.end <= timeline.duration
    assert tasks[3].start >= max(tasks[1].end, tasks[2].end)
    assert [s.lane for s in timeline.spans if s.lane != "task"] == ["planner", "joiner"]
    assert critical_tasks(timeline)[-1] in (4, 5)
    assert timeline.answer == "done" and timeline.usage["planner"]["calls"] == 1


async def test_gantt_png_has_one_row_per_task(result, tmp_path):
    from PIL import Image

    path = gantt_png(Timeline.from_events(result.events), tmp_path / "run.png")
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG" and image.width > 600 and image.height > 200


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "cannot read trace"),
        (json.dumps({"format": "other", "events": []}), "is not an llmcompiler trace"),
        (json.dumps({"format": "llmcompiler-trace", "version": 1, "events": [{"type": "Nope", "t": 1}]}), "unknown event type 'Nope'"),
        (json.dumps({"format": "llmcompiler-trace", "version": 1, "events": [{"type": "TaskReady", "t": 1}]}), "bad TaskReady event"),
    ],
)
def test_unreadable_traces_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TraceError, match=message):
        load_trace(path)
    with pytest.raises(TraceError, match="no trace file"):
        load_trace(tmp_path / "missing.json")
