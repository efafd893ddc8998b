"""A run's events as a timeline: one span per planner call, task and joiner call.

    timeline = Timeline.from_events(result.events)
    for span in timeline.spans:
        print(span.lane, span.label, span.start, span.end)

Times are seconds from the run's start. A task span runs from its start to its finish and
also carries when it was parsed and when it became ready, so waiting is visible too.

The spans are read from the run's ledger (`runtime.ledger`), which folds the events; a
timeline keeps no state of its own. Any event list is accepted, however malformed (a saved
trace may be edited, truncated or written by a buggy planner): events out of order, task
events for ids never parsed (ignored), ids reused across rounds (events go to the latest
record of the id, except a rejected duplicate's own failure), dependencies on missing
ids, on the task itself or in a cycle. The run's start and end are the earliest and latest
event times; only a time that is not a finite number is refused (``ValueError``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import Ledger, fold


@dataclass
class Span:
    lane: str  # "planner", "joiner", "react", "task"
    label: str
    start: float
    end: float
    round: int = 1
    idx: int | None = None
    status: str = "done"
    deps: tuple[int, ...] = ()
    parsed: float | None = None
    ready: float | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Timeline:
    spans: list[Span]
    duration: float
    answer: str = ""
    error: str | None = None
    question: str = ""
    usage: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def tasks(self) -> list[Span]:
        return [s for s in self.spans if s.lane == "task"]

    @classmethod
    def from_events(cls, events: Sequence[ev.Event]) -> Timeline:
        """The spans of the run's ledger (`runtime.ledger.fold`), from the run's start."""
        if not events:
            return cls([], 0.0)
        times = [event.t for event in events]
        bad = next((i for i, t in enumerate(times) if not _finite(t)), None)
        if bad is not None:
            raise ValueError(
                f"event {bad} ({type(events[bad]).__name__}) has the time {times[bad]!r}, not a finite number"
            )
        return cls.from_ledger(fold(events), origin=min(times), end=max(times))

    @classmethod
    def from_ledger(cls, ledger: Ledger, *, origin: float, end: float) -> Timeline:
        spans: list[Span] = []
        usage: dict[str, dict[str, float]] = {}
        for call in ledger.model_calls:
            role = call.role
            stats = usage.setdefault(role, {"calls": 0, "input_tokens": 0, "output_tokens": 0, "seconds": 0.0})
            stats["calls"] += 1
            stats["input_tokens"] += call.usage.input_tokens
            stats["output_tokens"] += call.usage.output_tokens
            stats["seconds"] += call.t - call.started
            label = {"planner": "plan", "joiner": "join", "react": "think"}.get(role, f"{role} model")
            spans.append(
                Span(
                    lane=role if role in ("planner", "joiner", "react") else "tool model",
                    label=f"{label} {call.round}" if role != "tool" else f"{call.model}",
                    start=call.started - origin,
                    end=call.t - origin,
                    round=call.round,
                    status="failed" if call.error else "done",
                )
            )
        for record in ledger.parsed:
            task = record.task
            parsed = record.parsed_at - origin
            # a task that never started (failed at parse time, skipped) is drawn at its end
            start = record.started_at if record.started_at is not None else record.finished_at
            finish = record.finished_at if record.finished_at is not None else start
            spans.append(
                Span(
                    lane="task",
                    label=task.text or f"{task.idx}. {task.call_text()}",
                    start=parsed if start is None else start - origin,
                    end=parsed if finish is None else finish - origin,
                    round=record.round,
                    idx=task.idx,
                    status=record.status.value,
                    deps=tuple(task.deps),
                    parsed=parsed,
                    ready=None if record.ready_at is None else record.ready_at - origin,
                )
            )
        return cls(
            spans=spans,
            duration=end - origin,
            answer=ledger.answer,
            error=ledger.error,
            question=ledger.question,
            usage=usage,
        )


def critical_tasks(timeline: Timeline) -> list[int]:
    """The chain of tasks that ended last, following each one's latest-finishing dependency.

    Each task appears once: a dependency on the task itself or on one already in the chain
    (a cycle, or an id a replan reused) ends the chain there instead of going round forever.
    """
    by_idx = {s.idx: s for s in timeline.tasks if s.idx is not None}
    if not by_idx:
        return []
    current = max(by_idx.values(), key=lambda s: s.end)
    chain = [current.idx]
    seen = {current.idx}
    while True:
        deps = [by_idx[d] for d in current.deps if d in by_idx and d not in seen]
        if not deps:
            break
        current = max(deps, key=lambda s: s.end)
        chain.append(current.idx)
        seen.add(current.idx)
    return [i for i in reversed(chain) if i is not None]


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
