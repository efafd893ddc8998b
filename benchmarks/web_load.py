"""Load check of the web UI: N sessions ask the demo question at the same time, over HTTP.

    python benchmarks/web_load.py                 # 20 sessions, demo speed 1 (~4 s per run)
    python benchmarks/web_load.py --sessions 50 --speed 2

Starts `llmcompiler serve --demo` as a process of its own on a free port (a fresh SQLite
file and workspace folder in a temporary directory), then, with one aiohttp client: every
session is created, asks the demo question (`llmcompiler.demo.QUESTION`: four simulated
searches at once, then `math`, scripted planner and joiner streaming at a hosted model's
speed) and follows the run's server-sent events until `end`. Reported: how many runs
answered "1050 km", the time per run from the POST to `end` (p50 and max) next to one run
alone, and the server process's resident memory (VmRSS) before and after the load. The
server is stopped with SIGINT at the end (a clean stop: its exit status is checked too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from llmcompiler.demo import ANSWER, QUESTION  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _start_server(folder: Path, port: int, speed: float) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "llmcompiler.cli", "serve", "--demo", "--port", str(port)]
    command += ["--db", str(folder / "web.sqlite3"), "--speed", str(speed), "--code_backend", "subprocess"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    if not line.startswith(b"serving on "):
        process.kill()
        await process.wait()
        raise RuntimeError(f"the server did not start: {line!r}")
    return process


async def _one_run(client: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    started = time.perf_counter()
    async with client.post(f"{base}/api/sessions") as response:
        session = (await response.json())["id"]
    async with client.post(f"{base}/api/sessions/{session}/runs", json={"question": QUESTION}) as response:
        run = (await response.json())["id"]
    status, events = None, 0
    async with client.get(f"{base}/api/runs/{run}/events") as response:
        kind = "message"
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                if kind == "end":
                    status = json.loads(line[6:])["status"]
                elif kind == "message":
                    events += 1
            elif not line:
                kind = "message"
    seconds = time.perf_counter() - started
    async with client.get(f"{base}/api/runs/{run}") as response:
        answer = (await response.json())["answer"]
    return {"status": status, "answer": answer, "seconds": seconds, "events": events}


async def measure(sessions: int, speed: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="llmcompiler-web-load-") as folder:
        port = _free_port()
        server = await _start_server(Path(folder), port, speed)
        base = f"http://127.0.0.1:{port}"
        try:
            timeout = aiohttp.ClientTimeout(total=300)
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as client:
                alone = await _one_run(client, base)  # also warms the server up
                rss_before = _rss_mb(server.pid)
                wall = time.perf_counter()
                results = await asyncio.gather(*(_one_run(client, base) for _ in range(sessions)))
                wall = time.perf_counter() - wall
                rss_after = _rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(server.wait(), timeout=60)
    times = sorted(r["seconds"] for r in results)
    return {
        "sessions": sessions,
        "speed": speed,
        "answered": sum(r["status"] == "answered" and r["answer"] == ANSWER for r in results),
        "events_per_run": statistics.median(r["events"] for r in results),
        "alone_s": alone["seconds"],
        "p50_s": statistics.median(times),
        "max_s": times[-1],
        "wall_s": wall,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "server_exit": code,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }


def format_result(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{r['sessions']} sessions at once, demo speed {r['speed']:g} ({r['machine']})",
            f"answered: {r['answered']} of {r['sessions']} ({r['events_per_run']:.0f} events per run)",
            f"one run alone: {r['alone_s']:.2f} s",
            f"per run under load: p50 {r['p50_s']:.2f} s, max {r['max_s']:.2f} s (all done in {r['wall_s']:.2f} s)",
            f"server RSS: {r['rss_before_mb']:.1f} MB before, {r['rss_after_mb']:.1f} MB after",
            f"server exit status after SIGINT: {r['server_exit']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/web_load.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--speed", type=float, default=1.0, help="the demo's latencies divided by this")
    parser.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.sessions, args.speed))
    print(format_result(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["answered"] == args.sessions and result["server_exit"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
