"""A run's timeline as one self-contained HTML page (`llmcompiler trace FILE`).

    timeline = Timeline.from_events(events)
    write_html(timeline, "run.html", summary=summarize_events(events), mermaid=mermaid_from_events(events))

The page needs nothing else: the CSS is inline, the Gantt chart is an inline SVG drawn here
(so it shows with JavaScript off, and in any browser opened from disk), and the only script
highlights a task's bar and table row together on hover. There are no external references
at all. Rows follow `gantt.rows` (planner call, its tasks, joiner call, per round); a task's
bar is pale from when the planner wrote it until it started, then coloured by how it ended.
Hovering a bar shows its times (an SVG `<title>`). Below the chart a table lists every task
(times, not results: the page stays small), and the plan DAG as Mermaid text.

Every task's bar and table row carry `data-task="N"`.
"""

from __future__ import annotations

import math
import os
from html import escape
from pathlib import Path
from typing import Any

from llmcompiler._files import write_text_atomic
from llmcompiler._text import shorten
from llmcompiler.trace.gantt import COLOURS, rows
from llmcompiler.trace.summary import RunSummary, format_cost
from llmcompiler.trace.timeline import Span, Timeline

__all__ = ["timeline_html", "write_html"]

# chart geometry, in CSS pixels (the SVG is drawn at this size; it scrolls rather than shrinks)
WIDTH = 1100
LABEL_WIDTH = 340  # the label column; bars start right of it
PLOT_LEFT = LABEL_WIDTH + 10
PLOT_RIGHT = WIDTH - 24
TOP = 8
ROW_HEIGHT = 22
BAR_HEIGHT = 14
AXIS_HEIGHT = 44
LABEL_CHARS = 50
MIN_BAR = 4  # px: a task that took no time (or was skipped) still shows
STATUS_TINTS = {
    "done": "#e7f4ea",
    "failed": "#fbe7e8",
    "skipped": "#eef0f3",
    "running": "#fdf0e5",
    "waiting": "#f3f3f3",
}


def timeline_html(
    timeline: Timeline,
    *,
    title: str | None = None,
    mermaid: str | None = None,
    summary: RunSummary | None = None,
) -> str:
    """The whole page as a string. Without `summary`, one is made from the timeline alone
    (costs then show as unknown: pass `summarize_events(events)` for them)."""
    if summary is None:
        summary = RunSummary.from_timeline(timeline)
    heading = title or (_first_line(timeline.question) if timeline.question else "llmcompiler run")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="llmcompiler trace">',
        f"<title>{escape(heading)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(heading)}</h1>",
        _run_section(timeline, summary),
        _summary_section(summary),
        '<section id="timeline">',
        f"<h2>Timeline <small>{timeline.duration:.3f} s</small></h2>",
        _legend(timeline),
        '<div class="chart">',
        _svg(timeline),
        "</div>",
        "</section>",
        _task_table(timeline),
        _model_table(timeline),
    ]
    if mermaid:
        parts += [
            '<section id="dag">',
            "<h2>Plan DAG <small>Mermaid</small></h2>",
            '<p class="note">The plan as a Mermaid flowchart; paste it into any Mermaid viewer.</p>',
            f'<pre class="mermaid-source">{escape(mermaid.rstrip())}</pre>',
            "</section>",
        ]
    parts += [f"<script>{_JS}</script>", "</body>", "</html>", ""]
    return "\n".join(parts)


def write_html(timeline: Timeline, path: str | os.PathLike[str], **kw: Any) -> Path:
    """Write `timeline_html(timeline, **kw)` atomically (temp file + rename); the path."""
    return write_text_atomic(path, timeline_html(timeline, **kw))


# -- sections -----------------------------------------------------------------------------


def _run_section(timeline: Timeline, summary: RunSummary) -> str:
    out = ['<section id="run"><dl class="run">']
    out.append(f'<dt>Question</dt><dd class="question">{escape(summary.question or timeline.question)}</dd>')
    if summary.error:
        out.append(f'<dt>Error</dt><dd class="error">{escape(summary.error)}</dd>')
    if summary.answer or not summary.error:
        out.append(f'<dt>Answer</dt><dd class="answer">{escape(summary.answer)}</dd>')
    if summary.cancelled:
        out.append('<dt>Note</dt><dd class="error">the run was cancelled</dd>')
    out.append("</dl></section>")
    return "".join(out)


