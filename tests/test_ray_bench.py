"""Benchmark runs on a Ray cluster (`run_llm_compiler.py --ray`, llmcompiler/evaluation/cluster.py).

In-process tests use the session's local cluster (`ray_cluster`, 2 CPUs) and call `RayBench`
directly; CLI tests run the script as a subprocess, as a user runs it. Both go to the
loopback OpenAI server (a plan of two searches, then a joiner's answer, per question) and
the loopback MediaWiki server, served by this test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from llmcompiler.evaluation.bench import build_parser
from llmcompiler.evaluation.runner import Progress
from llmcompiler.evaluation.store import ResultStore
from llmcompiler.exceptions import BenchmarkAborted
from llmcompiler.testing import HTTPError, OpenAIServer, WikipediaServer

ROOT = Path(__file__).resolve().parent.parent
PLANNER = "You plan how to answer"
AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def _entities(n: int) -> tuple[str, str]:
    return f"Person {n} A", f"Person {n} B"


def _number(body: dict) -> int:
    return int(re.search(r"Question: Q(\d+)", body["messages"][-1]["content"]).group(1))


def respond(body: dict) -> str:
    first, second = _entities(_number(body))
    if body["messages"][0]["content"].startswith(PLANNER):
        return f'Thought: both at once.\n1. search("{first}")\n2. search("{second}")\n3. join()<END_OF_PLAN>'
    return "Thought: settled.\nAction: Finish(yes)"


def write_dataset(path: Path, questions: int) -> Path:
    records = [{"id": f"q{n}", "question": f"Q{n}: are both architects?", "answer": "yes"} for n in range(questions)]
    path.write_text(json.dumps(records))
    return path


def pages(questions: int) -> dict[str, str]:
    return {name: f"{name} (born 1931) is a Canadian architect." for n in range(questions) for name in _entities(n)}


def asked(llm: OpenAIServer) -> dict[str, list[int]]:
    """Per role, the question numbers the model server was asked, in arrival order."""
    roles: dict[str, list[int]] = {"planner": [], "joiner": []}
    for request in llm.requests:
        role = "planner" if request.json["messages"][0]["content"].startswith(PLANNER) else "joiner"
        roles[role].append(_number(request.json))
    return roles


def bench_args(llm, wiki, dataset, store, *extra: str) -> list[str]:
    return [
        "--benchmark_name", "hotpotqa", "--store", str(store), "--dataset", str(dataset),
        "--model_name", "scripted-gpt", "--base_url", llm.base_url, "--wikipedia_url", wiki.api_url,
        "--api_key", "test-key", "--stream", "--no_progress", *extra,
    ]  # fmt: skip


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_", "RAY_"))}
    env.update(extra)
    return env


def stored_once(store: Path, questions: int) -> dict:
    """The file holds every question once, without error, and the journal is compacted away."""
    results = json.loads(store.read_text())
    assert sorted(results) == sorted(f"q{n}" for n in range(questions))
    assert not [key for key, record in results.items() if record["error"]]
    journal = store.with_name(store.name + ".journal")
    assert not journal.exists() or not journal.read_text().strip()
    return results


async def run_bench(args: list[str], *, store: Path, workers: int | None = None, on_start=None):
    """`RayBench` in this process, on the session's cluster."""
    from llmcompiler.evaluation.cluster import RayBench
    from llmcompiler.evaluation.datasets import load_dataset

    parsed = build_parser().parse_args(args)
    bench = RayBench(parsed, None, workers=workers)
    examples = load_dataset(None, path=parsed.dataset)
    result_store = ResultStore(store)
    try:
        run = asyncio.ensure_future(
            bench.run(examples, result_store, method="llmcompiler", progress=Progress(0, enabled=False))
        )
        if on_start is not None:
            await on_start(bench, run)
        done = await run
    finally:
        result_store.close()
    return bench, done


async def test_thirty_questions_each_stored_once(ray_cluster, tmp_path):
    questions = 30
    dataset = write_dataset(tmp_path / "d.json", questions)
    store = tmp_path / "s.json"
    async with OpenAIServer() as llm, WikipediaServer(pages=pages(questions)) as wiki:
        llm.script(None, *[respond] * (2 * questions))
        args = bench_args(llm, wiki, dataset, store, "--concurrency", "8", "--ray_workers", "3")
        bench, done = await run_bench(args, store=store)
        roles = asked(llm)
    assert done.ran == questions and bench.size == 3 and bench.cpus_each == 2 / 3  # more workers than CPUs
    stored_once(store, questions)
    assert sorted(roles["planner"]) == list(range(questions)) == sorted(roles["joiner"])


