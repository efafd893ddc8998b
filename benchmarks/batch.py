"""Questions per second of a benchmark run at concurrency 1, 8, 32 and 128 (issue 15).

    python benchmarks/batch.py                       # this checkout
    python benchmarks/batch.py --root /tmp/wt_batch  # another checkout (the commit before)
    python benchmarks/batch.py --old-io              # this checkout, batched=False paths

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
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

from llmcompiler.testing import OpenAIServer, WikipediaServer  # noqa: E402

TOKEN_DELAY = 0.01
WIKI_DELAY = 0.2


def _entities(n: int) -> tuple[str, str]:
    return f"Person {n} A", f"Person {n} B"


def _respond(body: dict) -> str:
    system = body["messages"][0]["content"]
    number = int(re.search(r"Question: Q(\d+)", body["messages"][-1]["content"]).group(1))
    first, second = _entities(number)
    if system.startswith("You plan how to answer"):
        return f'Thought: both at once.\n1. search("{first}")\n2. search("{second}")\n3. join()<END_OF_PLAN>'
    return "Thought: settled.\nAction: Finish(yes)"


async def _run(root: Path, concurrency: int, questions: int, old_io: bool, work: Path) -> float:
    pages = {}
    for n in range(questions):
        for name in _entities(n):
            pages[name] = f"{name} (born 1931) is a Canadian architect."
    dataset = work / f"q{concurrency}.json"
    records = [{"id": f"q{n}", "question": f"Q{n}: are both architects?", "answer": "yes"} for n in range(questions)]
    dataset.write_text(json.dumps(records))
    store = work / f"store{concurrency}.json"
    async with OpenAIServer(chunk_delay=TOKEN_DELAY) as llm, WikipediaServer(pages=pages, delay=WIKI_DELAY) as wiki:
        llm.script(None, *[_respond] * (4 * questions))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLMCOMPILER_"))}
        env["OPENAI_API_KEY"] = "test-key"
        env["LLMCOMPILER_CACHE_DIR"] = str(work / f"cache{concurrency}")  # no search answered from an earlier run
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
            "--stream", "--concurrency", str(concurrency),
        ]  # fmt: skip
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
    if len(stored) != questions or any(r.get("error") for r in stored.values()):
        raise SystemExit(f"concurrency {concurrency}: {len(stored)} of {questions} stored, or with errors")
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose run_llm_compiler.py runs")
    parser.add_argument("--old-io", action="store_true", help="run_benchmark(batched=False): the older store and pool")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--questions", type=int, default=0, help="questions per run (default: max(20, 4 x N))")
    args = parser.parse_args()
    print(f"root {args.root}, old io {args.old_io}, {TOKEN_DELAY * 1000:.0f} ms/token, {WIKI_DELAY} s/search request")
    print(f"{'concurrency':>11} {'questions':>9} {'seconds':>8} {'questions/s':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in args.concurrency:
            questions = args.questions or max(20, 4 * concurrency)
            seconds = await _run(args.root.resolve(), concurrency, questions, args.old_io, Path(tmp))
            print(f"{concurrency:>11} {questions:>9} {seconds:>8.1f} {questions / seconds:>11.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
