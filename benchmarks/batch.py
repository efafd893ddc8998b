"""Questions per second of a benchmark run at concurrency 1, 8, 32 and 128 (issue 15).

    python benchmarks/batch.py                       # this checkout
    python benchmarks/batch.py --root /tmp/wt_batch  # another checkout (the commit before)
    python benchmarks/batch.py --old-io              # this checkout, batched=False paths
    python benchmarks/batch.py --ray                 # through `--ray` (a local Ray cluster)
    python benchmarks/batch.py --provider-limit 40 --window 5 --concurrency 128
                                                     # a simulated provider rate limit

With `--provider-limit R` the loopback OpenAI server behaves like a provider's rate limit: it
admits at most R requests in any `--window` seconds (a rolling window) and answers the rest
with 429 and a Retry-After of when the next slot frees. Each concurrency then runs twice:
without a limiter of ours (the client learns the limit from 429s, and retries), and with
`--rpm R --rate_window W` (our limiter knows it). The bound is what any client could do: 2
requests a question (plan, join), R admitted per window, so 2Q requests take at least
(ceil(2Q / R) - 1) windows; Q over that time is the most questions/s the limit allows. It is
compared with "limited q/s": questions over the seconds from the first model request to the
command's end (the command's start-up, before any request, is no part of what the limit binds).

`run_llm_compiler.py` of the checkout at `--root` runs as a subprocess, as a user runs it,
against the loopback OpenAI server (scripted plans of two searches and a joiner answer,
streamed at 10 ms a token) and the loopback MediaWiki server (0.2 s before every answer),
both in this process. Reported per concurrency: questions, seconds of the whole command
(start-up included, the same on both sides) and questions/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

from llmcompiler.testing import OpenAIServer, WikipediaServer  # noqa: E402
from llmcompiler.testing.openai_server import HTTPError  # noqa: E402

TOKEN_DELAY = 0.01
WIKI_DELAY = 0.2


class ProviderLimit:
    """The loopback server's simulated rate limit: R requests admitted in any `window` seconds."""

    def __init__(self, requests: int, window: float) -> None:
        self.requests = requests
        self.window = window
        self.admitted: deque[float] = deque()
        self.rejected = 0
        self.first: float | None = None  # when the first request arrived (perf_counter)

    def wrap(self, respond):
        def limited(body: dict):
            now = time.monotonic()
            if self.first is None:
                self.first = time.perf_counter()
            while self.admitted and self.admitted[0] <= now - self.window:
                self.admitted.popleft()
            if len(self.admitted) >= self.requests:
                self.rejected += 1
                wait = self.admitted[0] + self.window - now
                return HTTPError(429, "Rate limit reached for requests", retry_after=max(wait, 0.001))
            self.admitted.append(now)
            return respond(body)

        return limited


def _entities(n: int) -> tuple[str, str]:
    return f"Person {n} A", f"Person {n} B"


def _respond(body: dict) -> str:
    system = body["messages"][0]["content"]
    number = int(re.search(r"Question: Q(\d+)", body["messages"][-1]["content"]).group(1))
    first, second = _entities(number)
    if system.startswith("You plan how to answer"):
        return f'Thought: both at once.\n1. search("{first}")\n2. search("{second}")\n3. join()<END_OF_PLAN>'
    return "Thought: settled.\nAction: Finish(yes)"


@dataclass
class Measured:
    questions: int
    seconds: float
    errors: int
    rejected: int  # 429s the simulated provider limit sent
    span: float  # seconds from the first model request to the command's end (what the limit governs)