async def test_a_killed_worker_loses_nothing(ray_cluster, tmp_path):
    questions = 24
    dataset = write_dataset(tmp_path / "d.json", questions)
    store = tmp_path / "s.json"
    async with OpenAIServer(chunk_delay=0.005) as llm, WikipediaServer(pages=pages(questions), delay=0.2) as wiki:
        llm.script(None, *[respond] * (4 * questions))

        async def kill_one(bench, run):
            while len(llm.requests) < 6:  # a few questions are in flight on both workers
                await asyncio.sleep(0.02)
            pid = await bench.workers[0].pid.remote()
            os.kill(pid, signal.SIGKILL)

        bench, done = await run_bench(
            bench_args(llm, wiki, dataset, store, "--concurrency", "8"), store=store, on_start=kill_one
        )
    assert bench.replaced == 1
    stored_once(store, questions)


async def test_a_fatal_error_stops_the_run(ray_cluster, tmp_path):
    questions = 20
    dataset = write_dataset(tmp_path / "d.json", questions)
    store = tmp_path / "s.json"
    async with OpenAIServer() as llm, WikipediaServer(pages=pages(questions)) as wiki:
        llm.script(None, *[HTTPError(401, "Incorrect API key provided")] * (2 * questions))
        with pytest.raises(BenchmarkAborted, match="API key"):
            await run_bench(bench_args(llm, wiki, dataset, store, "--concurrency", "2"), store=store)
    kept = json.loads(store.read_text())
    assert 1 <= len(kept) < questions and all(record["error"] for record in kept.values())


async def test_the_shared_limiter_keeps_under_rpm(ray_cluster, tmp_path):
    questions, rpm, window = 10, 6, 2.0
    dataset = write_dataset(tmp_path / "d.json", questions)
    store = tmp_path / "s.json"
    arrivals: list[float] = []

    def timed(body: dict) -> str:
        arrivals.append(time.monotonic())
        return respond(body)

    async with OpenAIServer() as llm, WikipediaServer(pages=pages(questions)) as wiki:
        llm.script(None, *[timed] * (2 * questions))
        extra = ("--concurrency", "10", "--rpm", str(rpm), "--rate_window", str(window))
        await run_bench(bench_args(llm, wiki, dataset, store, *extra), store=store)
    stored_once(store, questions)
    assert len(arrivals) == 2 * questions
    # the limiter counts grants; the server sees them a little later, never earlier: a small
    # slack on the window's edge keeps this a count, not a timing
    for i, start in enumerate(arrivals):
        inside = [t for t in arrivals[i:] if t < start + window * 0.9]
        assert len(inside) <= rpm, (i, len(inside))


async def run_script(*args: str, env: dict[str, str], timeout: float = 90) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "run_llm_compiler.py"), *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    return process.returncode, out.decode(), err.decode()


def ray_processes(temp_dir: str) -> list[str]:
    """Live processes of the cluster whose Ray directory is `temp_dir`: its raylet and GCS name
    it on their command line; its workers (retitled `ray::...`) inherit RAY_TMPDIR from them."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state == "Z":  # exited, not yet reaped by its parent
            continue
        if temp_dir in cmdline or f"RAY_TMPDIR={temp_dir}".encode() in environ:
            found.append(f"{proc.name} {cmdline.strip()[:120]}")
    return found


async def journalled(journal, process, records: int) -> None:
    """Wait (at most 60 s) until the running bench's journal holds `records` records."""
    deadline = time.monotonic() + 60
    while not (journal.exists() and journal.read_text().count("\n") >= records):
        assert time.monotonic() < deadline and process.returncode is None
        await asyncio.sleep(0.05)


