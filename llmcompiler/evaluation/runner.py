"""Running an agent over a dataset: bounded concurrency, resumable atomic store, progress.

Each finished question is written to the store at once (atomically), in the original
LLMCompiler's record shape — `question`, `label`, `answer`, `time` — plus `stats` (tokens per
role, cost, rounds, tasks), `error`, `method` and the dataset's `level`/`branch`. A question
already in the store is skipped on a re-run, unless its record carries an error (then it
is tried again). `time` is the run's own duration, from its first to its last event.

`producer(...)` is the identity a benchmark run gives its store (`ResultStore.expect`), so a
store is never resumed by a different method, suite, dataset, model, endpoint, prompt set
or streaming mode. The dataset is identified by a fingerprint of its questions (ids,
questions, answers), so a renamed copy of the same file matches and an edited one does not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TextIO

from llmcompiler._compat import TaskGroup
from llmcompiler.agents.base import Agent, RunResult
from llmcompiler.agents.cascade import Cascade, CascadeResult
from llmcompiler.evaluation.scoring import compare_answer
from llmcompiler.evaluation.store import ResultStore
from llmcompiler.exceptions import BenchmarkAborted, JudgeError, LLMCompilerError, ModelHTTPError, SolutionMemoryError
from llmcompiler.llm.base import NO_USAGE, Usage
from llmcompiler.runtime.ledger import fold
from llmcompiler.tools.wikipedia import sized_for

__all__ = [
    "BenchmarkAborted",
    "BenchmarkRun",
    "Progress",
    "dataset_fingerprint",
    "error_record",
    "finished",
    "phase_times",
    "producer",
    "record_for",
    "run_benchmark",
]


def _fatal(result: RunResult | CascadeResult) -> tuple[str, LLMCompilerError] | None:
    """Would every other question fail alike (bad key, no access, unknown model, a human judge
    with nobody at the terminal, a memory that cannot be read or written)? Then stop instead
    of burning through the dataset (the question itself is stored first, as it ended)."""
    if isinstance(result, CascadeResult):
        for stop in (result.exception, result.memory_error):
            if isinstance(stop, (JudgeError, SolutionMemoryError)):
                return str(stop), stop
        runs = [level.result for level in result.levels]
    else:
        runs = [result]
    for run in runs:
        if isinstance(run.exception, ModelHTTPError) and run.exception.fatal:
            return run.error or str(run.exception), run.exception
        if isinstance(run.exception, SolutionMemoryError):  # its recall failed: so would every other
            return str(run.exception), run.exception
    return None


def dataset_fingerprint(examples: Sequence[Mapping[str, Any]]) -> str:
    """`sha256:` and 16 hex digits over every example's id, question and answer, in order."""
    digest = hashlib.sha256()
    for example in examples:
        item = [str(example["id"]), example["question"], example["answer"]]
        digest.update(json.dumps(item, sort_keys=True, ensure_ascii=False, default=str).encode())
        digest.update(b"\n")
    return f"sha256:{digest.hexdigest()[:16]}"


def producer(
    *,
    method: str,
    suite: str,
    examples: Sequence[Mapping[str, Any]],
    model: str,
    endpoint: str = "chat",
    prompts: str = "gpt",
    stream: bool = True,
) -> dict[str, Any]:
    """What a benchmark run's records come from; give the whole dataset, not a `--N` slice."""
    return {
        "method": method,
        "suite": suite,
        "dataset": dataset_fingerprint(examples),
        "model": model,
        "endpoint": endpoint,
        "prompts": prompts,
        "stream": stream,
    }


def _usage_stats(results: Sequence[RunResult]) -> dict[str, Any]:
    """Tokens per role and in total, summed over `results` (one run, or a cascade's levels)."""
    stats: dict[str, Any] = {}
    roles: dict[str, Usage] = {}
    total = NO_USAGE
    for result in results:
        for role, usage in result.usage.items():
            roles[role] = roles.get(role, NO_USAGE) + usage
        total = total + result.total_usage
    for role, usage in roles.items():
        stats[role] = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens, "calls": usage.calls}
    stats["_total"] = total
    return stats


def _run_cost(result: RunResult) -> float | None:
    costs = result.cost()
    return None if not costs or any(c is None for c in costs.values()) else sum(c for c in costs.values() if c)


