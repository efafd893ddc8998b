"""Code interpreter benchmark: what a warm kernel pool saves, and how parallel cells scale per backend.

    python benchmarks/code.py               # ~1 minute on 2 cores
    python benchmarks/code.py --quick       # one repetition, N = 1 and 2
    python benchmarks/code.py --out benchmarks/results/code.json

Measured, on real ipykernels and real interpreter processes (nothing simulated):

- first-result latency: from `run("print(1)")` to its result, for a session whose kernel
  comes from a warm pool (started ahead, the usual case), for a cold kernel start (pool of
  0: the kernel starts inside the call) and for the subprocess backend (a fresh interpreter
  per cell); median of the repetitions;
- throughput of N cells run at once, each in its own session (N = 1, 2, 4): cells that sleep
  0.2 s (waiting: overlap is free) and cells that compute for about 0.2 s of one core (CPU:
  bounded by the cores). Jupyter sessions already hold their kernels (one warm-up cell each),
  so only execution is timed; the subprocess backend pays an interpreter start per cell.
  Reported: the wall time of the batch (median) and cells per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

from llmcompiler.code import InterpreterConfig, Workspace, make_executor  # noqa: E402
from llmcompiler.code.executor import CodeExecutor  # noqa: E402
from llmcompiler.code.kernel import JupyterExecutor  # noqa: E402

SLEEP_CELL = "import time\ntime.sleep(0.2)\nprint('slept')"
# about 0.2 s of one core here; the number is printed so the work cannot be skipped
COMPUTE_CELL = "total = 0\nfor i in range(2_000_000):\n    total += i * i\nprint(total)"


async def first_result(backend: str, *, pool_size: int, root: Path) -> float:
    """Seconds from run() to the result of a first cell, the pool (if any) warm beforehand."""
    config = InterpreterConfig(backend=backend, pool_size=pool_size, timeout=120)  # type: ignore[arg-type]
    executor = make_executor(config, Workspace(root))
    try:
        if isinstance(executor, JupyterExecutor) and pool_size:
            await executor.warm_up()
        started = time.perf_counter()
        result = await executor.run("print(1)", session="first")
        elapsed = time.perf_counter() - started
        assert result.ok, result.error
        return elapsed
    finally:
        await executor.aclose()


async def batch(executor: CodeExecutor, code: str, n: int) -> float:
    """Wall seconds for `n` cells run at once in `n` sessions."""
    started = time.perf_counter()
    results = await asyncio.gather(*(executor.run(code, session=f"s{i}") for i in range(n)))
    elapsed = time.perf_counter() - started
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return elapsed


async def throughput(backend: str, ns: list[int], repetitions: int, root: Path) -> list[dict[str, Any]]:
    config = InterpreterConfig(backend=backend, pool_size=2, timeout=120)  # type: ignore[arg-type]
    executor = make_executor(config, Workspace(root))
    rows = []
    try:
        if isinstance(executor, JupyterExecutor):
            await executor.warm_up()
            # every session holds its kernel before anything is timed
            await asyncio.gather(*(executor.run("pass", session=f"s{i}") for i in range(max(ns))))
        for label, code in (("sleep 0.2 s", SLEEP_CELL), ("compute", COMPUTE_CELL)):
            for n in ns:
                walls = [await batch(executor, code, n) for _ in range(repetitions)]
                wall = statistics.median(walls)
                rows.append({"backend": backend, "cell": label, "n": n, "wall_s": wall, "cells_per_s": n / wall})
    finally:
        await executor.aclose()
    return rows


async def main(args: argparse.Namespace) -> dict[str, Any]:
    ns = [1, 2] if args.quick else [1, 2, 4]
    repetitions = 1 if args.quick else args.repetitions
    report: dict[str, Any] = {
        "machine": f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "first_result": [],
        "throughput": [],
    }
    with tempfile.TemporaryDirectory(prefix="llmcompiler-code-bench-") as scratch:
        root = Path(scratch)
        for label, backend, pool in (
            ("jupyter, warm pool", "jupyter", 1),
            ("jupyter, cold start", "jupyter", 0),
            ("subprocess", "subprocess", 0),
        ):
            times = [
                await first_result(backend, pool_size=pool, root=root / f"first-{backend}-{pool}-{i}")
                for i in range(repetitions)
            ]
            report["first_result"].append({"setup": label, "median_s": statistics.median(times), "runs_s": times})
        for backend in ("jupyter", "subprocess"):
            report["throughput"].extend(await throughput(backend, ns, repetitions, root / f"tp-{backend}"))
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = ["| first result of `print(1)` | median | runs |", "|---|---:|---|"]
    for row in report["first_result"]:
        runs = ", ".join(f"{t * 1000:.0f}" for t in row["runs_s"])
        lines.append(f"| {row['setup']} | {row['median_s'] * 1000:.0f} ms | {runs} ms |")
    lines += ["", "| backend | cell | N at once | wall (median) | cells / s |", "|---|---|---:|---:|---:|"]
    for row in report["throughput"]:
        lines.append(
            f"| {row['backend']} | {row['cell']} | {row['n']} | {row['wall_s']:.2f} s | {row['cells_per_s']:.1f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, N = 1 and 2")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions per measurement (default 3)")
    parser.add_argument("--out", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    result = asyncio.run(main(arguments))
    print(f"{result['machine']}\n$ {result['command']}\n")
    print(markdown(result))
    if arguments.out:
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(json.dumps(result, indent=2) + "\n")