def _summary_section(s: RunSummary) -> str:
    counts = ", ".join(f"{n} {escape(status)}" for status, n in s.tasks.items()) or "none"
    rounds = _plural(s.rounds, "round")
    out = ['<section id="summary"><h2>Summary</h2>']
    out.append(
        '<p class="facts">'
        f"<span><b>{s.duration:.3f} s</b> end to end</span>"
        f"<span><b>{rounds}</b></span>"
        f"<span><b>{s.n_tasks}</b> {'task' if s.n_tasks == 1 else 'tasks'} ({counts})</span>"
        f"<span>cost <b>{escape(format_cost(s.cost))}</b></span>"
        "</p>"
    )
    out.append('<div class="cols">')
    # time per phase
    out.append('<table class="phases"><caption>Time per phase</caption><tbody>')
    for key, name, seconds in s.phase_rows():  # the overlap negative: the column sums to the wall time
        share = f"{100 * seconds / s.duration:.1f} %" if s.duration > 0 else ""
        out.append(
            f'<tr data-phase="{key}"><th>{escape(name)}</th><td>{seconds:.3f} s</td><td>{share}</td></tr>'
        )
    out.append("</tbody></table>")
    # tokens and cost
    if s.roles:
        out.append('<table class="roles"><caption>Model calls</caption><thead><tr>')
        out.append(
            "<th>role</th><th>calls</th><th>input</th><th>output</th><th>seconds</th><th>cost</th><th>models</th></tr></thead><tbody>"
        )
        for role, r in s.roles.items():
            out.append(
                f'<tr data-role="{escape(role)}"><th>{escape(role)}</th><td>{r.calls}</td><td>{r.input_tokens}</td>'
                f"<td>{r.output_tokens}</td><td>{r.seconds:.3f}</td><td>{escape(format_cost(r.cost))}</td>"
                f"<td>{escape(', '.join(r.models))}</td></tr>"
            )
        calls = sum(r.calls for r in s.roles.values())
        out.append(
            f'<tr class="total"><th>total</th><td>{calls}</td><td>{s.input_tokens}</td><td>{s.output_tokens}</td>'
            f"<td></td><td>{escape(format_cost(s.cost))}</td><td></td></tr>"
        )
        out.append("</tbody></table>")
    out.append("</div>")
    # critical path
    if s.critical_path:
        out.append(
            f"<h3>Critical path <small>{_plural(len(s.critical_path), 'task')}, the last one finished at "
            f"{s.critical_end:.3f} s</small></h3>"
            '<ol class="critical">'
        )
        for idx, label in zip(s.critical_path, s.critical_labels, strict=False):
            out.append(f'<li data-task="{idx}"><code>{escape(label)}</code></li>')
        out.append("</ol>")
    out.append("</section>")
    return "".join(out)


def _legend(timeline: Timeline) -> str:
    present = {s.status for s in timeline.tasks}
    items = [("waiting", "waiting (written, not started)")]
    items += [(status, status) for status in ("done", "failed", "skipped", "running") if status in present]
    lanes = [
        lane for lane in ("planner", "react", "joiner", "tool model") if any(s.lane == lane for s in timeline.spans)
    ]
    items += [(lane, f"{lane} call") for lane in lanes]
    spans = "".join(f'<span><i style="background:{COLOURS[key]}"></i>{escape(text)}</span>' for key, text in items)
    return f'<p class="legend">{spans}</p>'


