"""Gantt charts of runs (PNG through matplotlib, an optional extra: `pip install -e ".[plot]"`).

One row per planner/ReAct call, per task and per joiner call. A task's bar is pale from the
moment the planner wrote it until it started (waiting for its inputs or a concurrency slot)
and solid while it runs; its colour says how it ended. Rows share one time axis, so overlap between the planner's stream
and the tasks is visible at a glance.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmcompiler._text import shorten
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.trace.timeline import Span, Timeline

COLOURS = {
    "planner": "#4C72B0",
    "react": "#4C72B0",
    "joiner": "#8172B2",
    "tool model": "#937860",
    "done": "#55A868",
    "failed": "#C44E52",
    "skipped": "#A9B4C2",  # a bluish grey: no anti-aliased black text or grid line has this colour
    "running": "#DD8452",
    "waiting": "#DDDDDD",
}
MIN_WIDTH = 0.005  # the shortest bar, as a share of the run's duration (about 4 px)
# A picture of thousands of rows is unreadable and costs gigabytes to draw (3,000 rows: a
# 1210 x 105,754 px PNG, 20 s, 0.7 GB); past this many rows only the first are drawn and
# the title says so. The HTML page always has every row.
MAX_ROWS = 300


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigurationError('timeline pictures need matplotlib: pip install -e ".[plot]"') from exc
    return plt


def rows(timeline: Timeline) -> list[Span]:
    """The spans in the order they are drawn, top to bottom."""
    models = [s for s in timeline.spans if s.lane in ("planner", "react")]
    tasks = sorted(timeline.tasks, key=lambda s: (s.round, s.idx or 0))
    tool_models = [s for s in timeline.spans if s.lane == "tool model"]
    joiners = [s for s in timeline.spans if s.lane == "joiner"]
    ordered: list[Span] = []
    rounds = sorted({s.round for s in models + tasks + joiners}) or [1]
    for round_ in rounds:
        ordered += [s for s in models if s.round == round_]
        ordered += [s for s in tasks if s.round == round_]
        ordered += [s for s in joiners if s.round == round_]
    return ordered + tool_models


def gantt_png(timeline: Timeline, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Draw the timeline to a PNG file and return its path."""
    plt = _pyplot()
    drawn = rows(timeline)
    total = len(drawn)
    drawn = drawn[:MAX_ROWS]
    height = max(2.5, 0.32 * len(drawn) + 1.4)
    fig, ax = plt.subplots(figsize=(11, height), dpi=110)
    for y, span in enumerate(drawn):
        if span.lane == "task":
            # a task that took no time (or never ran) is still a visible mark, never a hairline
            if span.parsed is not None and span.start > span.parsed:
                ax.barh(
                    y,
                    span.start - span.parsed,
                    left=span.parsed,
                    color=COLOURS["waiting"],
                    edgecolor="none",
                    height=0.6,
                )
            width = max(span.end - span.start, timeline.duration * MIN_WIDTH)
            ax.barh(y, width, left=span.start, color=COLOURS.get(span.status, "#999999"), edgecolor="none", height=0.6)
        else:
            ax.barh(
                y,
                max(span.duration, timeline.duration * MIN_WIDTH),
                left=span.start,
                color=COLOURS.get(span.lane, "#999999"),
                height=0.6,
            )
    ax.set_yticks(range(len(drawn)))
    ax.set_yticklabels([_short(s) for s in drawn], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the run started")
    ax.set_xlim(0, max(timeline.duration, 1e-3) * 1.02)
    ax.grid(axis="x", alpha=0.3)
    heading = title or f"run timeline ({timeline.duration:.2f} s)"
    if total > len(drawn):
        heading += f"\n(the first {len(drawn)} of {total} rows; the HTML page has all of them)"
    ax.set_title("\n".join(_printable(line) for line in heading.splitlines()).replace("$", r"\$"), fontsize=10)
    fig.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target)
    plt.close(fig)
    return target


def _short(span: Span) -> str:
    label = shorten(_printable(span.label), 42, one_line=False)
    return label.replace("$", r"\$")  # matplotlib reads $...$ as math


def _printable(text: str) -> str:
    """One line without control characters (fonts have no glyph for them)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
