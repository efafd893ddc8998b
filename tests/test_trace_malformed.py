"""Malformed traces: every one renders or fails with one clear line, never loops or crashes.

The bug this file starts from: `llmcompiler trace` never ended (and grew to gigabytes) on a
run whose replan reused an id referring to itself (`3. search($3)` in round 2 when round 1
had a task 3): the critical path followed task 3's dependency on 3 forever.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.cli import main as cli_main
from llmcompiler.llm import ScriptedModel
from llmcompiler.llm.base import Usage
from llmcompiler.plan.task import Ref, Task
from llmcompiler.runtime import events as ev
from llmcompiler.trace import (
    Timeline,
    TraceError,
    critical_tasks,
    gantt,
    gantt_png,
    load_trace,
    mermaid_from_events,
    save_trace,
    summarize_events,
    timeline_html,
)
from llmcompiler.trace.record import event_to_dict

sys.path.insert(0, str(Path(__file__).parent))
from test_cli import entry_point  # noqa: E402


@tool
def search(q) -> str:
    """Search."""
    return f"result for {q}"


ROUND_1 = '1. search("a")\n2. search("b")\n3. search("$1 and $2")\n4. join()<END_OF_PLAN>'
ROUND_2 = "3. search($3)\n5. join()<END_OF_PLAN>"  # reuses 3, referring to itself


@pytest.fixture(scope="module")
def reused_id_events():
    agent = LLMCompiler(
        tools=[search],
        planner=ScriptedModel([ROUND_1, ROUND_2]),
        joiner=ScriptedModel(["Thought: more\nAction: Replan(again)", "Thought: ok\nAction: Finish(done)"]),
    )
    result = asyncio.run(agent.ainvoke("q"))
    parsed = [e.task for e in result.events if isinstance(e, ev.TaskParsed) and e.task.idx == 3]
    assert len(parsed) == 2 and parsed[1].deps == (3,)  # the run really has the self-reference
    return result.events


def render_all(events, tmp_path=None):
    """Every renderer `llmcompiler trace` uses; returns what the CLI would print."""
    timeline = Timeline.from_events(events)
    summary = summarize_events(events)
    mermaid = mermaid_from_events(events)
    page = timeline_html(timeline, summary=summary, mermaid=mermaid)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    chain = critical_tasks(timeline)
    assert len(chain) == len(set(chain))  # every task at most once
    assert summary.critical_path == chain
    if tmp_path is not None:
        gantt_png(timeline, tmp_path / "run.png")
    return summary.format(), mermaid


@pytest.mark.timeout(20)
def test_a_replan_reusing_a_self_referring_id_renders(reused_id_events, tmp_path):
    text, mermaid = render_all(reused_id_events, tmp_path)
    assert "critical path   $3," in text
    # the first task 3 stands for the id in the DAG, with its real dependencies
    assert "t1 --> t3" in mermaid and "t2 --> t3" in mermaid
    path = save_trace(reused_id_events, tmp_path / "reused.json")
    render_all(load_trace(path))


@pytest.mark.timeout(60)
async def test_cli_renders_the_reused_id_trace_through_the_entry_point(reused_id_events, tmp_path):
    trace = save_trace(reused_id_events, tmp_path / "reused.json")
    bad = tmp_path / "nan.json"
    data = json.loads(trace.read_text())
    data["events"][2]["t"] = float("nan")
    bad.write_text(json.dumps(data))  # json.dumps writes NaN, as older traces could hold

    async def run(path):
        process = await asyncio.create_subprocess_exec(
            *entry_point(), "trace", str(path), "--no_png", "--out", str(tmp_path / "out"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=50)
        return process.returncode, out.decode(), err.decode()

    (code, out, err), (bad_code, bad_out, bad_err) = await asyncio.gather(run(trace), run(bad))
    assert code == 0, err
    assert "critical path   $3," in out and (tmp_path / "out" / "reused.html").exists()
    assert bad_code == 2 and bad_out == ""
    assert bad_err.count("\n") == 1 and bad_err.startswith("error: ") and "events[2]" in bad_err and "NaN" in bad_err


# -- hand-made event lists ----------------------------------------------------------------


def parsed(idx, deps=(), *, t, round_=1, tool="search", error=None):
    args = tuple(Ref(d) for d in deps)
    return ev.TaskParsed(round=round_, task=Task(idx, tool, args, {}, tuple(deps), None, f"{idx}. {tool}(...)", error), t=t)


def ran(idx, start, end, *, failed=False):
    done = ev.TaskFailed(idx=idx, error="ERROR: x", t=end) if failed else ev.TaskFinished(idx=idx, observation="o", t=end)
    return [ev.TaskReady(idx=idx, t=start), ev.TaskStarted(idx=idx, tool="search", t=start), done]


def run_of(*body, end=10.0):
    return [ev.RunStarted(question="q", t=0.0), *body, ev.RunFinished(answer="a", t=end)]


CASES = {
    "self dependency": run_of(parsed(1, (1,), t=0.1), *ran(1, 0.2, 0.3)),
    "two-task cycle": run_of(parsed(1, (2,), t=0.1), parsed(2, (1,), t=0.1), *ran(1, 0.2, 0.5), *ran(2, 0.2, 0.6)),
    "three-task cycle": run_of(
        parsed(1, (3,), t=0.1), parsed(2, (1,), t=0.1), parsed(3, (2,), t=0.1),
        *ran(1, 0.2, 0.4), *ran(2, 0.2, 0.5), *ran(3, 0.2, 0.6),
    ),  # fmt: skip
    "missing dependency": run_of(parsed(2, (7, 1), t=0.1), *ran(2, 0.2, 0.3)),
    "duplicate ids": run_of(
        parsed(1, t=0.1), parsed(1, (1,), t=0.2, round_=2), parsed(2, (1,), t=0.2), *ran(1, 0.3, 0.4), *ran(1, 0.5, 0.9)
    ),
    "out of order": [
        ev.RunFinished(answer="a", t=5.0), *ran(1, 3.0, 2.0), parsed(1, t=4.0), ev.RunStarted(question="q", t=1.0)
    ],
    "started, never parsed": run_of(*ran(9, 0.1, 0.2), ev.TaskSkipped(idx=8, reason="?", t=0.3)),
    "huge numbers": run_of(parsed(10**30, (10**30,), t=1e14), *ran(10**30, -1e15, 1e15), end=1e15),
    "only a finish": [ev.RunFinished(answer="", t=3.0)],
    "model call before the run": run_of(
        ev.ModelCall(role="planner", round=1, model="m", usage=Usage(1, 2), started=-5.0, first_token=None, t=0.5)
    ),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", list(CASES))
def test_malformed_event_lists_render(name, tmp_path):
    events = CASES[name]
    text, _ = render_all(events)
    assert "time per phase" in text
    loaded = load_trace(save_trace(events, tmp_path / "t.json"))
    assert render_all(loaded)[0] == text


def test_cycles_are_drawn_and_end_the_critical_path():
    timeline = Timeline.from_events(CASES["three-task cycle"])
    assert critical_tasks(timeline) == [1, 2, 3]  # 3 ended last; its chain stops where it closes
    mermaid = mermaid_from_events(CASES["three-task cycle"])
    assert {"t3 --> t1", "t1 --> t2", "t2 --> t3"} <= {line.strip() for line in mermaid.splitlines()}
    assert critical_tasks(Timeline.from_events(CASES["self dependency"])) == [1]
    assert "t1 --> t1" in mermaid_from_events(CASES["self dependency"])


def test_out_of_order_events_measure_from_the_earliest_to_the_latest():
    timeline = Timeline.from_events(CASES["out of order"])
    assert timeline.duration == 4.0
    assert all(0.0 <= s.start and s.end <= timeline.duration for s in timeline.spans if s.lane != "task")


def test_a_time_that_is_not_finite_is_one_value_error():
    events = run_of(parsed(1, t=float("nan")))
    with pytest.raises(ValueError, match=r"event 1 \(TaskParsed\) has the time nan, not a finite number"):
        Timeline.from_events(events)


def test_the_png_of_a_huge_run_is_bounded(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from PIL import Image

    monkeypatch.setattr(gantt, "MAX_ROWS", 20)  # the real cap is 300; drawing that is slow
    body = [parsed(i, (i - 1,) if i > 1 else (), t=i * 1e-3) for i in range(1, 60)]
    timeline = Timeline.from_events(run_of(*body, end=1.0))
    assert len(gantt.rows(timeline)) == 59
    with Image.open(gantt_png(timeline, tmp_path / "big.png", title="costs $5 or $6")) as image:
        full_height = image.height
    small = Timeline.from_events(run_of(*body[:20], end=1.0))
    with Image.open(gantt_png(small, tmp_path / "small.png")) as image:
        assert full_height <= image.height + 40  # only the title's extra line


# -- malformed files ----------------------------------------------------------------------


def good_trace() -> dict:
    events = run_of(parsed(1, t=0.1), *ran(1, 0.2, 0.3), parsed(2, (1,), t=0.15), *ran(2, 0.4, 0.5))
    events.insert(1, ev.ModelCall(role="planner", round=1, model="m", usage=Usage(3, 4), started=0.0, first_token=0.05, t=0.2))
    return json.loads(json.dumps({"format": "llmcompiler-trace", "version": 1, "events": [event_to_dict(e) for e in events]}))


def edit(change):
    data = good_trace()
    change(data)
    return json.dumps(data)


def task_of(data, n=0):
    return [e for e in data["events"] if e["type"] == "TaskParsed"][n]["task"]


FILES = {
    "empty": ("", "cannot read trace"),
    "truncated": (json.dumps(good_trace())[:300], "cannot read trace"),
    "a list": ("[1, 2]", "is not an llmcompiler trace"),
    "events not a list": ('{"format": "llmcompiler-trace", "events": {}}', "is not an llmcompiler trace"),
    "newer version": (edit(lambda d: d.update(version=2)), "trace version 2, this llmcompiler reads version 1"),
    "event not an object": (edit(lambda d: d["events"].insert(1, 7)), r"events\[1\]: an event must be an object, got 7"),
    "unknown type": (edit(lambda d: d["events"].append({"type": "Teleport", "t": 1})), "unknown event type 'Teleport'"),
    "type not a string": (edit(lambda d: d["events"][0].update(type=["RunStarted"])), "unknown event type"),
    "unknown field": (edit(lambda d: d["events"][0].update(colour="red")), r"events\[0\]: RunStarted: unknown field 'colour'"),
    "missing field": (edit(lambda d: d["events"][0].pop("question")), "bad RunStarted event: missing 'question'"),
    "NaN time": (edit(lambda d: d["events"][2].update(t=float("nan"))), r"events\[2\]: TaskParsed.t must be a finite time"),
    "infinite time": (edit(lambda d: d["events"][2].update(t=float("inf"))), "TaskParsed.t must be a finite time"),
    "huge int time": (edit(lambda d: d["events"][2].update(t=10**400)), "TaskParsed.t must be a finite time"),
    "time as text": (edit(lambda d: d["events"][2].update(t="0.1")), 'TaskParsed.t must be a number of seconds, got "0.1"'),
    "time as bool": (edit(lambda d: d["events"][2].update(t=True)), "TaskParsed.t must be a number of seconds, got true"),
    "idx as float": (edit(lambda d: d["events"][3].update(idx=1.0)), "TaskReady.idx must be an integer, got 1.0"),
    "idx too long": ('{"format": "llmcompiler-trace", "events": [{"type": "TaskReady", "t": 1, "idx": ' + "9" * 5000 + "}]}", "cannot read trace"),
    "task not an object": (edit(lambda d: d["events"][2].update(task="1. search()")), "TaskParsed.task must be an object"),
    "task without tool": (edit(lambda d: task_of(d).pop("tool")), "TaskParsed.task has no 'tool'"),
    "deps as text": (edit(lambda d: task_of(d, 1).update(deps="1")), r"TaskParsed.task.deps must be a list of task ids"),
    "deps of floats": (edit(lambda d: task_of(d, 1).update(deps=[1.5])), r"TaskParsed.task.deps must be a list of task ids"),
    "args not a list": (edit(lambda d: task_of(d).update(args={"a": 1})), "TaskParsed.task.args must be a list"),
    "bad reference": (edit(lambda d: task_of(d).update(args=[{"$ref": "one"}])), "TaskParsed.task.args: a reference"),
    "nested too deep": (edit(lambda d: task_of(d).update(args=json.loads("[" * 150 + "]" * 150))), "nested more than 100 levels deep"),
    "nested beyond the parser": ('{"format": "llmcompiler-trace", "events": [' + "[" * 100_000 + "]" * 100_000 + "]}", "nested too deeply"),
    "bad role": (edit(lambda d: d["events"][1].update(role="oracle")), "ModelCall.role must be one of 'planner', 'joiner', 'react', 'tool'"),
    "usage with text": (edit(lambda d: d["events"][1]["usage"].update(input_tokens="3")), "ModelCall.usage.input_tokens must be an integer"),
    "usage not an object": (edit(lambda d: d["events"][1].update(usage=7)), "ModelCall.usage must be an object"),
    "first token as text": (edit(lambda d: d["events"][1].update(first_token="x")), "ModelCall.first_token must be a number of seconds or null"),
    "cancelled as text": (edit(lambda d: d["events"][-1].update(cancelled="no")), "RunFinished.cancelled must be true or false"),
    "not UTF-8": (b"\xff\xfe{}", "cannot read trace"),
}


@pytest.mark.parametrize("name", list(FILES))
def test_malformed_files_are_one_trace_error(name, tmp_path):
    content, message = FILES[name]
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(TraceError, match=message) as caught:
        load_trace(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["truncated", "NaN time", "deps as text", "nested beyond the parser", "bad role", "not UTF-8"])
def test_cli_prints_one_error_line_and_exits_2(name, tmp_path, capsys):
    content, _ = FILES[name]
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert cli_main(["trace", str(path), "--no_png", "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert str(path) in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_good_trace_of_this_file_loads(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(good_trace()))
    events = load_trace(path)
    assert [type(e).__name__ for e in events][:3] == ["RunStarted", "ModelCall", "TaskParsed"]
    assert render_all(events)[0].count("\n") > 5


def test_saved_traces_are_strict_json(tmp_path):
    events = run_of(ev.TaskParsed(round=1, task=Task(1, "math", (float("nan"), float("-inf")), {"x": [float("inf")]}), t=0.1))
    path = save_trace(events, tmp_path / "strict.json")

    def refuse(name):
        raise AssertionError(f"non-strict JSON constant {name}")

    data = json.loads(path.read_text(), parse_constant=refuse)
    task = data["events"][1]["task"]
    assert task["args"] == ["nan", "-inf"] and task["kwargs"] == {"x": ["inf"]}


def test_lone_surrogates_and_control_characters_render_everywhere(tmp_path):
    pytest.importorskip("matplotlib")
    data = good_trace()
    data["events"][0]["question"] = "caf\u00e9 \ud800 $x$ \x00 \u202e"
    task_of(data)["text"] = "1. s(\ud83d)\n<b>"
    task_of(data)["kwargs"] = {"k\udfff": "v\ud800"}
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data))  # \ud800 etc. travel as JSON escapes
    events = load_trace(path)
    assert events[0].question == "caf\u00e9 \ufffd\ufffd\ufffd $x$ \x00 \u202e"
    text, mermaid = render_all(events, tmp_path)
    (tmp_path / "summary.txt").write_text(text + mermaid, encoding="utf-8")  # encodable
    assert cli_main(["trace", str(path), "--out", str(tmp_path / "out")]) == 0
    assert {p.suffix for p in (tmp_path / "out").iterdir()} == {".png", ".html", ".mmd"}