def _svg(timeline: Timeline) -> str:
    drawn = rows(timeline)
    duration = max(timeline.duration, 1e-3)
    scale = (PLOT_RIGHT - PLOT_LEFT) / duration
    height = TOP + len(drawn) * ROW_HEIGHT + AXIS_HEIGHT
    bottom = TOP + len(drawn) * ROW_HEIGHT

    def x(t: float) -> int:
        return PLOT_LEFT + round(min(max(t, 0.0), duration) * scale)

    out = [
        f'<svg class="gantt" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="timeline of the run, {len(drawn)} rows">'
    ]
    # stripes behind every other row, then the grid, then the rows
    for y_index in range(1, len(drawn), 2):
        y = TOP + y_index * ROW_HEIGHT
        out.append(f'<rect class="stripe" x="0" y="{y}" width="{WIDTH}" height="{ROW_HEIGHT}"/>')
    step = _tick_step(duration)
    ticks = [i * step for i in range(int(duration / step + 1e-9) + 1)]
    for t in ticks:
        out.append(f'<line class="grid" x1="{x(t)}" y1="{TOP}" x2="{x(t)}" y2="{bottom}"/>')
        out.append(f'<line class="tick" x1="{x(t)}" y1="{bottom}" x2="{x(t)}" y2="{bottom + 5}"/>')
        out.append(f'<text class="ticklabel" x="{x(t)}" y="{bottom + 18}">{_tick_text(t, step)}</text>')
    out.append(f'<line class="axis" x1="{PLOT_LEFT}" y1="{bottom}" x2="{PLOT_RIGHT}" y2="{bottom}"/>')
    out.append(f'<text class="axislabel" x="{PLOT_LEFT}" y="{bottom + 36}">seconds since the run started</text>')
    for y_index, span in enumerate(drawn):
        y = TOP + y_index * ROW_HEIGHT
        bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) // 2
        label = shorten(span.label, LABEL_CHARS)
        if span.lane == "task":
            out.append(
                f'<g class="row task {escape(span.status)}" data-task="{span.idx}" data-status="{escape(span.status)}">'
            )
        else:
            out.append(f'<g class="row model" data-lane="{escape(span.lane)}" data-round="{span.round}">')
        out.append(f"<title>{escape(_tooltip(span))}</title>")
        out.append(f'<rect class="hit" x="0" y="{y}" width="{WIDTH}" height="{ROW_HEIGHT}"/>')
        out.append(f'<text class="label" x="{LABEL_WIDTH}" y="{y + ROW_HEIGHT // 2 + 4}">{escape(label)}</text>')
        if span.lane == "task":
            if span.parsed is not None and span.start > span.parsed:
                left, right = x(span.parsed), x(span.start)
                if right > left:
                    out.append(_rect("waiting", left, bar_y, right - left, COLOURS["waiting"]))
            colour = COLOURS.get(span.status, "#999999")
            left = x(span.start)
            width = max(MIN_BAR, x(span.end) - left)
            out.append(_rect("bar", left, bar_y, width, colour))
        else:
            left = x(span.start)
            width = max(MIN_BAR, x(span.end) - left)
            out.append(_rect("bar", left, bar_y, width, COLOURS.get(span.lane, "#999999")))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _rect(cls: str, x: int, y: int, width: int, colour: str) -> str:
    return f'<rect class="{cls}" x="{x}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{colour}"/>'


def _task_table(timeline: Timeline) -> str:
    tasks = [s for s in rows(timeline) if s.lane == "task"]
    out = ['<section id="tasks">', f"<h2>Tasks <small>{len(tasks)}</small></h2>"]
    out.append(
        '<table class="tasks"><thead><tr><th>id</th><th>round</th><th>tool call</th><th>deps</th><th>status</th>'
        '<th class="num">parsed</th><th class="num">ready</th><th class="num">start</th><th class="num">finish</th>'
        '<th class="num">duration</th><th class="num">waited</th></tr></thead><tbody>'
    )
    for span in tasks:
        ran = _ran(span)
        deps = ", ".join(f"${d}" for d in span.deps) or "—"
        waited = span.start - span.parsed if ran and span.parsed is not None else None
        out.append(
            f'<tr data-task="{span.idx}" class="{escape(span.status)}">'
            f"<td>${span.idx}</td><td>{span.round}</td><td><code>{escape(span.label)}</code></td>"
            f"<td>{escape(deps)}</td>"
            '<td class="status" '
            f'style="background:{STATUS_TINTS.get(span.status, "#ffffff")}">{escape(span.status)}</td>'
            f'<td class="num">{_seconds(span.parsed)}</td><td class="num">{_seconds(span.ready)}</td>'
            f'<td class="num">{_seconds(span.start if ran else None)}</td><td class="num">{_seconds(span.end)}</td>'
            f'<td class="num">{_seconds(span.duration if ran else None)}</td><td '
            f'class="num">{_seconds(waited)}</td></tr>'
        )
    out.append("</tbody></table>")
    out.append(
        '<p class="note">Times in seconds since the run started. <i>waited</i>: from written by the planner to '
        'started.</p>'
    )
    out.append("</section>")
    return "\n".join(out)


def _model_table(timeline: Timeline) -> str:
    calls = [s for s in rows(timeline) if s.lane != "task"]
    if not calls:
        return ""
    out = ['<section id="models">', "<h2>Model calls</h2>"]
    out.append(
        '<table class="models"><thead><tr><th>call</th><th>lane</th><th>round</th><th class="num">start</th>'
        '<th class="num">finish</th><th class="num">duration</th><th>status</th></tr></thead><tbody>'
    )
    for span in calls:
        out.append(
            '<tr '
            f'data-lane="{escape(span.lane)}"><td>{escape(span.label)}</td><td>{escape(span.lane)}</td><td>{span.round}</td>'
            f'<td class="num">{_seconds(span.start)}</td><td class="num">{_seconds(span.end)}</td>'
            f'<td class="num">{_seconds(span.duration)}</td><td>{escape(span.status)}</td></tr>'
        )
    out.append("</tbody></table></section>")
    return "\n".join(out)


