"""Gantt charts of runs (PNG through matplotlib, an optional extra: `pip install -e ".[plot]"`).

One row per planner/ReAct call, per task and per joiner call. A task's bar is pale from the
moment the planner wrote it until it started (waiting for its inputs or a concurrency slot)
and solid while it runs; its colour says how it ended. Rows share one time axis, so overlap between the planner's stream
and the tasks is visible at a glance. A legend under the axis names every colour the picture uses;
`xmax` puts several pictures on one time scale (the demo's two runs); a title longer than the
picture is wide ends with an ellipsis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
TITLE_CHARS = 130  # what fits across the picture at the title's size
LEGEND_COLUMNS = 5
LEGEND = {
    "planner": "planner streaming",
    "react": "ReAct model call",
    "joiner": "joiner",
    "tool model": "a tool's model call",
    "waiting": "task written, waiting to start",
    "running": "task running",
    "done": "task done",
    "failed": "task failed",
    "skipped": "task skipped",
}


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


def gantt_png(
    timeline: Timeline, path: str | os.PathLike[str], *, title: str | None = None, xmax: float | None = None
) -> Path:
    """Draw the timeline to a PNG file and return its path. `xmax`: the time axis runs to this many
    seconds (at least the run's duration), so that pictures of several runs compare by eye."""
    plt = _pyplot()
    drawn = rows(timeline)
    total = len(drawn)
    drawn = drawn[:MAX_ROWS]
    height = max(2.5, 0.32 * len(drawn) + 2.0)
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
    right = max(timeline.duration, xmax or 0.0, 1e-3) * 1.02
    ax.set_xlim(0, right)
    ax.grid(axis="x", alpha=0.3)
    heading = title or f"run timeline ({timeline.duration:.2f} s)"
    lines = [shorten(_printable(line), TITLE_CHARS) for line in heading.splitlines()]
    if total > len(drawn):
        lines.append(f"(the first {len(drawn)} of {total} rows; the HTML page has all of them)")
    ax.set_title("\n".join(lines).replace("$", r"\$"), fontsize=10)
    fig.tight_layout(rect=(0, _legend(fig, drawn, height), 1, 1))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # what the picture shows, readable without looking at it (PNG text chunks)
    metadata = {
        "Title": "\n".join(lines),
        "Time axis": f"0 to {right:.6f} s",
        "Legend": ", ".join(LEGEND[key] for key in _used(drawn)),
    }
    fig.savefig(target, metadata=metadata)
    plt.close(fig)
    return target


def _used(drawn: list[Span]) -> list[str]:
    """The colours a picture of these rows shows, in LEGEND's order (a wait too short to see is
    not worth a swatch)."""
    used = set()
    duration = max((s.end for s in drawn), default=0.0)
    for span in drawn:
        if span.lane == "task":
            used.add(span.status)
            if span.parsed is not None and span.start - span.parsed >= duration * MIN_WIDTH:
                used.add("waiting")
        else:
            used.add(span.lane)
    return [key for key in LEGEND if key in used]


def _legend(fig: Any, drawn: list[Span], height: float) -> float:
    """Swatches along the bottom of the figure, under the time axis (never over a bar); the
    share of the figure's height they take, which the axes leave free."""
    from matplotlib.patches import Patch

    keys = _used(drawn)
    if not keys:
        return 0.0
    handles = [Patch(facecolor=COLOURS[key], edgecolor="none", label=LEGEND[key]) for key in keys]
    columns = min(len(handles), LEGEND_COLUMNS)
    fig.legend(handles=handles, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    rows_of_swatches = -(-len(handles) // columns)
    return (0.22 * rows_of_swatches + 0.12) / height


def _short(span: Span) -> str:
    label = shorten(_printable(span.label), 42, one_line=False)
    return label.replace("$", r"\$")  # matplotlib reads $...$ as math


def _printable(text: str) -> str:
    """One line without control characters (fonts have no glyph for them)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