async def _run(
    root: Path,
    concurrency: int,
    questions: int,
    work: Path,
    *,
    old_io: bool = False,
    ray: bool = False,
    limit: ProviderLimit | None = None,
    rpm: bool = False,
) -> Measured:
    pages = {}
    for n in range(questions):
        for name in _entities(n):
            pages[name] = f"{name} (born 1931) is a Canadian architect."
    tag = f"{concurrency}-{'ray' if ray else 'local'}-{'rpm' if rpm else 'free'}-{time.monotonic_ns()}"
    dataset = work / f"q{tag}.json"
    records = [{"id": f"q{n}", "question": f"Q{n}: are both architects?", "answer": "yes"} for n in range(questions)]
    dataset.write_text(json.dumps(records))
    store = work / f"store{tag}.json"
    respond = _respond if limit is None else limit.wrap(_respond)
    replies = 4 * questions if limit is None else 40 * questions  # 429s use up replies too
    async with OpenAIServer(chunk_delay=TOKEN_DELAY) as llm, WikipediaServer(pages=pages, delay=WIKI_DELAY) as wiki:
        llm.script(None, *[respond] * replies)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLMCOMPILER_"))}
        env["OPENAI_API_KEY"] = "test-key"
        env["LLMCOMPILER_CACHE_DIR"] = str(work / f"cache{tag}")  # no search answered from an earlier run
        code = "import sys, runpy; sys.argv[0] = sys.argv[1]; del sys.argv[1]; "
        if old_io:  # the older store writes and pool, through run_benchmark's batched=False
            code += (
                "import functools, llmcompiler.evaluation.runner as r; "
                "r.run_benchmark = functools.partial(r.run_benchmark, batched=False); "
            )
        code += "runpy.run_path(sys.argv[0], run_name='__main__')"
        args = [
            "--benchmark_name", "hotpotqa", "--store", str(store), "--dataset", str(dataset),
            "--model_name", "scripted-gpt", "--base_url", llm.base_url, "--wikipedia_url", wiki.api_url,
            "--stream", "--concurrency", str(concurrency), "--no_progress",
        ]  # fmt: skip
        if ray:  # a local cluster of this machine's CPUs, a worker actor per CPU
            args += ["--ray", "--ray_workers", str(os.cpu_count() or 1)]
        if rpm and limit is not None:
            args += ["--rpm", str(limit.requests), "--rate_window", str(limit.window)]
        start = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, str(root / "run_llm_compiler.py"), *args,
            cwd=root, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
        seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"run_llm_compiler.py failed at concurrency {concurrency}:\n{err.decode()[-2000:]}")
    stored = json.loads(store.read_text())
    if len(stored) != questions:
        raise SystemExit(f"concurrency {concurrency}: {len(stored)} of {questions} stored")
    errors = sum(1 for r in stored.values() if r.get("error"))
    if errors and limit is None:
        raise SystemExit(f"concurrency {concurrency}: {errors} questions stored with an error")
    end = start + seconds
    if limit is None or limit.first is None:
        return Measured(questions, seconds, errors, 0, seconds)
    return Measured(questions, seconds, errors, limit.rejected, end - limit.first)


def bound(questions: int, limit: ProviderLimit) -> float:
    """The most questions/s the simulated limit allows: 2 requests a question, R per window."""
    windows = max(math.ceil(2 * questions / limit.requests) - 1, 0)
    return math.inf if windows == 0 else questions / (windows * limit.window)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose run_llm_compiler.py runs")
    parser.add_argument("--old-io", action="store_true", help="run_benchmark(batched=False): the older store and pool")
    parser.add_argument("--ray", action="store_true", help="run the questions through --ray (a local Ray cluster)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--questions", type=int, default=0, help="questions per run (default: max(20, 4 x N))")
    parser.add_argument("--provider-limit", type=int, default=0, metavar="R", help="simulate R requests per window")
    parser.add_argument("--window", type=float, default=5.0, help="the simulated limit's window in seconds")
    args = parser.parse_args()
    where = "through Ray (local cluster)" if args.ray else "one process"
    print(
        f"root {args.root}, old io {args.old_io}, {where}, {TOKEN_DELAY * 1000:.0f} ms/token, "
        f"{WIKI_DELAY} s/search request"
    )
    root = args.root.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.provider_limit:
            print(f"{'concurrency':>11} {'questions':>9} {'seconds':>8} {'questions/s':>11}")
            for concurrency in args.concurrency:
                questions = args.questions or max(20, 4 * concurrency)
                m = await _run(root, concurrency, questions, Path(tmp), old_io=args.old_io, ray=args.ray)
                print(f"{concurrency:>11} {questions:>9} {m.seconds:>8.1f} {questions / m.seconds:>11.1f}", flush=True)
            return
        print(f"simulated provider limit: {args.provider_limit} requests per {args.window:g} s (rolling window)")
        print(
            f"{'concurrency':>11} {'limiter':>16} {'questions':>9} {'seconds':>8} {'questions/s':>11} "
            f"{'limited q/s':>11} {'bound':>6} {'of bound':>8} {'429s':>5} {'errors':>6}"
        )
        for concurrency in args.concurrency:
            questions = args.questions or max(20, 4 * concurrency)
            for rpm in (False, True):
                limit = ProviderLimit(args.provider_limit, args.window)
                m = await _run(
                    root, concurrency, questions, Path(tmp), old_io=args.old_io, ray=args.ray, limit=limit, rpm=rpm
                )
                rate, limited, best = questions / m.seconds, questions / m.span, bound(questions, limit)
                label = f"--rpm {limit.requests}" if rpm else "none"
                print(
                    f"{concurrency:>11} {label:>16} {questions:>9} {m.seconds:>8.1f} {rate:>11.2f} "
                    f"{limited:>11.2f} {best:>6.2f} {limited / best:>8.0%} {m.rejected:>5} {m.errors:>6}",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
