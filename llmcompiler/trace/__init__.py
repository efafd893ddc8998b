"""Traces of runs: saving and loading events, timelines, Gantt pictures.

Everything here reads the run's event stream (`RunResult.events` or a saved trace); nothing
measures time on its own.
"""

from llmcompiler.trace.gantt import gantt_png
from llmcompiler.trace.html import timeline_html, write_html
from llmcompiler.trace.record import TraceError, load_trace, save_trace
from llmcompiler.trace.summary import RoleStats, RunSummary, mermaid_from_events, summarize_events
from llmcompiler.trace.timeline import Span, Timeline, critical_tasks

__all__ = [
    "RoleStats",
    "RunSummary",
    "Span",
    "Timeline",
    "TraceError",
    "critical_tasks",
    "gantt_png",
    "load_trace",
    "mermaid_from_events",
    "save_trace",
    "summarize_events",
    "timeline_html",
    "write_html",
]
