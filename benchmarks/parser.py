"""Parser benchmark: the plan parser and the joiner's reply parser are linear in their input.

    python benchmarks/parser.py --quick     # 1 KB and 10 KB inputs, a few seconds
    python benchmarks/parser.py             # 1 KB, 100 KB and 1 MB inputs, about a minute on 2 cores

For each input kind and size it measures CPU microseconds per KB (1,000 characters) of
input: the plan parser fed the text in chunks of 1, 16 and 4,096 characters (pre-cut, so
only `feed()`/`close()` are timed), and `parse_decision` on whole joiner replies. Linear
means that the cost per KB does not grow with the input; the report gives, per row, the
worst growth of µs/KB per 10x of input between neighbouring sizes, and whether it stays
under LINEAR_GROWTH. Every run's result is checked too (the tasks or the decision expected),
and the exit status is 1 if one was wrong, else 0; a growth over the target is reported,
not failed.

It also measures CPU microseconds per task on whole plans as the runtime benchmark streams
them (256 word-tokens per chunk, `split_tokens`): the `plan` input above at 200 KB, and the
fan-out, chain and random-DAG plans of benchmarks/runtime.py at 10k and 100k calls; the
median of `--task-repeats` runs. `--baseline DIR` measures the same chunks again with the
plan parser of another checkout (a `git worktree` of an older commit, say), in a child
process, runs interleaved, and reports both: the before/after table.

Writes the Markdown report (`--markdown`, default docs/parser-benchmark.md for a full run,
benchmarks/results/parser.md for --quick) and prints it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

from benchmarks import _workloads as wl  # noqa: E402
from llmcompiler._argparse import ArgumentParser, count  # noqa: E402
from llmcompiler.agents.joiner import Decision, parse_decision  # noqa: E402
from llmcompiler.llm.base import split_tokens  # noqa: E402
from llmcompiler.plan.parser import MAX_LINE_CHARS, PlanParser  # noqa: E402
from llmcompiler.plan.task import Task  # noqa: E402

FULL_SIZES = (1_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
CHUNKS = (1, 16, 4096)
LINEAR_GROWTH = 1.5  # µs per KB may grow at most this much per 10x of input
MIN_SAMPLE_S = 0.02  # a small input is parsed again and again until a sample takes this long
TOOLS = ("search", "math", "calc")

# Text inside a string argument: brackets, `#` and `$` that must not count, and escapes
# that make the string scanner stop every few characters.
_PROSE = 'Lorem ipsum (dolor) [sit] {amet} #1 costs $ 2, a \\"quoted\\" word and a \\\\ backslash. '

Check = Callable[[list[Task]], "str | None"]


def _fill(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[: max(length, 0)]


def _call(size: int) -> tuple[str, Check]:
    head, tail = '1. search("', '")\n'
    text = _fill(_PROSE, size - len(head) - len(tail)).rstrip("\\")  # no escape cut in half

    def check(tasks: list[Task]) -> str | None:
        ok = len(tasks) == 1 and tasks[0].error is None and len(tasks[0].args[0]) > 0
        return None if ok else f"expected one valid search, got {[t.error for t in tasks]}"

    return head + text + tail, check


def _unterminated(size: int) -> tuple[str, Check]:
    text, _ = _call(size)
    text = text[: -len('")\n')]

    def check(tasks: list[Task]) -> str | None:
        ok = [t.error for t in tasks] == ["unterminated string in the arguments"]
        return None if ok else f"expected an unterminated string, got {[t.error for t in tasks]}"

    return text, check


def _plan(size: int) -> tuple[str, Check]:
    lines, length, i = [], 0, 1
    while length < size - 20:
        if i % 3 == 0:
            line = f'{i}. math("compare ${i - 2} with ${{{i - 1}}}", context=["${i - 2}", "${i - 1}"])'
        elif i % 7 == 0:
            line = f'Thought: step {i} needs the results so far\n{i}. search("entity {i}", k=[1, (2, 3)])'
        else:
            line = f'{i}. search("entity {i} (part {i % 5})")  # look it up'
        lines.append(line)
        length += len(line) + 1
        i += 1
    lines.append(f"{i}. join()<END_OF_PLAN>")
    expected = i

    def check(tasks: list[Task]) -> str | None:
        bad = [t.error for t in tasks if t.error]
        ok = len(tasks) == expected and not bad and tasks[-1].is_join
        return None if ok else f"expected {expected} valid tasks, got {len(tasks)} ({bad[:2]})"

    return "\n".join(lines), check


def _spaces(size: int) -> tuple[str, Check]:
    # a thought with a long inner run of spaces: a backtracking line pattern is quadratic here
    text = "Thought: a" + " " * (size - 24) + "b\n1. search('x')"

    def check(tasks: list[Task]) -> str | None:
        ok = len(tasks) == 1 and tasks[0].error is None and (tasks[0].thought or "").endswith(" b")
        return None if ok else "expected one search carrying the long thought"

    return text, check


def _brackets(size: int) -> tuple[str, Check]:
    text = "1. calc(" + "[" * (size - 9) + "\n"

    def check(tasks: list[Task]) -> str | None:
        ok = len(tasks) == 1 and (tasks[0].error or "").endswith("brackets nested more than 100 deep")
        return None if ok else f"expected a too-deep failure, got {[t.error for t in tasks]}"

    return text, check


PLAN_INPUTS: dict[str, tuple[str, Callable[[int], tuple[str, Check]]]] = {
    "call": ("one call line, a long string argument (closed at the end)", _call),
    "unterminated": ("one call line whose string never closes (the stream ends mid-line)", _unterminated),
    "plan": ("a plan of many ordinary lines (search/math calls with references, thoughts)", _plan),
    "spaces": ("a thought with one long run of spaces", _spaces),
    "brackets": ("a call that opens brackets for the whole line", _brackets),
}


def _finish(size: int) -> tuple[str, Decision]:
    answer = _fill('The answer (with parentheses) is 42, see "quotes". ', size - 60)
    text = "Thought: the results agree.\nAction: Finish(" + answer + ")"
    return text, Decision("finish", answer, "the results agree.")


def _blank_lines(size: int) -> tuple[str, Decision]:
    text = "Thought: a" + "\n" * (size - 30) + "b\nAction: Replan(more)"
    return text, Decision("replan", "more", "a" + "\n" * (size - 30) + "b")


def _many_actions(size: int) -> tuple[str, Decision]:
    unit = "Action: Finish(draft)\n   \n"
    text = _fill(unit, size - 30) + "\nAction: Finish(last)"
    return text, Decision("finish", "last", "")


REPLY_INPUTS: dict[str, tuple[str, Callable[[int], tuple[str, Decision]]]] = {
    "finish": ("Thought, then a Finish with a long answer", _finish),
    "blank-lines": ("a thought broken by one long run of blank lines", _blank_lines),
    "many-actions": ("hundreds of Action: lines, the last one counts", _many_actions),
}


# -- measuring -------------------------------------------------------------------------------


def _cpu_seconds(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Best CPU time of one `run()` over `repeats` samples (each sample repeats `run` until it
    takes MIN_SAMPLE_S, so that small inputs are not lost in the clock's noise)."""
    result = run()
    start = time.process_time()
    run()
    once = max(time.process_time() - start, 1e-9)
    inner = max(1, math.ceil(MIN_SAMPLE_S / once))
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(inner):
            run()
        best = min(best, (time.process_time() - start) / inner)
    return best, result


