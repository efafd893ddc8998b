"""Ideal latencies, computed from exactly the inputs the simulation uses.

A simulated model is a `ModelTiming` (time to first token, word-sized tokens per second,
tokens per chunk). Its text is cut at the call's stop sequences and split with
`llmcompiler.llm.base.split_tokens`, as `ScriptedModel` does; chunk k, whose first token
is token i, arrives at `ttft + i / tokens_per_second` after the call started.

LLMCompiler, one round (DESIGN.md, "Performance budget"):

    emitted(t)  = arrival of the chunk holding the closing ")" of t's call (streaming),
                  or the end of the plan (not streaming)
    start(t)    = max(emitted(t), finish of every dependency)
    finish(t)   = start(t) + duration(t)
    join start  = max(end of the plan, every finish)
    total       = join start + the joiner's own time

ReAct: the sum of every step's model time and tool time, then the final step.
One-turn parallel function calling: per dependency level, one model turn and then the
slowest call of that level; then the final answer turn.

The plan's calls are found here with a scanner of our own (not the runtime's parser), so a
parser that emits a task late shows up as measured time above the ideal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from llmcompiler.llm.base import cut_at_stop, split_tokens

_CALL_HEAD = re.compile(r"[ \t]*(\d+)[ \t]*\.[ \t]*([A-Za-z_]\w*)[ \t]*\(")
_REF = re.compile(r"\$\{(\d+)\}|\$(\d+)")


@dataclass(frozen=True)
class ModelTiming:
    """How fast a simulated model streams; `tokens_per_second=None` means no delay between chunks."""

    ttft: float
    tokens_per_second: float | None
    chunk_tokens: int = 1

    def scaled(self, factor: float) -> ModelTiming:
        tps = None if self.tokens_per_second is None else self.tokens_per_second / factor
        return ModelTiming(self.ttft * factor, tps, self.chunk_tokens)

    def chunks(self, text: str, stop: Sequence[str] = ()) -> list[tuple[int, int, float]]:
        """(first char, end char, arrival after the call started) of every chunk."""
        text, _ = cut_at_stop(text, stop)
        tokens = split_tokens(text)
        out: list[tuple[int, int, float]] = []
        pos = 0
        for first in range(0, len(tokens), self.chunk_tokens):
            piece = "".join(tokens[first : first + self.chunk_tokens])
            arrival = self.ttft + (first / self.tokens_per_second if self.tokens_per_second else 0.0)
            out.append((pos, pos + len(piece), arrival))
            pos += len(piece)
        return out

    def duration(self, text: str, stop: Sequence[str] = ()) -> float:
        """From the call's start to its last chunk (`ttft` for an empty reply)."""
        chunks = self.chunks(text, stop)
        return chunks[-1][2] if chunks else self.ttft

    def output_tokens(self, text: str, stop: Sequence[str] = ()) -> int:
        return len(split_tokens(cut_at_stop(text, stop)[0]))


@dataclass(frozen=True)
class PlanCall:
    idx: int
    tool: str
    deps: tuple[int, ...]
    close: int  # offset of the call's closing ")" in the streamed text


def plan_calls(text: str) -> list[PlanCall]:
    """The numbered calls of a plan (no `join()`), each with where its call closes.

    A small scanner of its own: a line `N. name(` opens a call, string literals ('...'
    and "...", with backslash escapes) are skipped, and brackets are counted until the
    call's own parenthesis closes.
    """
    calls: list[PlanCall] = []
    offset = 0
    for line in text.split("\n"):
        head = _CALL_HEAD.match(line)
        if head is not None and head.group(2) != "join":
            close = _closing_paren(line, head.end() - 1)
            if close is not None:
                body = line[head.end() : close]
                deps = sorted({int(m.group(1) or m.group(2)) for m in _REF.finditer(body)})
                calls.append(PlanCall(int(head.group(1)), head.group(2), tuple(deps), offset + close))
        offset += len(line) + 1
    return calls


def _closing_paren(line: str, open_at: int) -> int | None:
    depth = 0
    quote: str | None = None
    i = open_at
    while i < len(line):
        c = line[i]
        if quote is not None:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i if c == ")" else None
        i += 1
    return None