# -- helpers ------------------------------------------------------------------------------


def _ran(span: Span) -> bool:
    """Whether a task span really started (skipped tasks and plan errors never did)."""
    return span.status in ("done", "failed", "running") and span.ready is not None


def _tooltip(span: Span) -> str:
    if span.lane != "task":
        return (
            f"{span.label} ({span.lane}, round {span.round})\n"
            f"{span.start:.3f} s to {span.end:.3f} s ({span.duration:.3f} s)"
        )
    lines = [span.label, f"status: {span.status}"]
    if span.deps:
        lines.append("deps: " + ", ".join(f"${d}" for d in span.deps))
    if span.parsed is not None:
        lines.append(f"written at {span.parsed:.3f} s")
    if span.ready is not None:
        lines.append(f"ready at {span.ready:.3f} s")
    if _ran(span):
        lines.append(f"ran {span.start:.3f} s to {span.end:.3f} s ({span.duration:.3f} s)")
    else:
        lines.append(f"{span.status} at {span.end:.3f} s")
    return "\n".join(lines)


def _tick_step(duration: float) -> float:
    """A 1/2/5 x 10^k step giving 4 to 10 ticks."""
    raw = duration / 8
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if power * factor >= raw:
            return power * factor
    return power * 10


def _tick_text(t: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{t:.{decimals}f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _first_line(text: str) -> str:
    return shorten(text.strip().splitlines()[0] if text.strip() else "", 120, one_line=False)


_CSS = """
:root { color-scheme: light; }
body {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d1d1f;
  margin: 16px 24px;
  background: #fff;
}
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
small { color: #666; font-weight: normal; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.run dt { font-weight: 600; color: #444; }
dl.run dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
dd.error { color: #9b1c1c; }
p.facts span { margin-right: 20px; }
.cols { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { padding: 2px 8px; border-bottom: 1px solid #e5e5e5; text-align: left; vertical-align: top; }
thead th { border-bottom: 1px solid #bbb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.phases td, table.roles td { text-align: right; font-variant-numeric: tabular-nums; }
table.tasks code { white-space: pre-wrap; overflow-wrap: anywhere; }
ol.critical { margin: 0; padding-left: 28px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre.mermaid-source { background: #f6f8fa; border: 1px solid #e1e4e8; padding: 10px; overflow-x: auto; }
p.legend { margin: 4px 0 8px; font-size: 12px; color: #444; }
p.legend span { margin-right: 14px; white-space: nowrap; }
p.legend i {
  display: inline-block;
  width: 10px;
  height: 10px;
  border-radius: 5px;
  margin-right: 5px;
  vertical-align: -1px;
}
p.note { color: #666; font-size: 12px; }
.chart { overflow-x: auto; }
svg.gantt { display: block; font-size: 12px; }
svg.gantt rect { shape-rendering: crispEdges; }
svg.gantt .stripe { fill: #f8f8f8; }
svg.gantt .hit { fill: transparent; }
svg.gantt .grid { stroke: #e4e4e4; stroke-width: 1; shape-rendering: crispEdges; }
svg.gantt .axis, svg.gantt .tick { stroke: #777; stroke-width: 1; shape-rendering: crispEdges; }
svg.gantt .ticklabel { text-anchor: middle; fill: #555; font-size: 11px; }
svg.gantt .axislabel { fill: #555; font-size: 11px; }
svg.gantt .label {
  text-anchor: end;
  fill: #222;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 11px;
}
svg.gantt .model .label { fill: #555; font-style: italic; }
svg.gantt .row.hl .hit { fill: #fff6c8; }
tr.hl td, li.hl { background: #fff6c8; }
"""

_JS = """
(function () {
  function mark(id, on) {
    document.querySelectorAll('[data-task="' + id + '"]').forEach(function (el) { el.classList.toggle('hl', on); });
  }
  document.querySelectorAll('[data-task]').forEach(function (el) {
    el.addEventListener('mouseenter', function () { mark(el.getAttribute('data-task'), true); });
    el.addEventListener('mouseleave', function () { mark(el.getAttribute('data-task'), false); });
  });
})();
"""