def record_for(
    example: Mapping[str, Any], result: RunResult | CascadeResult, *, method: str, timings: bool = False
) -> dict[str, Any]:
    """The stored record of one question.

    A cascade's record has the same keys, its tokens, cost, rounds and tasks summed over the
    levels (the judge's tokens under the role "judge"), and also `levels`: per level the model,
    its verdict, tokens, cost and seconds, with `solved_by` the model that solved it (or None).
    """
    runs = [level.result for level in result.levels] if isinstance(result, CascadeResult) else [result]
    last = runs[-1]
    stats = _usage_stats(runs)
    total: Usage = stats.pop("_total")
    dollars: float | None
    if isinstance(result, CascadeResult):
        judged = NO_USAGE
        for level in result.levels:
            if level.judgement is not None and level.judgement.usage.calls:
                judged = judged + level.judgement.usage
        if judged.calls:
            stats["judge"] = {"input_tokens": judged.input_tokens, "output_tokens": judged.output_tokens}
            stats["judge"]["calls"] = judged.calls
            total = total + judged
        dollars = result.cost()
    else:
        dollars = _run_cost(result)
    stats["total"] = {"input_tokens": total.input_tokens, "output_tokens": total.output_tokens, "calls": total.calls}
    stats["cost"] = dollars
    stats["estimated"] = total.estimated
    stats["rounds"] = sum(run.rounds for run in runs)
    stats["tasks"] = sum(len(run.tasks) for run in runs)
    stats["failed_tasks"] = sum(1 for run in runs for t in run.tasks if t.status.value != "done")
    if timings:
        stats["timeline"] = phase_times(last)
    record = _record(
        example, answer=result.answer, seconds=result.duration, stats=stats, error=result.error, method=method
    )
    if isinstance(result, CascadeResult):
        record["levels"] = [
            {
                "model": level.name,
                "verdict": level.verdict,
                "input_tokens": level.usage.input_tokens,
                "output_tokens": level.usage.output_tokens,
                "cost": level.cost(),
                "seconds": level.seconds,
                "error": level.result.error,
            }
            for level in result.levels
        ]
        record["solved_by"] = None if result.solved_by is None else result.levels[result.solved_by].name
    return record


def _record(
    example: Mapping[str, Any], *, answer: Any, seconds: float, stats: dict[str, Any], error: str | None, method: str
) -> dict[str, Any]:
    """The keys every stored record has, the dataset's `level` / `branch` included."""
    record: dict[str, Any] = {
        "question": example["question"],
        "label": example["answer"],
        "answer": answer,
        "time": seconds,
        "stats": stats,
        "error": error,
        "method": method,
    }
    for key in ("level", "branch"):
        if key in example:
            record[key] = example[key]
    return record


def error_record(example: Mapping[str, Any], error: str, *, method: str) -> dict[str, Any]:
    """The record of a question that ended without a run to describe (its worker died)."""
    return _record(example, answer=None, seconds=0.0, stats={}, error=error, method=method)


def phase_times(result: RunResult) -> dict[str, float]:
    """Seconds from the run's start to each phase boundary (`--do_benchmark`)."""
    ledger = result.ledger if result.ledger is not None else fold(result.events)
    start = result.events[0].t
    marks: dict[str, float] = {}
    starts = [r.started_at for r in ledger.parsed if r.started_at is not None]
    if starts:
        marks["first_task_started"] = min(starts) - start
    joined = {d.round: d.t for d in ledger.decisions}
    for round in sorted({*ledger.plan_done, *ledger.join_started, *joined}):
        if round in ledger.plan_done:
            marks[f"round_{round}_plan_done"] = ledger.plan_done[round] - start
        if round in ledger.join_started:
            marks[f"round_{round}_join_started"] = ledger.join_started[round] - start
        if round in joined:
            marks[f"round_{round}_join_done"] = joined[round] - start
    return marks