def _feed_all(chunks: list[str]) -> list[Task]:
    parser = PlanParser(TOOLS)
    out: list[Task] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    out += parser.close()
    return out


def measure(sizes: Sequence[int], chunks: Sequence[int], repeats: int, log: Callable[[str], None]) -> dict:
    plan_rows, reply_rows, errors = [], [], []
    for name, (_, build) in PLAN_INPUTS.items():
        for chunk in chunks:
            per_kb = []
            for size in sizes:
                text, check = build(size)
                pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)]
                seconds, tasks = _cpu_seconds(lambda pieces=pieces: _feed_all(pieces), repeats)
                problem = check(tasks)  # type: ignore[arg-type]
                if problem:
                    errors.append(f"plan {name}, {size:,} chars in chunks of {chunk}: {problem}")
                per_kb.append(seconds * 1e6 / (len(text) / 1000))
                log(f"plan {name:<12} chunk {chunk:>5}  {size:>9,} chars  {per_kb[-1]:9.2f} µs/KB")
            plan_rows.append({"input": name, "chunk": chunk, "us_per_kb": per_kb, "growth": growth(sizes, per_kb)})
    for name, (_, build_reply) in REPLY_INPUTS.items():
        per_kb = []
        for size in sizes:
            text, expected = build_reply(size)
            seconds, decision = _cpu_seconds(lambda text=text: parse_decision(text), repeats)
            if decision != expected:
                errors.append(f"reply {name}, {size:,} chars: got {decision!r:.200}")
            per_kb.append(seconds * 1e6 / (len(text) / 1000))
            log(f"reply {name:<12}             {size:>9,} chars  {per_kb[-1]:9.2f} µs/KB")
        reply_rows.append({"input": name, "us_per_kb": per_kb, "growth": growth(sizes, per_kb)})
    return {"plan": plan_rows, "replies": reply_rows, "errors": errors}


