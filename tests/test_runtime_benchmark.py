"""The runtime benchmark (benchmarks/runtime.py): a smoke run and the ideal-time computation.

Timing targets are measured by the benchmark itself, never asserted here.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import runtime  # noqa: E402
from benchmarks._ideal import (  # noqa: E402
    ModelTiming,
    emission_times,
    ideal_compiler,
    ideal_parallel_calls,
    ideal_react,
    plan_calls,
)
from llmcompiler.llm.base import split_tokens  # noqa: E402
from llmcompiler.plan.parser import PlanParser  # noqa: E402

PLAN = '1. search("a")\n2. search("b")\n3. math("add", context=["$1", "$2"])\n4. join()'


def test_plan_calls_find_each_call_and_its_closing_parenthesis():
    calls = plan_calls(PLAN)
    assert [(c.idx, c.tool, c.deps) for c in calls] == [(1, "search", ()), (2, "search", ()), (3, "math", (1, 2))]
    for call in calls:
        assert PLAN[call.close] == ")"
    assert PLAN[: calls[2].close + 1].endswith('context=["$1", "$2"])')


def test_ideal_of_two_tasks_and_a_dependent_by_hand():
    # split_tokens: '1.' ' search("a")' '\n2.' ' search("b")' '\n3.' ' math("add",'
    # ' context=["$1",' ' "$2"])' '\n4.' ' join()' -- ten tokens
    assert len(split_tokens(PLAN)) == 10
    timing = ModelTiming(ttft=1.0, tokens_per_second=10.0, chunk_tokens=2)
    # chunks of two tokens arrive at 1.0, 1.2, 1.4, 1.6, 1.8; the ")" of call 1 is in the
    # first chunk, call 2's in the second, call 3's in the fourth (tokens 6-7); the plan
    # ends with the fifth.
    assert emission_times(PLAN, timing) == pytest.approx({1: 1.0, 2: 1.2, 3: 1.6})
    joiner = "Thought: done\nAction: Finish(3)"  # four tokens: two chunks, the last at +0.2
    assert timing.duration(joiner) == pytest.approx(1.2)

    ideal = ideal_compiler(PLAN, joiner, {1: 0.5, 2: 2.0, 3: 0.25}, timing)
    assert ideal.plan_end == pytest.approx(1.8)
    assert ideal.tasks[1].start == pytest.approx(1.0) and ideal.tasks[1].finish == pytest.approx(1.5)
    assert ideal.tasks[2].start == pytest.approx(1.2) and ideal.tasks[2].finish == pytest.approx(3.2)
    # emitted at 1.6 but waits for $2 (3.2)
    assert ideal.tasks[3].emitted == pytest.approx(1.6)
    assert ideal.tasks[3].start == pytest.approx(3.2) and ideal.tasks[3].finish == pytest.approx(3.45)
    assert ideal.join_start == pytest.approx(3.45)
    assert ideal.total == pytest.approx(3.45 + 1.2)
    # critical path: joiner chunk, task 3, task 2, the chunk that emitted task 2
    assert ideal.critical_waits == 4

    batch = ideal_compiler(PLAN, joiner, {1: 0.5, 2: 2.0, 3: 0.25}, timing, stream=False)
    assert batch.tasks[1].start == pytest.approx(1.8)
    assert batch.total == pytest.approx(1.8 + 2.0 + 0.25 + 1.2)

    # a closing parenthesis in the middle of a chunk counts when that chunk arrives
    wide = ModelTiming(ttft=1.0, tokens_per_second=10.0, chunk_tokens=3)
    assert emission_times(PLAN, wide) == pytest.approx({1: 1.0, 2: 1.3, 3: 1.6})


def test_ideal_emission_agrees_with_the_runtime_parser():
    """The ideal's own scanner and the runtime's parser see each call complete in the same chunk."""
    text = runtime.wl.build("parallelqa-3", 0, ModelTiming(0.5, 40.0)).plan_text
    timing = ModelTiming(ttft=0.0, tokens_per_second=1.0, chunk_tokens=3)
    parser = PlanParser(["search", "math"])
    seen = {}
    for start, end, arrival in timing.chunks(text, runtime.PLAN_STOP):
        for task in parser.feed(text[start:end]):
            if not task.is_join:
                seen[task.idx] = arrival
    assert seen == emission_times(text, timing, runtime.PLAN_STOP)


def test_ideal_react_and_parallel_calls():
    timing = ModelTiming(ttft=0.5, tokens_per_second=None)
    assert ideal_react([("Thought: a\nAction: s(1)", 1.0), ("Thought: b\nAction: s(2)", 2.0)], "x", timing) == 4.5
    assert ideal_parallel_calls([("s(1)\ns(2)", [1.0, 2.0]), ("m(3)", [0.25])], "x", timing) == 2.5 + 0.75 + 0.5


def _finite_positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_smoke_run_writes_a_well_formed_report(tmp_path, capsys):
    out, md = tmp_path / "runtime.json", tmp_path / "runtime.md"
    code = runtime.main(
        [
            "--workloads", "hotpotqa",
            "--scale", "0.01",
            "--repeats", "1",
            "--dag-sizes", "100",
            "--dag-repeats", "1",
            "--shape-sizes", "50,100",
            "--shape-repeats", "1",
            "--out", str(out),
            "--markdown", str(md),
            "--no-plots",
            "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["errors"] == []
    printed = capsys.readouterr().out
    assert "| workload |" in printed and md.read_text().strip() == printed.strip()

    hotpotqa = report["workloads"]["hotpotqa"]
    assert set(hotpotqa["modes"]) == set(runtime.MODES)
    for mode in hotpotqa["modes"].values():
        assert all(_finite_positive(v) for v in mode["measured_s"])
        assert _finite_positive(mode["median_s"]) and _finite_positive(mode["ideal_s"])
        assert mode["ideal_s"] <= mode["median_s"] + 1e-3
        assert mode["ratio"] == pytest.approx(mode["median_s"] / mode["ideal_s"])
    for value in hotpotqa["speedup"].values():
        assert _finite_positive(value)
    assert report["families"]["hotpotqa"]["paper"] == 1.8

    assert _finite_positive(report["dispatch"]["small"]["p99_ms"])
    dag = report["dags"]["100"]
    for key in ("whole_cpu_us_per_task", "scheduler_cpu_us_per_task", "asyncio_floor_cpu_us_per_task"):
        assert _finite_positive(dag[key])
    assert dag["problems"] == []
    assert report["profile"]["top_by_tottime"]
    assert report["commit"]["head"]
    assert set(report["shapes"]) == set(runtime.wl.SHAPES)
    for shape in report["shapes"].values():
        assert set(shape["sizes"]) == {"50", "100"} and _finite_positive(shape["linearity"])
        for entry in shape["sizes"].values():
            assert entry["problems"] == []
            for key in ("whole_cpu_us_per_task", "bound_cpu_us_per_task", "ratio"):
                assert _finite_positive(entry[key])
        lag = shape["sizes"]["100"]["lag"]  # the size nearest 10,000 gets the lag ticker
        assert lag["n"] >= 1 and lag["max_ms"] >= lag["p50_ms"]
        assert set(runtime.LAG_CAUSES) <= set(lag) and lag["young_gcs"] >= 0
        assert lag["max_outside_full_gc_ms"] <= lag["max_ms"] or lag["full_gcs"] == 0
    assert "| shape | tasks |" in printed
    costs = report["full_collection"]
    assert set(costs) == set(runtime.FULL_COLLECTION_IMPORTS)
    alone, with_openai = costs["llmcompiler"], costs["llmcompiler and openai"]
    assert _finite_positive(alone["full_collection_ms"]) and _finite_positive(with_openai["full_collection_ms"])
    assert with_openai["objects"] > alone["objects"] > 0
    assert "One full collection in a fresh process" in printed
    memory = report["memory"]
    assert memory["done"] == 100
    assert _finite_positive(memory["baseline_rss_mib"]) and memory["peak_rss_mib"] >= memory["baseline_rss_mib"]
    assert {t["target"] for t in report["targets"]} and all(isinstance(t["met"], bool) for t in report["targets"])


def test_shape_plans_have_the_named_dependencies():
    wl = runtime.wl
    assert wl.shape_deps("fan-out", 4, 0) == [(), (1,), (1,), (1,)]
    assert wl.shape_deps("chain", 4, 0) == [(), (1,), (2,), (3,)]
    assert wl.shape_deps("random DAG", 50, 0) == wl.random_dag(50, 0)[1]
    text = wl.shape_plan([(), (1,), (1, 2)])
    assert text == "1. op()\n2. op($1)\n3. op($1, $2)\n4. join()<END_OF_PLAN>"
    with pytest.raises(ValueError, match="unknown shape"):
        wl.shape_deps("star", 3, 0)


def test_event_bound_runs_every_node_after_its_dependencies():
    import asyncio

    assert asyncio.run(runtime.event_bound(runtime.wl.shape_deps("random DAG", 200, 1))) >= 0


def test_lag_by_cause_sets_apart_the_ticks_a_full_collection_overlapped():
    collections = runtime.Collections()
    collections.seen = [(0, 1.0, 1.0002), (2, 2.0, 2.030), (1, 3.0, 3.001)]
    ticks = [(0.9995, 1.0013), (1.99, 2.031), (2.031, 2.0325), (2.999, 3.0012)]
    assert runtime.lateness_of(ticks, 0.001) == pytest.approx([b - a - 0.001 for a, b in ticks])
    causes = runtime.lag_by_cause(ticks, collections, 0.001)
    assert causes["full_gcs"] == 1 and causes["young_gcs"] == 2
    assert causes["full_gc_max_ms"] == pytest.approx(30.0)
    assert causes["young_gc_max_ms"] == pytest.approx(1.0)
    # the second tick slept through the full collection; of the others the last is the latest
    assert causes["max_outside_full_gc_ms"] == pytest.approx(1.2)


def test_collections_records_a_real_full_collection():
    import gc

    with runtime.Collections() as collections:
        gc.collect()
    assert collections.full() and all(ended >= began for began, ended in collections.full())
    assert collections._callback not in gc.callbacks