class Progress:
    """One line of running totals: done/total, errors, questions/s, tokens/s, accuracy, latency.

    Rates are over the wall time since the progress was made (just before the first question
    starts), so they are what the run as a whole achieves, rate limits and retries included.
    On a terminal the line is redrawn in place; elsewhere (a log file, CI) it is printed about
    20 times over the run. `clock` is injectable, for tests."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0
        self.correct = 0
        self.errors = 0
        self.seconds = 0.0
        self.tokens = 0
        self._clock = clock
        self._started = clock()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._every = max(1, total // 20)

    def update(self, record: Mapping[str, Any]) -> None:
        self.done += 1
        self.correct += bool(compare_answer(record.get("answer"), record.get("label")))
        self.errors += bool(record.get("error"))
        self.seconds += float(record.get("time") or 0.0)
        total = (record.get("stats") or {}).get("total") or {}
        self.tokens += int(total.get("input_tokens", 0)) + int(total.get("output_tokens", 0))
        if not self.enabled:
            return
        if self._tty:
            self.stream.write("\r" + self.line())
            if self.done == self.total:
                self.stream.write("\n")
        elif self.done % self._every == 0 or self.done == self.total:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    @property
    def elapsed(self) -> float:
        return max(self._clock() - self._started, 0.0)

    def line(self) -> str:
        width = len(str(self.total))
        filled = int(20 * self.done / self.total) if self.total else 20
        bar = "#" * filled + "-" * (20 - filled)
        accuracy = self.correct / self.done if self.done else 0.0
        mean = self.seconds / self.done if self.done else 0.0
        elapsed = self.elapsed
        rate = self.done / elapsed if elapsed > 0 else 0.0
        tokens = self.tokens / elapsed if elapsed > 0 else 0.0
        return (
            f"[{bar}] {self.done:>{width}}/{self.total} | errors {self.errors} | {rate:.1f} q/s | "
            f"{tokens:,.0f} tokens/s | accuracy {accuracy:.3f} | mean latency {mean:.2f}s"
        )


@dataclass
class BenchmarkRun:
    ran: int
    skipped: int


async def run_benchmark(
    agent: Agent | Cascade,
    examples: Sequence[Mapping[str, Any]],
    store: ResultStore,
    *,
    method: str,
    concurrency: int = 1,
    sleep_per_iter: float = 0.0,
    progress: Progress | None = None,
    timings: bool = False,
    on_result: Callable[[Mapping[str, Any], Any, dict[str, Any]], None] | None = None,
    batched: bool = True,
) -> BenchmarkRun:
    """Answer every example not yet in `store`, at most `concurrency` at a time.

    With `batched` (the default) each record is journaled and the store's file rewritten in
    batches (`ResultStore.batched`), and Wikipedia sessions made during the run get a pool
    for `concurrency` questions (`sized_for`); `batched=False` is the older behaviour (a
    whole-file rewrite per question, 16 connections), kept for benchmarks/batch.py."""
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    todo = [e for e in examples if not finished(store, str(e["id"]))]
    slots = asyncio.Semaphore(concurrency)
    writing = asyncio.Lock()
    fatal: list[tuple[str, LLMCompilerError]] = []

    async def answer(example: Mapping[str, Any]) -> None:
        async with slots:
            if fatal:
                return
            result = await agent.ainvoke(str(example["question"]))
            record = record_for(example, result, method=method, timings=timings)
            if batched:  # a journal line: the store's own lock orders the writers
                await asyncio.to_thread(store.add, str(example["id"]), record)
            else:
                async with writing:  # the store rewrites a whole JSON file: off the event loop
                    await asyncio.to_thread(store.add, str(example["id"]), record)
            if progress is not None:
                progress.update(record)
            if on_result is not None:
                on_result(example, result, record)
            stop = _fatal(result)
            if stop is not None:
                fatal.append(stop)
            if sleep_per_iter > 0:
                await asyncio.sleep(sleep_per_iter)  # asked for by the user, to respect rate limits

    with ExitStack() as io:
        if batched:
            io.enter_context(sized_for(concurrency))
            io.enter_context(store.batched(every=max(16, concurrency)))
        async with TaskGroup() as group:
            for example in todo:
                group.create_task(answer(example))
    if fatal:
        message, cause = fatal[0]
        raise BenchmarkAborted(message or "a fatal model error", cause=cause)
    return BenchmarkRun(ran=len(todo), skipped=len(examples) - len(todo))


def finished(store: ResultStore, key: str) -> bool:
    record = store.get(key)
    return record is not None and not record.get("error")