def growth(sizes: Sequence[int], per_kb: Sequence[float]) -> float:
    """The worst factor by which µs/KB grows per 10x of input, between neighbouring sizes."""
    worst = 0.0
    for (a, ra), (b, rb) in zip(zip(sizes, per_kb, strict=True), zip(sizes[1:], per_kb[1:], strict=True), strict=False):
        worst = max(worst, (rb / ra) ** (1 / math.log10(b / a)))
    return worst


# -- per task, as the runtime benchmark streams plans -----------------------------------------

TASK_CHUNK_TOKENS = 256  # what benchmarks/runtime.py's DAG runs stream
TASK_SIZES = (10_000, 100_000)
TASK_TOOLS = (*TOOLS, "op")


def task_plans(sizes: Sequence[int] = TASK_SIZES, seed: int = 0) -> dict[str, list[str]]:
    """name -> the plan's chunks: the `plan` input and the runtime benchmark's shapes."""
    texts = {"plan (200 KB)": _plan(200_000)[0]}
    for shape in wl.SHAPES:
        for n in sizes:
            texts[f"{shape} {n // 1000}k"] = wl.shape_plan(wl.shape_deps(shape, n, seed))
    out = {}
    for name, text in texts.items():
        tokens = split_tokens(text)
        out[name] = ["".join(tokens[i : i + TASK_CHUNK_TOKENS]) for i in range(0, len(tokens), TASK_CHUNK_TOKENS)]
    return out


def _task_run(parser_class: type, chunks: list[str]) -> tuple[float, int, int]:
    """One parse of `chunks`: CPU µs per task, tasks, failed tasks."""
    parser = parser_class(TASK_TOOLS)
    out: list[Task] = []
    start = time.process_time()
    for chunk in chunks:
        out += parser.feed(chunk)
    out += parser.close()
    seconds = time.process_time() - start
    return seconds * 1e6 / max(len(out), 1), len(out), sum(t.error is not None for t in out)


# run in a child process with another checkout first on sys.path: its parser, these chunks
_BASELINE_CHILD = """
import json, pickle, sys, time
sys.path.insert(0, sys.argv[1])
from llmcompiler.plan.parser import PlanParser
plans = pickle.load(open(sys.argv[2], "rb"))
out = {}
for name, chunks in plans.items():
    parser, tasks = PlanParser(pickle.loads(bytes.fromhex(sys.argv[3]))), []
    start = time.process_time()
    for chunk in chunks:
        tasks += parser.feed(chunk)
    tasks += parser.close()
    seconds = time.process_time() - start
    out[name] = [seconds * 1e6 / max(len(tasks), 1), len(tasks), sum(t.error is not None for t in tasks)]
print(json.dumps(out))
"""


