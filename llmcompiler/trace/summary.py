"""A run in numbers, read from its ledger (`runtime.ledger`): where the time went and what it cost.

    summary = summarize_events(result.events)           # or load_trace("run.json")
    print(summary.format())
    print(mermaid_from_events(result.events))           # the plan DAG, coloured by outcome

Phases are measured on the timeline, as unions of intervals: `planner` is the time a planner
(or ReAct) model call was streaming, `tools` the time at least one task was running (not the
sum of task durations), `joiner` the time a joiner call was running, and `overlap` the tool
time that fell inside the planner's streaming — what streaming the plan buys. `other` is the
rest of the run (none of the three busy). The overlap is in both `planner` and `tools`, so the
report shows it as a line to take away: planner + tools - overlap + joiner + other is the
wall time, and the shares add up to 100 %, not more.

Cost is `llmcompiler.llm.pricing.cost` per model call, summed per role; a role with any call
to a model without a price has cost None (unknown), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from llmcompiler._text import one_line_text
from llmcompiler.llm.pricing import Price, cost
from llmcompiler.plan.graph import to_mermaid
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import fold
from llmcompiler.trace.timeline import Span, Timeline, critical_tasks

__all__ = ["RoleStats", "RunSummary", "mermaid_from_events", "summarize_events"]

STATUS_ORDER = ("done", "failed", "skipped", "running", "waiting")
PHASES = ("planner", "tools", "joiner", "overlap", "other")
PHASE_NAMES = {
    "planner": "planner streaming",
    "tools": "tools busy",
    "joiner": "joiner",
    "overlap": "overlap (tools during planner streaming)",
    "other": "other (none of these busy)",
}


@dataclass
class RoleStats:
    """The model calls of one role (planner, joiner, react, tool)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0  # summed call durations
    cost: float | None = 0.0  # dollars; None when any call's model has no price
    models: tuple[str, ...] = ()
    estimated: bool = False  # some call's tokens were counted by us: the server reported none


@dataclass
class RunSummary:
    question: str
    answer: str
    error: str | None
    duration: float  # seconds, first event to last
    rounds: int  # planner calls (LLMCompiler rounds, ReAct steps)
    tasks: dict[str, int]  # status -> count; statuses in STATUS_ORDER, absent ones left out
    critical_path: list[int]  # task ids, first to last; the last one finished last
    critical_labels: list[str]  # the same tasks as the planner wrote them
    critical_end: float  # when the chain's last task finished (seconds from the start)
    phases: dict[str, float]  # PHASES -> seconds
    roles: dict[str, RoleStats] = field(default_factory=dict)
    cancelled: bool = False

    @property
    def n_tasks(self) -> int:
        return sum(self.tasks.values())

    @property
    def input_tokens(self) -> int:
        return sum(r.input_tokens for r in self.roles.values())

    @property
    def output_tokens(self) -> int:
        return sum(r.output_tokens for r in self.roles.values())

    @property
    def estimated(self) -> bool:
        """Whether any token count here is our estimate rather than the server's."""
        return any(r.estimated for r in self.roles.values())

    @property
    def cost(self) -> float | None:
        """Dollars for the whole run; None when any role's cost is unknown."""
        total = 0.0
        for stats in self.roles.values():
            if stats.cost is None:
                return None
            total += stats.cost
        return total

    @classmethod
    def from_timeline(
        cls,
        timeline: Timeline,
        model_calls: Sequence[ev.ModelCall] = (),
        *,
        prices: Mapping[str, Price] | None = None,
        rounds: int | None = None,
        cancelled: bool = False,
    ) -> RunSummary:
        """Summarize a timeline. Without `model_calls`, tokens come from the timeline's
        usage and every cost is unknown (the timeline does not keep model names)."""
        by_idx = {s.idx: s for s in timeline.tasks if s.idx is not None}
        chain = critical_tasks(timeline)
        counts: dict[str, int] = {}
        for span in timeline.tasks:
            counts[span.status] = counts.get(span.status, 0) + 1
        tasks = {s: counts[s] for s in STATUS_ORDER if s in counts}
        tasks.update({s: n for s, n in sorted(counts.items()) if s not in tasks})
        if rounds is None:
            rounds = len({s.round for s in timeline.spans if s.lane in ("planner", "react")})
        return cls(
            question=timeline.question,
            answer=timeline.answer,
            error=timeline.error,
            duration=timeline.duration,
            rounds=rounds,
            tasks=tasks,
            critical_path=chain,
            critical_labels=[by_idx[i].label for i in chain],
            critical_end=by_idx[chain[-1]].end if chain else 0.0,
            phases=phases(timeline),
            roles=_roles(model_calls, prices) if model_calls else _roles_from_usage(timeline),
            cancelled=cancelled,
        )

    def format(self) -> str:
        """A compact plain-text report."""
        pad = " " * 16

        def head(name: str) -> str:
            return f"{name:<16}"

        lines = [head("question") + one_line_text(self.question)]
        if self.error:
            lines.append(head("error") + one_line_text(self.error))
        if self.answer or not self.error:
            lines.append(head("answer") + one_line_text(self.answer))
        if self.cancelled:
            lines.append(pad + "(cancelled)")
        counts = ", ".join(f"{n} {status}" for status, n in self.tasks.items())
        rounds = f"{self.rounds} round" + ("s" if self.rounds != 1 else "")
        tasks = f"{self.n_tasks} task" + ("s" if self.n_tasks != 1 else "")
        lines.append(head("time") + f"{self.duration:.3f} s, {rounds}, {tasks}" + (f" ({counts})" if counts else ""))
        if self.critical_path:
            chain = " -> ".join(f"${i}" for i in self.critical_path)
            lines.append(head("critical path") + f"{chain}, the last one finished at {self.critical_end:.3f} s")
            lines += [pad + "  " + one_line_text(label) for label in self.critical_labels]
        lines += self._phase_lines(head("time per phase"), pad)
        if self.roles:
            lines.append(
                head("model calls") + f"{'role':<8} {'calls':>5} {'input':>8} {'output':>8} {'seconds':>8}  cost"
            )
            for role, stats in self.roles.items():
                lines.append(
                    pad + f"{role:<8} {stats.calls:>5} {_tokens(stats.input_tokens, stats.estimated):>8}"
                    f" {_tokens(stats.output_tokens, stats.estimated):>8}"
                    f" {stats.seconds:>8.3f}  {format_cost(stats.cost)}"
                )
            lines.append(
                pad + f"{'total':<8} {sum(r.calls for r in self.roles.values()):>5} "
                f"{_tokens(self.input_tokens, self.estimated):>8}"
                f" {_tokens(self.output_tokens, self.estimated):>8} {'':>8}  {format_cost(self.cost)}"
            )
            if self.estimated:
                lines.append(pad + "~ estimated: the server reported no usage, so the tokens were counted here")
        return "\n".join(lines)

    def phase_rows(self) -> list[tuple[str, str, float]]:
        """(key, name, seconds): planner, tools, minus their overlap, joiner, other, then the
        wall time — a column that sums to the wall time (the text report and the HTML page)."""
        rows = []
        for key in PHASE_ORDER:
            seconds = self.phases.get(key, 0.0)
            rows.append((key, PHASE_NAMES[key], -seconds if key == "overlap" and seconds else seconds))
        rows.append(("wall", "wall time", self.duration))
        return rows

    def _phase_lines(self, first: str, pad: str) -> list[str]:
        rows = [(name, seconds) for _, name, seconds in self.phase_rows()]
        width = max(len(name) for name, _ in rows)
        lines = []
        for i, (name, seconds) in enumerate(rows):
            share = f"{100 * seconds / self.duration:6.1f} %" if self.duration > 0 else ""
            lines.append((first if i == 0 else pad) + f"{name:<{width}}  {seconds:8.3f} s {share}".rstrip())
        return lines