async def test_driver_sigkill_then_resume(tmp_path):
    questions = 30
    dataset = write_dataset(tmp_path / "d.json", questions)
    store = tmp_path / "s.json"
    journal = store.with_name(store.name + ".journal")
    temp_dir = tempfile.mkdtemp(prefix="rb", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = environment(RAY_TMPDIR=temp_dir, LLMCOMPILER_CACHE_DIR=str(tmp_path / "cache"))
    async with OpenAIServer(chunk_delay=0.005) as llm, WikipediaServer(pages=pages(questions), delay=0.3) as wiki:
        llm.script(None, *[respond] * (4 * questions))
        args = bench_args(llm, wiki, dataset, store, "--ray", "--concurrency", "4")
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run_llm_compiler.py"), *args, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await journalled(journal, process, 5)
        process.kill()
        await process.wait()
        # the local cluster shares the driver's fate: its raylet, GCS and workers follow it
        # (a worker still running a question would ask the server after this count)
        # (Ray 2.60: its raylet's two agents outlive it by a minute or more; they ask nothing)
        killed = time.monotonic()
        while [line for line in ray_processes(temp_dir) if not line.endswith(AGENTS)]:
            assert time.monotonic() < killed + 30, ray_processes(temp_dir)
            await asyncio.sleep(0.1)
        first = asked(llm)
        kept = ResultStore(store)
        before = set(kept.records)
        kept.close()
        assert len(before) >= 5
        code, out, err = await run_script(*args, env=env)
        assert code == 0, err
        second = asked(llm)
    stored_once(store, questions)
    # the resume asked only the questions not stored when the driver died, each once
    again = second["planner"][len(first["planner"]) :]
    assert sorted(again) == sorted(n for n in range(questions) if f"q{n}" not in before)
    await asyncio.sleep(0.5)
    left = ray_processes(temp_dir)
    for line in left:  # the killed run's orphaned agents, if still there: ended here, by pid
        if line.endswith(AGENTS):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split()[0]), signal.SIGKILL)
    assert not [line for line in left if not line.endswith(AGENTS)]  # the resume's cluster: all gone


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_existing_cluster_by_address(tmp_path):
    questions = 6
    dataset = write_dataset(tmp_path / "d.json", questions)
    store = tmp_path / "s.json"
    temp_dir = tempfile.mkdtemp(prefix="rh", dir="/tmp")
    port = free_port()
    # the head's token (Ray 2.60 makes one per cluster) is not this test's business: no auth on loopback
    env = environment(RAY_TMPDIR=temp_dir, RAY_AUTH_MODE="disabled", LLMCOMPILER_CACHE_DIR=str(tmp_path / "cache"))
    ray_bin = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen(
        [ray_bin, "start", "--head", "--block", "--port", str(port), "--num-cpus", "1", "--include-dashboard", "false",
         "--temp-dir", temp_dir],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        async with OpenAIServer() as llm, WikipediaServer(pages=pages(questions)) as wiki:
            llm.script(None, *[respond] * (2 * questions))
            args = bench_args(llm, wiki, dataset, store, "--ray", f"127.0.0.1:{port}", "--concurrency", "3")
            code, out, err = await run_script(*args, env=env)
        assert code == 0, err
        stored_once(store, questions)
    finally:
        # SIGTERM ends `ray start` at once, but its GCS server can take a minute to follow:
        # the whole group (its own session) goes after a short grace
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=10)
    await asyncio.sleep(0.5)
    assert not ray_processes(temp_dir)


async def test_without_ray_one_line(tmp_path):
    dataset = write_dataset(tmp_path / "d.json", 2)
    code = (
        "import sys, runpy; sys.modules['ray'] = None; sys.argv = ['run_llm_compiler.py', *sys.argv[1:]]; "
        "runpy.run_path('run_llm_compiler.py', run_name='__main__')"
    )
    args = ["--benchmark_name", "hotpotqa", "--store", str(tmp_path / "s.json"), "--dataset", str(dataset), "--ray"]
    process = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=environment(OPENAI_API_KEY="k"),
        capture_output=True,
        text=True,
    )
    assert process.returncode == 2
    assert process.stderr.strip() == 'error: --ray needs Ray: pip install "llmcompiler[ray]"'


async def test_refusals_and_a_bad_address(tmp_path):
    dataset = write_dataset(tmp_path / "d.json", 2)
    base = ["--benchmark_name", "hotpotqa", "--store", str(tmp_path / "s.json"), "--dataset", str(dataset)]
    env = environment(OPENAI_API_KEY="k")
    code, _, err = await run_script(*base, "--ray", "--solution_demonstration", env=env)
    assert code == 2 and err.strip().splitlines() == [
        "error: --ray cannot be used with --solution_demonstration: the memory is one SQLite file on this machine"
    ]
    code, _, err = await run_script(*base, "--ray", f"127.0.0.1:{free_port()}", env=env)
    lines = err.strip().splitlines()
    assert code == 2 and lines[-1].startswith("error: --ray 127.0.0.1:") and "Traceback" not in err, err
    code, _, err = await run_script(*base, "--ray", "nonsense", env=env)
    assert code == 2 and err.strip().splitlines()[-1].startswith("error: --ray nonsense: give auto or HOST:PORT"), err


async def test_ctrl_c_keeps_what_finished_and_leaves_no_ray_process(tmp_path):
    questions = 30
    dataset = write_dataset(tmp_path / "d.json", questions)
    store = tmp_path / "s.json"
    journal = store.with_name(store.name + ".journal")
    temp_dir = tempfile.mkdtemp(prefix="rc", dir="/tmp")
    env = environment(RAY_TMPDIR=temp_dir, LLMCOMPILER_CACHE_DIR=str(tmp_path / "cache"))
    async with OpenAIServer(chunk_delay=0.005) as llm, WikipediaServer(pages=pages(questions), delay=0.3) as wiki:
        llm.script(None, *[respond] * (4 * questions))
        args = bench_args(llm, wiki, dataset, store, "--ray", "--concurrency", "4")
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run_llm_compiler.py"), *args, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await journalled(journal, process, 3)
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 130, err.decode()
    assert err.decode().strip().splitlines()[-1].startswith("interrupted; the questions that finished are in")
    kept = json.loads(store.read_text())  # the journal folded into the file by the store's close
    assert 3 <= len(kept) < questions and not [r for r in kept.values() if r["error"]]
    assert not journal.exists() or not journal.read_text().strip()
    await asyncio.sleep(0.5)
    assert not ray_processes(temp_dir)
