"""The small workloads over loopback HTTP, through the real `openai` client (issue 16).

    python benchmarks/runtime_http.py                     # 3 repetitions, 40 tokens/s
    python benchmarks/runtime_http.py --repeats 5 --out benchmarks/results/runtime_http.json

`benchmarks/runtime.py` measures the runtime against its ideal with `ScriptedModel`, in
process. Here the planner and the joiner are `OpenAIModel`s (what `get_model("openai", ...)`
gives a user) streaming from the loopback OpenAI-compatible server, so the HTTP client, the
server-sent events and their parsing are inside the measured time. The server sends one
word-token per chunk, waiting `1 / tokens-per-second` before each, so the model's timing is
`ModelTiming(ttft=d, tokens_per_second=1/d)` and the ideal (`benchmarks/_ideal.py`) is
computed from exactly that: every task starts at max(its line arrived, its inputs ready),
the join when the plan and all tasks are done, plus the joiner's own time. Reported per
workload: median measured / ideal, the median overhead in ms, and the dispatch delay
(TaskReady -> TaskStarted) over every task of every run. Targets: measured / ideal <= 1.005,
dispatch p99 < 0.5 ms.

The HTTP stack costs time of its own that no runtime can avoid: the `openai` client building
and sending a request, the server (in this process, on this event loop) answering, the
client parsing the events. The "floor" is measured first with the bare client (a streamed
request of 20 tokens, its time minus 20 token delays; the median of 8 warm requests), and
the ideal over HTTP is the ideal plus one floor per model request (planner, joiner): what
the runtime itself adds is measured / (ideal + 2 x floor). One untimed run first warms the
imports and the client (the first request of a process pays for lazy imports, ~50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

from benchmarks import _workloads as wl  # noqa: E402
from benchmarks._ideal import ModelTiming, ideal_compiler  # noqa: E402
from benchmarks.runtime import JOIN_STOP, PLAN_STOP, make_tools  # noqa: E402
from llmcompiler import LLMCompiler  # noqa: E402
from llmcompiler._stats import percentile  # noqa: E402
from llmcompiler.llm import get_model  # noqa: E402
from llmcompiler.runtime.scheduler import TaskStatus  # noqa: E402
from llmcompiler.testing import OpenAIServer  # noqa: E402

TARGET_RATIO = 1.005
TARGET_DISPATCH_P99_MS = 0.5


async def one_run(w: wl.Workload, delay: float) -> tuple[float, list[float], str | None]:
    """One LLMCompiler run of `w` against a fresh loopback server: (seconds, dispatch delays, problem)."""
    async with OpenAIServer(chunk_delay=delay, api_key="test-key") as server:
        server.script("planner", w.plan_text)
        server.script("joiner", w.final_text)
        options = {"base_url": server.base_url, "api_key": "test-key", "stream": True}
        planner = get_model("openai", "planner", max_tokens=4096, **options)
        joiner = get_model("openai", "joiner", max_tokens=1024, **options)
        try:
            agent = LLMCompiler(tools=make_tools(w.table), planner=planner, joiner=joiner, max_replans=0)
            result = await agent.ainvoke(w.question)
        finally:
            for model in (planner, joiner):
                await model.aclose()  # type: ignore[attr-defined]
    problem = result.error
    if problem is None and result.answer != w.answer:
        problem = f"answer {result.answer!r}, expected {w.answer!r}"
    if problem is None and any(r.status is not TaskStatus.DONE for r in result.tasks):
        problem = "a task did not finish"
    ledger = result.ledger
    delays = ledger.dispatch_delays() if ledger is not None else []
    return result.duration, delays, problem


async def request_floor(delay: float, *, tokens: int = 20, warm: int = 2, samples: int = 8) -> float:
    """The bare `openai` client's time above `tokens` token delays, per streamed request."""
    import time

    import openai

    text = " ".join(f"w{i}" for i in range(tokens))
    async with OpenAIServer(chunk_delay=delay, api_key="test-key") as server:
        server.script("floor", *[text] * (warm + samples))
        extra = []
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as client:
            for i in range(warm + samples):
                began = time.perf_counter()
                stream = await client.chat.completions.create(
                    model="floor",
                    messages=[{"role": "user", "content": "go"}],
                    stream=True,
                    max_tokens=100,
                    stream_options={"include_usage": True},
                )
                async for _ in stream:
                    pass
                if i >= warm:
                    extra.append(time.perf_counter() - began - tokens * delay)
    return statistics.median(extra)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per workload (default 3)")
    parser.add_argument("--tokens-per-second", type=float, default=40.0, help="the server's tokens a second (40)")
    parser.add_argument("--workloads", default=",".join(wl.SMALL), help="comma-separated small workloads")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tool latencies (default 0)")
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    args = parser.parse_args()
    delay = 1.0 / args.tokens_per_second
    timing = ModelTiming(ttft=delay, tokens_per_second=args.tokens_per_second, chunk_tokens=1)
    names = [n for n in args.workloads.split(",") if n]
    report: dict[str, Any] = {
        "commit": _commit(),
        "tokens_per_second": args.tokens_per_second,
        "repeats": args.repeats,
        "load_average_start": os.getloadavg(),
        "workloads": {},
    }
    dispatch: list[float] = []
    floor = asyncio.run(request_floor(delay))
    report["floor_ms_per_request"] = floor * 1e3
    asyncio.run(one_run(wl.build(names[0], args.seed, timing), delay))  # warm-up, not counted
    print(f"commit {report['commit']}, {args.tokens_per_second:g} tokens/s over loopback HTTP, {args.repeats} runs")
    print(f"the bare openai client's floor: {floor * 1e3:.1f} ms a request")
    print(
        f"{'workload':<14} {'tasks':>5} {'ideal s':>8} {'median s':>9} {'measured/ideal':>14} "
        f"{'overhead ms':>11} {'/(ideal+2 floors)':>17} {'ours ms':>7}"
    )
    worst_own = 0.0
    worst = 0.0
    problems: list[str] = []
    for name in names:
        w = wl.build(name, args.seed, timing)
        ideal = ideal_compiler(
            w.plan_text, w.final_text, w.durations, timing, stream=True, plan_stop=PLAN_STOP, join_stop=JOIN_STOP
        ).total
        seconds = []
        for rep in range(args.repeats):
            gc.collect()
            took, delays, problem = asyncio.run(one_run(w, delay))
            if problem:
                problems.append(f"{name} run {rep + 1}: {problem}")
            seconds.append(took)
            dispatch += delays
        median = statistics.median(seconds)
        ratio = median / ideal
        own = median / (ideal + 2 * floor)
        worst, worst_own = max(worst, ratio), max(worst_own, own)
        report["workloads"][name] = {
            "tasks": len(w.calls),
            "ideal_s": ideal,
            "measured_s": seconds,
            "median_s": median,
            "ratio": ratio,
            "ratio_over_http_floor": own,
        }
        over, ours = (median - ideal) * 1e3, (median - ideal - 2 * floor) * 1e3
        print(
            f"{name:<14} {len(w.calls):>5} {ideal:>8.3f} {median:>9.3f} {ratio:>14.4f} {over:>11.1f} "
            f"{own:>17.4f} {ours:>7.1f}"
        )
    p50, p99 = percentile(dispatch, 50), percentile(dispatch, 99)
    report.update(
        worst_ratio=worst,
        worst_ratio_over_http_floor=worst_own,
        dispatch_ms={
            "n": len(dispatch),
            "p50": None if p50 is None else p50 * 1e3,
            "p99": None if p99 is None else p99 * 1e3,
            "max": max(dispatch) * 1e3 if dispatch else None,
        },
        load_average_end=os.getloadavg(),
        problems=problems,
    )
    d = report["dispatch_ms"]
    print(f"worst measured/ideal {worst:.4f}, over ideal + the HTTP floor {worst_own:.4f} (target <= {TARGET_RATIO})")
    print(f"dispatch over {d['n']} tasks: ", end="")
    print(f"p50 {d['p50']:.3f} ms, p99 {d['p99']:.3f} ms (target < {TARGET_DISPATCH_P99_MS}), max {d['max']:.3f} ms")
    print(f"load average {report['load_average_start'][0]:.2f} -> {report['load_average_end'][0]:.2f}")
    for problem in problems:
        print(f"problem: {problem}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
