"""Property tests: random event lists always render; random edits of a trace file always
load into something that renders, or fail as one TraceError line.

Derandomized, so a run is the same every time; hypothesis is a dev dependency.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from llmcompiler.llm.base import Usage  # noqa: E402
from llmcompiler.plan.task import Ref, Task  # noqa: E402
from llmcompiler.runtime import events as ev  # noqa: E402
from llmcompiler.trace import TraceError, load_trace, save_trace  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_trace_malformed import good_trace, render_all  # noqa: E402

SETTINGS = settings(
    derandomize=True, max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

ids = st.integers(min_value=-1, max_value=5)  # few ids: reuse, self-references and cycles are common
times = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
texts = st.text(max_size=12)


@st.composite
def tasks(draw):
    idx = draw(ids)
    deps = draw(st.lists(ids, max_size=4))
    args = tuple(Ref(d) for d in deps) + tuple(draw(st.lists(st.one_of(texts, st.integers(), st.none()), max_size=2)))
    tool = draw(st.sampled_from(["search", "join", "math", ""]))
    return Task(idx, tool, args, {}, tuple(deps), draw(st.none() | texts), draw(texts), draw(st.none() | texts))


def event_strategy():
    t = {"t": times}
    return st.one_of(
        st.builds(ev.RunStarted, question=texts, **t),
        st.builds(ev.PlannerStarted, round=st.integers(0, 3), **t),
        st.builds(ev.PlannerFinished, round=st.integers(0, 3), text=texts, error=st.none() | texts, **t),
        st.builds(ev.TaskParsed, round=st.integers(0, 3), task=tasks(), **t),
        st.builds(ev.TaskReady, idx=ids, **t),
        st.builds(ev.TaskStarted, idx=ids, tool=texts, **t),
        st.builds(ev.TaskFinished, idx=ids, observation=texts, **t),
        st.builds(ev.TaskFailed, idx=ids, error=texts, **t),
        st.builds(ev.TaskSkipped, idx=ids, reason=texts, **t),
        st.builds(
            ev.ModelCall,
            role=st.sampled_from(["planner", "joiner", "react", "tool"]),
            round=st.integers(0, 3),
            model=texts,
            usage=st.builds(Usage, st.integers(0, 10**6), st.integers(0, 10**6)),
            started=times,
            first_token=st.none() | times,
            error=st.none() | texts,
            **t,
        ),
        st.builds(ev.JoinerStarted, round=st.integers(0, 3), **t),
        st.builds(
            ev.JoinerFinished, round=st.integers(0, 3), action=st.sampled_from(["finish", "replan"]), thought=texts, content=texts, **t
        ),
        st.builds(ev.Replan, round=st.integers(0, 3), reason=texts, **t),
        st.builds(ev.RunFinished, answer=texts, error=st.none() | texts, cancelled=st.booleans(), **t),
    )


@st.composite
def event_lists(draw):
    plan = draw(st.lists(st.builds(ev.TaskParsed, round=st.integers(0, 3), task=tasks(), t=times), min_size=1, max_size=6))
    task_events: list[ev.Event] = []
    for event in plan:
        if draw(st.booleans()):
            kind = draw(st.sampled_from(["started", "finished", "failed", "skipped"]))
            end = draw(times)
            if kind == "started":
                task_events.append(ev.TaskStarted(idx=event.task.idx, tool=event.task.tool, t=end))
            elif kind == "finished":
                task_events.append(ev.TaskFinished(idx=event.task.idx, observation="o", t=end))
            elif kind == "failed":
                task_events.append(ev.TaskFailed(idx=event.task.idx, error="e", t=end))
            else:
                task_events.append(ev.TaskSkipped(idx=event.task.idx, reason="r", t=end))
    others = draw(st.lists(event_strategy(), max_size=15))
    return draw(st.permutations(plan + task_events + others))


@pytest.mark.timeout(60)
@SETTINGS
@given(event_lists())
def test_any_event_list_renders_and_survives_a_round_trip(events):
    text, mermaid = render_all(events)
    assert mermaid.startswith("flowchart LR")
    with tempfile.TemporaryDirectory() as folder:
        loaded = load_trace(save_trace(events, Path(folder) / "t.json"))
    assert render_all(loaded)[0] == text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def paths(value, prefix=()):
    """Every place inside a JSON value, as a tuple of keys and indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


GOOD = good_trace()
PLACES = [p for p in paths(GOOD) if p]


@st.composite
def edited_files(draw):
    data = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(PLACES))
        parent = data
        try:
            for key in place[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "replace"]))
            if action == "delete" and isinstance(parent, (dict, list)):
                del parent[place[-1]]
            else:
                parent[place[-1]] = draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this place
    text = json.dumps(data)
    if draw(st.booleans()) and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


@pytest.mark.timeout(60)
@SETTINGS
@given(edited_files())
def test_any_edit_of_a_trace_loads_and_renders_or_is_one_trace_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.json"
        path.write_text(text)
        try:
            events = load_trace(path)
        except TraceError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            return
    render_all(events)