def emission_times(text: str, timing: ModelTiming, stop: Sequence[str] = ()) -> dict[int, float]:
    """Task id -> when the chunk holding its call's closing ")" arrives (from the call's start)."""
    chunks = timing.chunks(text, stop)
    streamed, _ = cut_at_stop(text, stop)
    out: dict[int, float] = {}
    k = 0
    for call in sorted(plan_calls(streamed), key=lambda c: c.close):
        while k < len(chunks) and chunks[k][1] <= call.close:
            k += 1
        out[call.idx] = chunks[k][2]
    return out


@dataclass
class IdealTask:
    idx: int
    emitted: float
    ready: float  # inputs ready: max(emitted, every dependency finished)
    start: float
    finish: float


@dataclass
class Ideal:
    total: float
    plan_end: float
    join_start: float
    tasks: dict[int, IdealTask] = field(default_factory=dict)
    # timed waits one after the other on the critical path (a chunk's arrival, each tool's
    # sleep, the joiner's last chunk): each real wake-up can be a little late, and those
    # delays add up along this path
    critical_waits: int = 0

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "plan_end": self.plan_end,
            "join_start": self.join_start,
            "critical_waits": self.critical_waits,
            "tasks": {
                str(t.idx): {"emitted": t.emitted, "start": t.start, "finish": t.finish} for t in self.tasks.values()
            },
        }


def ideal_compiler(
    plan_text: str,
    joiner_text: str,
    durations: Mapping[int, float],
    timing: ModelTiming,
    *,
    stream: bool = True,
    plan_stop: Sequence[str] = (),
    join_stop: Sequence[str] = (),
    joiner_timing: ModelTiming | None = None,
) -> Ideal:
    """The ideal of one LLMCompiler round; `durations` are tool seconds by task id."""
    plan_end = timing.duration(plan_text, plan_stop)
    emitted = emission_times(plan_text, timing, plan_stop)
    streamed, _ = cut_at_stop(plan_text, plan_stop)
    tasks: dict[int, IdealTask] = {}
    for call in plan_calls(streamed):  # plan order: dependencies come first
        out = emitted[call.idx] if stream else plan_end
        ready = max([out, *(tasks[d].finish for d in call.deps if d in tasks)])
        tasks[call.idx] = IdealTask(call.idx, out, ready, ready, ready + durations[call.idx])
    join_start = max([plan_end, *(t.finish for t in tasks.values())])
    joiner = (joiner_timing or timing).duration(joiner_text, join_stop)
    return Ideal(
        join_start + joiner, plan_end, join_start, tasks, _critical_waits(tasks, plan_end, join_start, streamed)
    )


def _critical_waits(tasks: Mapping[int, IdealTask], plan_end: float, join_start: float, streamed: str) -> int:
    waits = 1  # the joiner's last chunk
    if not tasks or join_start <= plan_end:
        return waits + 1  # the plan's last chunk
    deps = {c.idx: c.deps for c in plan_calls(streamed)}
    current = max(tasks.values(), key=lambda t: t.finish)
    while True:
        waits += 1  # the tool's own wait
        inputs = [tasks[d] for d in deps.get(current.idx, ()) if d in tasks]
        latest = max(inputs, key=lambda t: t.finish, default=None)
        if latest is None or latest.finish <= current.emitted:
            return waits + 1  # it waited for its line: a chunk's arrival
        current = latest


def ideal_react(
    steps: Sequence[tuple[str, float]],
    final_text: str,
    timing: ModelTiming,
    *,
    stop: Sequence[str] = (),
) -> float:
    """ReAct: every step's model call then its tool call, one after the other, then the final step."""
    return sum(timing.duration(text, stop) + seconds for text, seconds in steps) + timing.duration(final_text, stop)


def ideal_parallel_calls(
    turns: Sequence[tuple[str, Sequence[float]]],
    final_text: str,
    timing: ModelTiming,
    *,
    stop: Sequence[str] = (),
) -> float:
    """One-turn parallel function calling: per level, a model turn then its slowest call; then the answer."""
    total = 0.0
    for text, seconds in turns:
        total += timing.duration(text, stop) + max(seconds, default=0.0)
    return total + timing.duration(final_text, stop)
