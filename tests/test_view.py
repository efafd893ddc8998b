"""The live view: plain lines for pipes and logs, a rich table on terminals."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from llmcompiler import LLMCompiler, ReActAgent, tool
from llmcompiler.llm import ScriptedModel
from llmcompiler.runtime import events as ev
from llmcompiler.view import LiveView, PlainView, make_view, shorten


@tool
async def lookup(key: str) -> str:
    """Look a key up."""
    table = {"a": "A", "b": "B"}
    if key not in table:
        raise LookupError(f"no such key: {key}")
    return table[key]


@tool
def combine(left: str, right: str) -> str:
    """Put two results together."""
    return left + right


PLAN_1 = (
    "Thought: look both keys up, then combine them.\n"
    '1. lookup("a")\n'
    '2. lookup("missing")\n'
    "3. combine($1, $2)\n"
    "4. join()<END_OF_PLAN>"
)
PLAN_2 = '5. lookup("b")\n6. combine($1, $5)\n7. nosuch(1)\n8. join()<END_OF_PLAN>'
JOINS = [
    "Thought: $2 failed, so $3 was skipped.\nAction: Replan(look up b instead)",
    "Thought: $6 combines a and b.\nAction: Finish(AB)",
]
QUESTION = "What do a and b make?"


def agent(**speed) -> LLMCompiler:
    return LLMCompiler(
        tools=[lookup, combine],
        planner=ScriptedModel([PLAN_1, PLAN_2], **speed),
        joiner=ScriptedModel(JOINS, **speed),
        max_replans=1,
    )


STAMP = re.compile(r"^\[\s*(\d+\.\d\d)s\] ")


def strip(lines: list[str]) -> list[str]:
    """Lines without their time stamp, with durations as `T`."""
    return [re.sub(r"\d+\.\d\ds", "T", STAMP.sub("", line)) for line in lines]


async def test_plain_lines_of_a_run_with_failure_skip_and_replan():
    out = io.StringIO()
    view = make_view(stream=out, title="LLMCompiler")
    assert isinstance(view, PlainView)  # StringIO is not a terminal
    with view:
        result = await agent().ainvoke(QUESTION, on_event=view)
    assert result.answer == "AB" and view.error is None
    lines = out.getvalue().splitlines()
    got = strip(lines)
    usage = result.total_usage
    expected = [
        "== LLMCompiler ==",
        f"question: {QUESTION}",
        "plan 1 started",
        '$1 lookup("a") parsed (deps: none)',
        "$1 started",
        "$1 done in T: A",
        '$2 lookup("missing") parsed (deps: none)',
        "$2 started",
        "$2 failed in T: ERROR: LookupError: no such key: missing",
        "$3 combine($1, $2) parsed (deps: $1 $2)",
        "$3 skipped ($2 failed)",
        f"plan 1 written: 3 tasks, {result.model_calls[0].usage.output_tokens} tokens",
        "joiner started",
        "joiner: Replan(look up b instead) (thought: $2 failed, so $3 was skipped.)",
        "---- replan: plan 2 (look up b instead) ----",
        "plan 2 started",
        '$5 lookup("b") parsed (deps: none)',
        "$5 started",
        "$5 done in T: B",
        "$6 combine($1, $5) parsed (deps: $1 $5)",
        "$6 started",
        "$7 nosuch(1) parsed (deps: none)",
        f"$7 failed: {result.task(7).observation}",
        "$6 done in T: AB",
        f"plan 2 written: 3 tasks, {result.usage['planner'].output_tokens - result.model_calls[0].usage.output_tokens} tokens",
        "joiner started",
        "joiner: Finish(AB) (thought: $6 combines a and b.)",
        "answer: AB",
        f"total T · 4 model calls · {usage.input_tokens:,} tokens in, {usage.output_tokens:,} out",
    ]
    assert sorted(got) == sorted(expected)
    # tasks run while the plan streams; the order of those lines follows the event loop,
    # the order of the rest is fixed
    for before, after in [
        ("plan 1 started", '$1 lookup("a") parsed (deps: none)'),
        ('$1 lookup("a") parsed (deps: none)', "$1 started"),
        ("$1 started", "$1 done in T: A"),
        ("$2 started", "$2 failed in T: ERROR: LookupError: no such key: missing"),
        ("$3 combine($1, $2) parsed (deps: $1 $2)", "$3 skipped ($2 failed)"),
        ("$3 skipped ($2 failed)", "joiner started"),
        ("$6 combine($1, $5) parsed (deps: $1 $5)", "$6 started"),
    ]:
        assert got.index(before) < got.index(after), (before, after)
    assert got[12:16] == expected[12:16]  # joiner, decision, replan separator, next plan
    assert got[-4:] == expected[-4:]
    # times are relative to RunStarted and never go back
    stamps = [float(m.group(1)) for m in map(STAMP.match, lines) if m]
    assert stamps[0] == 0.0 and stamps == sorted(stamps)
    # no line per planner or joiner token
    tokens = sum(isinstance(e, (ev.PlannerToken, ev.JoinerToken)) for e in result.events)
    assert tokens > len(lines)


async def test_plain_view_is_a_pure_consumer_of_events():
    """A saved run replayed into a view prints what the live run printed."""
    live_out, replay_out = io.StringIO(), io.StringIO()
    with make_view(stream=live_out, live=False) as view:
        result = await agent().ainvoke(QUESTION, on_event=view)
    replay = make_view(stream=replay_out, live=False)
    for event in result.events:
        replay(event)
    assert replay_out.getvalue() == live_out.getvalue()


async def test_react_reads_as_steps():
    model = ScriptedModel(
        [
            'Thought: first a.\nAction: lookup("a")',
            'Thought: then b.\nAction: lookup("b")',
            "Thought: a and b make AB.\nAction: Finish(AB)",
        ]
    )
    react = ReActAgent(tools=[lookup, combine], model=model)
    out = io.StringIO()
    with make_view(stream=out, agent=react) as view:
        result = await react.ainvoke(QUESTION, on_event=view)
    assert result.answer == "AB"
    lines = strip(out.getvalue().splitlines())
    assert lines[:8] == [
        f"question: {QUESTION}",
        "step 1 started",
        "step 1 thought: first a.",
        '$1 lookup("a") parsed (deps: none)',
        "$1 started",
        "$1 done in T: A",
        "step 2 started",
        "step 2 thought: then b.",
    ]
    assert lines[-4:] == ["step 3 thought: a and b make AB.", "step 3: Finish(AB)", "answer: AB", lines[-1]]
    assert not any("plan" in line or "joiner" in line for line in lines)


async def test_react_is_recognised_without_a_hint():
    model = ScriptedModel(['Thought: a.\nAction: lookup("a")', "Thought: done.\nAction: Finish(A)"])
    out = io.StringIO()
    with make_view(stream=out) as view:
        await ReActAgent(tools=[lookup], model=model).ainvoke("q", on_event=view)
    lines = strip(out.getvalue().splitlines())
    assert "step 1 thought: a." in lines and "step 2 started" in lines and "step 2: Finish(A)" in lines


def final_frame(console: Console) -> str:
    """The last picture the live display drew, without colours."""
    text = console.file.getvalue()
    frame = text.rsplit("\x1b[2K", 1)[-1]
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frame)


def row(frame: str, idx: int) -> str:
    return next(line for line in frame.splitlines() if re.match(rf"\s*\${idx}\s", line))


async def test_live_table_shows_every_task_state_and_the_answer():
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    view = make_view(console=console, title="LLMCompiler")
    assert isinstance(view, LiveView)
    with view:
        result = await agent().ainvoke(QUESTION, on_event=view)
    assert view.error is None and result.answer == "AB"
    frame = final_frame(console)
    states = {1: "done", 2: "failed", 3: "skipped", 5: "done", 6: "done", 7: "failed"}
    for idx, state in states.items():
        line = row(frame, idx)
        assert re.search(rf"\b{state}\b", line), line
    assert 'lookup("missing")' in row(frame, 2) and "LookupError" in row(frame, 2)
    assert "$1 $2" in row(frame, 3) and "$2 failed" in row(frame, 3)
    assert "joiner: Replan" in frame and "replan: plan 2" in frame and "joiner: Finish" in frame
    assert "answer: AB" in frame
    assert re.search(r"total \d+\.\d\ds · 4 model calls", frame)
    # the display was drawn while the run went on, not only at the end
    assert console.file.getvalue().count("\x1b[2K") > 10


async def test_live_view_redraws_on_events_but_coalesces_bursts():
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    view = make_view(console=console)
    draws = 0
    refresh = view.live.refresh

    def counting() -> None:
        nonlocal draws
        draws += 1
        refresh()

    view.live.refresh = counting
    with view:
        result = await agent().ainvoke(QUESTION, on_event=view)
    # tokens arrive one loop turn apart: most events fall inside one 1/20 s frame
    assert 5 <= draws < len(result.events) / 2
    assert "answer: AB" in final_frame(console)


async def test_live_view_without_with_starts_and_stops_itself():
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    view = make_view(console=console)
    await agent().ainvoke(QUESTION, on_event=view)
    assert not view.live.is_started
    assert "answer: AB" in final_frame(console)


async def test_a_broken_view_does_not_break_the_run(monkeypatch):
    out = io.StringIO()
    view = make_view(stream=out)

    def broken(event):
        if isinstance(event, ev.TaskStarted):
            raise RuntimeError("boom")

    monkeypatch.setattr(view, "handle", broken)
    result = await agent().ainvoke(QUESTION, on_event=view)
    assert result.answer == "AB"
    assert isinstance(view.error, RuntimeError)
    assert out.getvalue().count("the view stopped: RuntimeError: boom") == 1


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_make_view_chooses_by_terminal():
    assert isinstance(make_view(stream=io.StringIO()), PlainView)
    assert isinstance(make_view(stream=FakeTerminal()), LiveView)
    assert isinstance(make_view(stream=FakeTerminal(), live=False), PlainView)
    assert isinstance(make_view(stream=io.StringIO(), live=True), LiveView)
    console = Console(file=io.StringIO(), force_terminal=True)
    plain = make_view(console=console, live=False)
    assert isinstance(plain, PlainView) and plain.stream is console.file
    with pytest.raises(ValueError):
        make_view(agent="langgraph")


def test_shorten():
    assert shorten("a\n  b") == "a b"
    assert shorten("x" * 100, 10) == "x" * 9 + "…"


async def test_a_retry_names_the_attempt_that_failed_and_the_one_that_runs():
    failures = iter(["first", "second"])

    @tool(retries=3)
    async def flaky(x: int) -> int:
        """Fails twice, then works."""
        reason = next(failures, None)
        if reason is not None:
            raise RuntimeError(reason)
        return x

    planner = ScriptedModel(["1. flaky(1)\n2. join()<END_OF_PLAN>"])
    joiner = ScriptedModel(["Thought: ok.\nAction: Finish(1)"])
    out = io.StringIO()
    states: list[int] = []
    with make_view(stream=out, live=False) as view:

        def watch(event: ev.Event) -> None:
            view(event)
            if isinstance(event, ev.TaskRetrying):
                states.append(view.state.tasks[0].attempt)

        await LLMCompiler(tools=[flaky], planner=planner, joiner=joiner).ainvoke("q", on_event=watch)
    text = out.getvalue()
    assert "$1 attempt 1 failed, retrying (attempt 2): ERROR: RuntimeError: first" in text
    assert "$1 attempt 2 failed, retrying (attempt 3): ERROR: RuntimeError: second" in text
    assert states == [2, 3]  # the table's row shows the attempt now running