def measure_tasks(
    plans: dict[str, list[str]], repeats: int, baseline: Path | None, log: Callable[[str], None]
) -> dict:
    """Median µs per task for each plan (and for the baseline's parser), runs interleaved."""
    runs: dict[str, list[float]] = {name: [] for name in plans}
    base_runs: dict[str, list[float]] = {name: [] for name in plans}
    counts: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plans.pickle"
        path.write_bytes(pickle.dumps(plans))
        for r in range(repeats):
            if baseline is not None:
                child = subprocess.run(
                    [sys.executable, "-c", _BASELINE_CHILD, str(baseline), str(path), pickle.dumps(TASK_TOOLS).hex()],
                    capture_output=True, text=True, check=True, cwd=tmp,
                )
                for name, (us, _n, _failed) in json.loads(child.stdout).items():
                    base_runs[name].append(us)
            for name, chunks in plans.items():
                us, n, failed = _task_run(PlanParser, chunks)
                runs[name].append(us)
                counts[name] = (n, failed)
            log(f"per task, run {r + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in runs.items()))
    rows = []
    for name in plans:
        row = {"plan": name, "tasks": counts[name][0], "failed": counts[name][1],
               "us_per_task": statistics.median(runs[name]), "runs": runs[name]}
        if baseline is not None:
            row["baseline_us_per_task"] = statistics.median(base_runs[name])
            row["baseline_runs"] = base_runs[name]
        rows.append(row)
    return {
        "rows": rows,
        "repeats": repeats,
        "baseline": None if baseline is None else f"{baseline} ({_commit(baseline)})",
        "commit": _commit(ROOT),
    }


def _commit(path: Path) -> str:
    """The checkout's commit, `+` if its tracked files differ from it: what a measurement ran on."""
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}{' +changes' if dirty else ''}"


def tasks_markdown(result: dict) -> list[str]:
    base = result["baseline"] is not None
    out = [
        "## Per task, as the runtime benchmark streams plans",
        "",
        f"CPU µs per task of `PlanParser.feed`/`close` on whole plans in chunks of {TASK_CHUNK_TOKENS} word-tokens, "
        f"the median of {result['repeats']} runs, on {result['commit']}"
        + (f"; *before*: the parser of `{result['baseline']}` on the same chunks, runs interleaved." if base else "."),
        "",
        "| plan | tasks | " + ("before | after | speed-up |" if base else "µs/task |"),
        "|---|---:|" + ("---:|---:|---:|" if base else "---:|"),
    ]
    for row in result["rows"]:
        cells = f"| {row['plan']} | {row['tasks']:,} | "
        if base:
            before, after = row["baseline_us_per_task"], row["us_per_task"]
            cells += f"{before:.2f} µs | {after:.2f} µs | {before / after:.1f}x |"
        else:
            cells += f"{row['us_per_task']:.2f} µs |"
        out.append(cells)
    return out


# -- report ----------------------------------------------------------------------------------


def _size_label(size: int) -> str:
    return f"{size // 1_000_000} MB" if size >= 1_000_000 else f"{size // 1000} KB"