# the order the report lists the phases in: the overlap right under the two it is part of
PHASE_ORDER = ("planner", "tools", "overlap", "joiner", "other")


def summarize_events(events: Sequence[ev.Event], *, prices: Mapping[str, Price] | None = None) -> RunSummary:
    """The summary of one run's events (`RunResult.events` or `load_trace(...)`)."""
    timeline = Timeline.from_events(events)  # (which checks the times)
    ledger = fold(events)
    return RunSummary.from_timeline(
        timeline, ledger.model_calls, prices=prices, rounds=ledger.planner_started, cancelled=ledger.cancelled
    )


def mermaid_from_events(events: Iterable[ev.Event]) -> str:
    """The plan DAG of a run (all rounds, `join()` included) as Mermaid text, each task
    coloured by how it ended."""
    ledger = fold(events)
    # join() has no record of its own: it stays uncoloured
    statuses = {idx: record.status.value for idx, record in ledger.tasks.items()}
    return to_mermaid(ledger.plan, statuses=statuses)


def phases(timeline: Timeline) -> dict[str, float]:
    """Seconds per phase (see the module docstring), from unions of spans."""
    planner = _union(s for s in timeline.spans if s.lane in ("planner", "react"))
    tools = _union(s for s in timeline.tasks)
    joiner = _union(s for s in timeline.spans if s.lane == "joiner")
    busy = _measure(_merge(planner + tools + joiner))
    return {
        "planner": _measure(planner),
        "tools": _measure(tools),
        "joiner": _measure(joiner),
        "overlap": _measure(_intersect(planner, tools)),
        "other": max(0.0, timeline.duration - busy),
    }


def _tokens(count: int, estimated: bool) -> str:
    return f"~{count}" if estimated else str(count)


def format_cost(dollars: float | None) -> str:
    if dollars is None:
        return "unknown (no price)"
    return f"${dollars:.4f}" if dollars >= 0.01 or dollars == 0 else f"${dollars:.6f}"


# -- helpers ------------------------------------------------------------------------------


def _roles(calls: Sequence[ev.ModelCall], prices: Mapping[str, Price] | None) -> dict[str, RoleStats]:
    roles: dict[str, RoleStats] = {}
    for call in calls:
        stats = roles.setdefault(call.role, RoleStats())
        stats.calls += 1
        stats.input_tokens += call.usage.input_tokens
        stats.output_tokens += call.usage.output_tokens
        stats.estimated = stats.estimated or call.usage.estimated
        stats.seconds += max(0.0, call.t - call.started)
        dollars = cost(call.usage, call.model, prices)
        stats.cost = None if stats.cost is None or dollars is None else stats.cost + dollars
        if call.model not in stats.models:
            stats.models += (call.model,)
    return roles


def _roles_from_usage(timeline: Timeline) -> dict[str, RoleStats]:
    return {
        role: RoleStats(
            calls=int(u.get("calls", 0)),
            input_tokens=int(u.get("input_tokens", 0)),
            output_tokens=int(u.get("output_tokens", 0)),
            seconds=float(u.get("seconds", 0.0)),
            cost=None,
            estimated=bool(u.get("estimated", False)),
        )
        for role, u in timeline.usage.items()
    }


Intervals = list[tuple[float, float]]


def _merge(intervals: Iterable[tuple[float, float]]) -> Intervals:
    merged: Intervals = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _union(spans: Iterable[Span]) -> Intervals:
    return _merge((s.start, s.end) for s in spans)


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    """The intersection of two merged, sorted interval lists."""
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _measure(intervals: Intervals) -> float:
    return sum(end - start for start, end in intervals)