def markdown(results: dict, sizes: Sequence[int], *, command: str, tasks: dict | None = None) -> str:
    columns = " | ".join(_size_label(s) for s in sizes)
    rule = "|".join(["---"] * (len(sizes) + 2))
    out = [
        "# Parser benchmark",
        "",
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} by `{command}` on {machine()}.",
        "",
        "CPU µs per KB (1,000 characters) of input, the best of the repetitions; *growth* is the worst factor "
        "by which µs/KB grows per 10x of input between neighbouring sizes (1 = linear; below 1, fixed costs "
        f"spread over more input). Target: growth < {LINEAR_GROWTH}. A plan line may hold up to "
        f"{MAX_LINE_CHARS:,} characters (`MAX_LINE_CHARS`) before it becomes a failed task.",
        "",
        "## Plan parser (`PlanParser.feed` in chunks, then `close`)",
        "",
        f"| input | chunk | {columns} | growth | linear |",
        f"|---|---:|{rule.replace('---', '---:')}|",
    ]
    for row in results["plan"]:
        values = " | ".join(f"{v:,.1f}" for v in row["us_per_kb"])
        out.append(
            f"| {row['input']} | {row['chunk']:,} | {values} | {row['growth']:.2f} | "
            f"{'yes' if row['growth'] < LINEAR_GROWTH else '**no**'} |"
        )
    out += [
        "",
        "## Joiner reply (`parse_decision` on the whole reply)",
        "",
        f"| reply | {columns} | growth | linear |",
        f"|---|{'|'.join(['---:'] * (len(sizes) + 2))}|",
    ]
    for row in results["replies"]:
        values = " | ".join(f"{v:,.2f}" for v in row["us_per_kb"])
        out.append(
            f"| {row['input']} | {values} | {row['growth']:.2f} | "
            f"{'yes' if row['growth'] < LINEAR_GROWTH else '**no**'} |"
        )
    if tasks is not None:
        out += ["", *tasks_markdown(tasks)]
    out += ["", "Inputs:", ""]
    out += [f"- plan `{name}`: {about}" for name, (about, _) in PLAN_INPUTS.items()]
    out += [f"- reply `{name}`: {about}" for name, (about, _) in REPLY_INPUTS.items()]
    if results["errors"]:
        out += ["", "## Wrong results", "", *(f"- {e}" for e in results["errors"])]
    return "\n".join(out) + "\n"


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, {cpus} usable CPUs"


def build_parser(prog: str = "parser.py") -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Plan parser and joiner reply parser: CPU µs per KB by input size "
        "and chunk size, and whether it stays linear.",
    )
    parser.add_argument("--quick", action="store_true", help="1 KB and 10 KB inputs, one repetition (a few seconds)")
    parser.add_argument("--repeats", type=count, help="samples per measurement, the best is kept (default 3, quick 1)")
    parser.add_argument(
        "--markdown",
        type=Path,
        help="the report (default: docs/parser-benchmark.md for a full run, benchmarks/results/parser.md for --quick)",
    )
    parser.add_argument(
        "--task-repeats", type=count, help="runs of the per-task measurement, the median is kept (default 5, quick 1)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. a git worktree of an older commit) whose plan parser is measured per task too",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "parser.py") -> int:
    args = build_parser(prog).parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    repeats = args.repeats or (1 if args.quick else 3)
    path = args.markdown or (
        ROOT / "benchmarks" / "results" / "parser.md" if args.quick else ROOT / "docs" / "parser-benchmark.md"
    )
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.baseline is not None and not (args.baseline / "llmcompiler" / "plan" / "parser.py").is_file():
        parser_error = f"--baseline {args.baseline}: no llmcompiler/plan/parser.py there"
        print(f"parser.py: error: {parser_error}", file=sys.stderr)
        return 2
    results = measure(sizes, CHUNKS, repeats, log)
    task_repeats = args.task_repeats or (1 if args.quick else 5)
    plans = task_plans((1_000,) if args.quick else TASK_SIZES)
    tasks = measure_tasks(plans, task_repeats, args.baseline, log)
    for row in tasks["rows"]:
        if row["failed"]:
            results["errors"].append(f"per task, {row['plan']}: {row['failed']} failed tasks")
    command = " ".join(["python benchmarks/parser.py", *(argv if argv is not None else sys.argv[1:])])
    report = markdown(results, sizes, command=command, tasks=tasks)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report, encoding="utf-8")
    print(report, end="")
    for error in results["errors"]:
        print(f"error: {error}", file=sys.stderr)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
