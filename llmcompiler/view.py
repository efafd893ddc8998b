"""The live view of a run: a pure consumer of its events.

    from llmcompiler.view import make_view

    view = make_view(title="LLMCompiler")
    with view:
        result = await agent.ainvoke(question, on_event=view)

On a terminal the view is a `rich` live table: tasks appear as the planner writes them,
with their call, dependencies, state (waiting, running, done, failed, skipped), duration
and result; above the table the planner's progress (round, tokens streamed), below it
the joiner's decisions, each replan as a separator and, at the end, the answer or the
error, the total time and the tokens. The display is redrawn only when an event arrives
(no polling thread); bursts of events are coalesced into at most `MAX_FPS` redraws a
second by a one-shot timer on the run's event loop.

Anywhere else (a pipe, a file, a CI log, or ``live=False``) it writes plain lines, one per
meaningful event and none per streamed token:

    [ 0.00s] question: How long are the four rivers together?
    [ 0.00s] plan 1 started
    [ 0.91s] $1 search("Aldermoor (river)") parsed (deps: none)
    [ 0.91s] $1 started
    [ 1.38s] $1 done in 0.47s: The Aldermoor is a river in ...
    [ 2.71s] joiner: Finish(1050 km) (thought: ...)
    [ 4.31s] answer: 1050 km

Times are seconds since the run's `RunStarted`, read from the events themselves, so a
saved trace replayed into a view prints the same lines. ReAct runs (one model call per
step) read as steps: "step 2 started"; `RunStarted.agent` says which agent ran (``agent=``
names it for events that come without their RunStarted). What the view shows of the run
is its ledger (`runtime.ledger`), folded from the same events; the view keeps only its
rows' order and the progress of the model call now streaming.

A view never breaks a run: an exception inside it is kept in `view.error`, reported once
on its stream, and the view stops drawing.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import IO, TYPE_CHECKING, Any

from llmcompiler._text import shorten as _shorten
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import Ledger, TaskRecord

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

__all__ = ["LiveView", "PlainView", "RunState", "TaskRow", "View", "make_view", "shorten"]

MAX_FPS = 20  # redraws per second at most; events in between are drawn by a one-shot timer

# Events that change the picture enough to be drawn at once, even inside a burst.
_IMMEDIATE = (ev.RunStarted, ev.PlannerFinished, ev.StepFinished, ev.JoinerFinished, ev.Replan, ev.RunFinished)

_CALL_PREFIX = re.compile(r"^\s*\d+\s*\.\s*")


def shorten(text: Any, limit: int = 80) -> str:
    """One line of at most `limit` characters: whitespace collapsed, the rest cut with "…"."""
    return _shorten(text, limit)


def _thought_of(text: str) -> str:
    """The reasoning of a ReAct step: its text before `Action:`, without `Thought:`."""
    head = re.split(r"\bAction\s*:", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return re.sub(r"^\s*Thought\s*:\s*", "", head, flags=re.IGNORECASE).strip()


# --------------------------------------------------------------------------------------
# The state both views draw: the events folded into rows
# --------------------------------------------------------------------------------------


class TaskRow:
    """One task as the view shows it: a reader of the ledger's record of the task."""

    __slots__ = ("call", "record")

    def __init__(self, record: TaskRecord, call: str) -> None:
        self.record = record
        self.call = call

    @property
    def idx(self) -> int:
        return self.record.idx

    @property
    def round(self) -> int:
        return self.record.round

    @property
    def deps(self) -> tuple[int, ...]:
        return tuple(self.record.deps)

    @property
    def state(self) -> str:  # waiting, running, done, failed, skipped
        return self.record.status.value

    @property
    def parsed(self) -> float:
        return self.record.parsed_at

    @property
    def started(self) -> float | None:
        return self.record.started_at

    @property
    def ended(self) -> float | None:
        return self.record.finished_at

    @property
    def attempt(self) -> int:
        return self.record.retry or 1  # TaskRetrying announces the attempt about to start

    @property
    def result(self) -> str:
        """The observation, the error, or why it was skipped; while retrying, the last error."""
        record = self.record
        return record.observation if record.status.finished or not record.retry else record.retry_error

    @property
    def deps_text(self) -> str:
        return " ".join(f"${d}" for d in self.deps)

    def duration(self, now: float) -> float | None:
        """Seconds it ran (so far, while running); None if it never started."""
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else now) - self.started


@dataclass
class Separator:
    """A new round after a replan."""

    round: int
    reason: str


@dataclass
class DecisionRow:
    """The joiner's reply of one round (or ReAct's final step), as a row of the view."""

    round: int
    action: str  # "finish" or "replan"
    thought: str
    content: str
    forced: bool = False


@dataclass
class RunState:
    """Everything a view shows. What happened, the model call under way included, is the
    run's ledger (`runtime.ledger`), fed by `apply`; kept here is only the view's own: its
    rows in display order and its clock."""

    expected_agent: str | None = None  # what the caller said, until RunStarted says
    ledger: Ledger = field(default_factory=Ledger)
    t0: float | None = None
    now: float = 0.0  # the latest event's time: the view's clock
    rows: list[TaskRow | Separator | DecisionRow] = field(default_factory=list)
    latest: dict[int, TaskRow] = field(default_factory=dict)  # a reused id: the latest row

    @property
    def agent(self) -> str:
        if self.ledger.started is None and self.expected_agent is not None:
            return self.expected_agent
        return self.ledger.agent

    @property
    def react(self) -> bool:
        return self.agent == "react"

    @property
    def round(self) -> int:
        return self.ledger.round

    @property
    def model_busy(self) -> str | None:
        return self.ledger.streaming

    @property
    def tasks_in_round(self) -> int:
        return self.ledger.progress["planner"].tasks

    @property
    def joiner_tokens(self) -> int:
        return self.ledger.progress["joiner"].tokens

    @property
    def question(self) -> str:
        return self.ledger.question

    @property
    def finished(self) -> bool:
        return self.ledger.finished is not None

    @property
    def answer(self) -> str:
        return self.ledger.answer

    @property
    def error(self) -> str | None:
        return self.ledger.error

    @property
    def cancelled(self) -> bool:
        return self.ledger.cancelled

    @property
    def input_tokens(self) -> int:
        return sum(u.input_tokens for u in self.ledger.usage.values())

    @property
    def output_tokens(self) -> int:
        return sum(u.output_tokens for u in self.ledger.usage.values())

    @property
    def model_calls(self) -> int:
        return len(self.ledger.model_calls)

    @property
    def estimated(self) -> bool:
        """Some call's usage was counted by us, not reported."""
        return any(u.estimated for u in self.ledger.usage.values())

    def rel(self, t: float) -> float:
        return t - self.t0 if self.t0 is not None else 0.0

    @property
    def elapsed(self) -> float:
        return self.rel(self.now)

    @property
    def tasks(self) -> list[TaskRow]:
        return [r for r in self.rows if isinstance(r, TaskRow)]

    def apply(self, event: ev.Event) -> None:
        """Fold `event` into the ledger, then add the rows it shows, in display order."""
        ledger = self.ledger
        ledger.apply(event)
        if self.t0 is None or isinstance(event, ev.RunStarted):
            self.t0 = event.t
        self.now = max(self.now, event.t)
        if isinstance(event, ev.StepFinished) and event.answer is not None:
            self.rows.append(DecisionRow(event.step, "finish", event.thought, event.answer))
        elif isinstance(event, ev.TaskParsed):
            task = event.task
            if task.is_join or not ledger.parsed or ledger.parsed[-1].task is not task:
                return
            call = _CALL_PREFIX.sub("", task.text).strip() if task.text else task.call_text()
            row = TaskRow(ledger.parsed[-1], call)
            self.rows.append(row)
            self.latest[task.idx] = row
        elif isinstance(event, ev.JoinerFinished):
            self.rows.append(DecisionRow(event.round, event.action, event.thought, event.content, event.forced))
        elif isinstance(event, ev.Replan):
            self.rows.append(Separator(event.round, event.reason))

    def round_word(self) -> str:
        return "step" if self.react else "plan"

    @property
    def planner_count(self) -> str:
        """The round's token count as shown: "~" marks our estimate."""
        return self.ledger.progress["planner"].count

    @property
    def joiner_count(self) -> str:
        return self.ledger.progress["joiner"].count

    def totals_text(self) -> str:
        calls = f"{self.model_calls} model call{'s' if self.model_calls != 1 else ''}"
        approx = "~" if self.estimated else ""
        text = (
            f"total {self.elapsed:.2f}s · {calls} · "
            f"{approx}{self.input_tokens:,} tokens in, {approx}{self.output_tokens:,} out"
        )
        return text + (" (estimated: the server reported no usage)" if self.estimated else "")


# --------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------


class View:
    """A callable for `on_event` and a context manager around the run."""

    def __init__(self, *, title: str = "", agent: Any = None) -> None:
        self.title = title
        self.state = RunState(expected_agent=_agent_kind(agent))
        self.error: BaseException | None = None

    def __call__(self, event: ev.Event) -> None:
        if self.error is not None:
            return
        try:
            self.state.apply(event)
            self.handle(event)
        except Exception as exc:  # a display must never break the run it shows
            self.error = exc
            self._report_error(exc)

    def handle(self, event: ev.Event) -> None:
        raise NotImplementedError

    def _report_error(self, exc: BaseException) -> None:
        pass

    def __enter__(self) -> View:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        pass


def _agent_kind(agent: Any) -> str | None:
    if agent is None:
        return None
    if isinstance(agent, str):
        kind = agent.lower().replace("-", "").replace("_", "")
        if kind not in ("react", "llmcompiler", "compiler"):
            raise ValueError(f"agent must be 'llmcompiler' or 'react', not {agent!r}")
        return "react" if kind == "react" else "llmcompiler"
    from llmcompiler.agents.react import ReActAgent

    return "react" if isinstance(agent, ReActAgent) else "llmcompiler"


class PlainView(View):
    """One line per meaningful event, for pipes, files and logs."""

    def __init__(self, stream: IO[str], *, title: str = "", agent: Any = None) -> None:
        super().__init__(title=title, agent=agent)
        self.stream = stream

    def _write(self, text: str, t: float | None = None) -> None:
        stamp = f"[{self.state.rel(t):5.2f}s] " if t is not None else ""
        self.stream.write(stamp + text + "\n")
        self.stream.flush()

    def _report_error(self, exc: BaseException) -> None:
        try:
            self._write(f"(the view stopped: {type(exc).__name__}: {exc})")
        except Exception:
            pass

    def handle(self, event: ev.Event) -> None:
        line = self.line(event)
        if line is not None:
            self._write(line, event.t)

    def line(self, event: ev.Event) -> str | None:
        """The text for one event (without its time), or None for an event not worth a line."""
        s = self.state
        if isinstance(event, ev.RunStarted):
            if self.title:
                self._write(f"== {self.title} ==")
            return f"question: {shorten(event.question, 200)}"
        if isinstance(event, ev.PlannerStarted):
            return f"{s.round_word()} {event.round} started"
        if isinstance(event, ev.StepStarted):
            return f"step {event.step} started"
        if isinstance(event, ev.StepFinished):
            if event.error is not None:
                return f"step {event.step} failed: {shorten(event.error)}"
            if event.answer is not None:
                if event.thought:
                    self._write(f"step {event.step} thought: {shorten(event.thought)}", event.t)
                return f"step {event.step}: Finish({shorten(event.answer)})"
            return f"step {event.step} thought: {shorten(event.thought)}" if event.thought else None
        if isinstance(event, ev.PlannerFinished):
            if s.react:
                if event.error is not None:
                    return f"step {event.round} failed: {shorten(event.error)}"
                thought = _thought_of(event.text)
                return f"step {event.round} thought: {shorten(thought)}" if thought else None
            if event.error is not None:
                return f"plan {event.round} broke off after {s.planner_count} tokens: {shorten(event.error)}"
            n = s.tasks_in_round
            return f"plan {event.round} written: {n} task{'s' if n != 1 else ''}, {s.planner_count} tokens"
        if isinstance(event, ev.TaskParsed):
            if event.task.is_join:
                return None
            row = s.latest[event.task.idx]
            return f"${row.idx} {shorten(row.call)} parsed (deps: {row.deps_text or 'none'})"
        if isinstance(event, ev.TaskStarted):
            return f"${event.idx} started" + (f" (attempt {event.attempt})" if event.attempt > 1 else "")
        if isinstance(event, ev.TaskRetrying):
            failed = event.attempt - 1  # the event names the attempt about to start
            return f"${event.idx} attempt {failed} failed, retrying (attempt {event.attempt}): {shorten(event.error)}"
        if isinstance(event, ev.TaskFinished):
            return f"${event.idx} done{self._took(event.idx)}: {shorten(event.observation)}"
        if isinstance(event, ev.TaskFailed):
            return f"${event.idx} failed{self._took(event.idx)}: {shorten(event.error)}"
        if isinstance(event, ev.TaskSkipped):
            reason = re.sub(r"^skipped:\s*", "", event.reason)
            return f"${event.idx} skipped ({shorten(reason)})"
        if isinstance(event, ev.JoinerStarted):
            return "joiner started"
        if isinstance(event, ev.JoinerFinished):
            if s.react:
                return f"step {event.round}: Finish({shorten(event.content)})"
            if event.forced:
                return (
                    f"joiner: Replan after the last allowed round, so the run ends (thought: {shorten(event.thought)})"
                )
            action = "Finish" if event.action == "finish" else "Replan"
            thought = f" (thought: {shorten(event.thought)})" if event.thought else ""
            return f"joiner: {action}({shorten(event.content)}){thought}"
        if isinstance(event, ev.Replan):
            return f"---- replan: plan {event.round} ({shorten(event.reason)}) ----"
        if isinstance(event, ev.RunFinished):
            if event.cancelled:
                head = "cancelled"
            elif event.error is not None:
                head = f"error: {shorten(event.error, 300)}"
            else:
                head = f"answer: {shorten(event.answer, 300)}"
            self._write(head, event.t)
            return s.totals_text()
        return None  # tokens, TaskReady, ModelCall: no line

    def _took(self, idx: int) -> str:
        row = self.state.latest.get(idx)
        took = row.duration(self.state.now) if row is not None else None
        return f" in {took:.2f}s" if took is not None else ""


_STATE_STYLES = {
    "waiting": "dim",
    "running": "bold yellow",
    "done": "green",
    "failed": "bold red",
    "skipped": "dim magenta",
}


class LiveView(View):
    """A `rich.live.Live` table, redrawn when events arrive; see the module docstring."""

    def __init__(self, console: Console, *, title: str = "", agent: Any = None) -> None:
        super().__init__(title=title, agent=agent)
        from rich.live import Live

        self.console = console
        self.live = Live(
            console=console,
            get_renderable=self.render,
            auto_refresh=False,
            transient=False,
        )
        self._running = False
        self._auto_started = False
        self._last_draw = float("-inf")
        self._timer: asyncio.TimerHandle | None = None

    # -- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> LiveView:
        self.start()
        return self

    def start(self) -> None:
        if not self._running:
            self.live.start(refresh=False)
            self._running = True

    def close(self) -> None:
        self._cancel_timer()
        if self._running:
            self._running = False
            try:
                self.live.stop()  # draws the final state, which stays on screen
            except Exception as exc:
                if self.error is None:
                    self.error = exc

    def _report_error(self, exc: BaseException) -> None:
        self._cancel_timer()
        if self._running:
            self._running = False
            try:
                self.live.stop()
                self.console.print(f"(the view stopped: {type(exc).__name__}: {exc})", markup=False)
            except Exception:
                pass

    # -- drawing -------------------------------------------------------------------

    def handle(self, event: ev.Event) -> None:
        if not self._running:  # used without `with`: the first event starts the display
            self.start()
            self._auto_started = True
        if isinstance(event, ev.RunFinished) and self._auto_started:
            self.close()  # used without `with`: the run's end is the view's end
            return
        self._draw(immediate=isinstance(event, _IMMEDIATE))

    def _draw(self, *, immediate: bool) -> None:
        wait = self._last_draw + 1.0 / MAX_FPS - perf_counter()
        if immediate or wait <= 0:
            self._cancel_timer()
            self._refresh()
            return
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # replayed outside a loop: the next immediate event draws it
            self._timer = loop.call_later(wait, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._running and self.error is None:
            try:
                self._refresh()
            except Exception as exc:
                self.error = exc
                self._report_error(exc)

    def _refresh(self) -> None:
        self._last_draw = perf_counter()
        self.live.refresh()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def max_rows(self) -> int:
        """Rows of the table while the run goes on: what fits on the screen."""
        if self.state.finished:
            return 500
        return max(8, self.console.size.height - 10)

    def render(self) -> RenderableType:
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        s = self.state
        parts: list[Any] = []
        head = Text()
        if self.title:
            head.append(self.title, style="bold")
            head.append("  ")
        head.append(shorten(s.question, 160) if s.question else "", style="italic")
        parts.append(head)
        parts.append(self._progress())

        widths = self._widths()
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold")
        table.add_column("id", justify="right", no_wrap=True, width=widths["id"])
        table.add_column("call", overflow="ellipsis", no_wrap=True, width=widths["call"])
        table.add_column("deps", overflow="ellipsis", no_wrap=True, width=widths["deps"])
        table.add_column("state", no_wrap=True, width=widths["state"])
        table.add_column("time", justify="right", no_wrap=True, width=widths["time"])
        table.add_column("result", overflow="ellipsis", no_wrap=True, width=widths["result"])
        rows = s.rows
        limit = self.max_rows()
        if len(rows) > limit:
            hidden = rows[: len(rows) - limit]
            rows = rows[len(rows) - limit :]
            done = sum(1 for r in hidden if isinstance(r, TaskRow))
            table.add_row("", Text(f"… {len(hidden)} earlier rows ({done} tasks)", style="dim"), "", "", "", "")
        for row in rows:
            if isinstance(row, TaskRow):
                took = row.duration(s.now)
                time_text = "" if took is None else (f"{took:.2f}s" if row.ended is not None else f"{took:.1f}s…")
                result = (
                    row.result if row.attempt <= 1 or row.state != "running" else f"attempt {row.attempt}: {row.result}"
                )
                table.add_row(
                    Text(f"${row.idx}", style="bold"),
                    Text(row.call),
                    Text(row.deps_text, style="cyan"),
                    Text(row.state, style=_STATE_STYLES.get(row.state, "")),
                    Text(time_text),
                    Text(shorten(result, 200), style="dim" if row.state == "skipped" else ""),
                )
            elif isinstance(row, Separator):
                table.add_section()
                reason = Text(shorten(row.reason, 200), style="magenta")
                table.add_row("", Text(f"replan: plan {row.round}", style="bold magenta"), "", "", "", reason)
            else:
                detail = Text()
                if row.forced:
                    label = Text("joiner: Replan", style="bold red")
                    detail.append("after the last allowed round: the run ends ", style="red")
                else:
                    word = "Finish" if row.action == "finish" else "Replan"
                    who = f"step {row.round}" if s.react else "joiner"
                    label = Text(f"{who}: {word}", style="bold green" if row.action == "finish" else "bold magenta")
                    detail.append(f"({shorten(row.content, 80)}) ", style="bold")
                if row.thought and not s.react:
                    detail.append(shorten(row.thought, 200), style="italic")
                table.add_row("", label, "", "", "", detail)
        parts.append(table)

        if s.finished:
            end = Text()
            if s.cancelled:
                end.append("cancelled", style="bold red")
            elif s.error is not None:
                end.append("error: ", style="bold red")
                end.append(shorten(s.error, 400))
            else:
                end.append("answer: ", style="bold green")
                end.append(s.answer)
            parts.append(end)
            parts.append(Text(s.totals_text(), style="dim"))
        return Group(*parts)

    def _widths(self) -> dict[str, int]:
        """Column widths for the console's width: the call gets up to 44 columns, the result the rest."""
        tasks = self.state.tasks
        id_width = max([3, *(len(str(r.idx)) + 1 for r in tasks)])
        deps = min(14, max([4, *(len(r.deps_text) for r in tasks)]))
        fixed = id_width + deps + 7 + 6 + 5 * 3  # id, deps, state, time, the gaps between six columns
        free = max(self.console.width - fixed - 1, 30)
        longest = max([14, *(len(r.call) for r in tasks)])
        call = min(max(18, min(longest, 44, (free * 45) // 100)), free - 12)
        return {"id": id_width, "call": call, "deps": deps, "state": 7, "time": 6, "result": free - call}

    def _progress(self) -> Any:
        from rich.text import Text

        s = self.state
        text = Text(style="")
        text.append(f"[{s.elapsed:5.2f}s] ", style="dim")
        if s.round == 0:
            text.append("starting", style="dim")
            return text
        word = s.round_word()
        text.append(f"{word} {s.round}", style="bold blue")
        if s.model_busy == "planner":
            verb = "thinking" if s.react else "streaming"
            text.append(f": {verb}, {s.planner_count} tokens")
        elif s.react:
            text.append(f": {s.planner_count} tokens")
        else:
            text.append(f": {s.tasks_in_round} tasks, {s.planner_count} tokens")
        if not s.react and (s.model_busy == "joiner" or s.joiner_tokens):
            text.append("  joiner", style="bold magenta")
            text.append(f": {'thinking, ' if s.model_busy == 'joiner' else ''}{s.joiner_count} tokens")
        running = sum(1 for r in s.tasks if r.state == "running")
        if running:
            text.append(f"  {running} running", style="yellow")
        return text


def make_view(
    *,
    stream: IO[str] | None = None,
    live: bool | None = None,
    title: str = "",
    console: Console | None = None,
    agent: Any = None,
) -> View:
    """The view of one run: a live table on a terminal, plain lines anywhere else.

    `stream`: where to draw (default: standard output). `live`: None chooses by whether
    the stream (or `console`) is a terminal; True always uses the live table (on a
    non-terminal, rich then prints only the final table); False always writes plain lines.
    `console`: a `rich.console.Console` to draw the live table on (its file receives the
    plain lines when `live` is False). `agent`: the agent (or "llmcompiler" / "react")
    whose run is shown, so that the first line already says "plan" or "step".
    """
    if console is not None:
        use_live = console.is_terminal if live is None else live
        if not use_live:
            return PlainView(console.file, title=title, agent=agent)
        return LiveView(console, title=title, agent=agent)
    if stream is None:
        stream = sys.stdout
    if live is None:
        isatty: Callable[[], bool] | None = getattr(stream, "isatty", None)
        try:
            live = bool(isatty()) if isatty is not None else False
        except Exception:
            live = False
    if not live:
        return PlainView(stream, title=title, agent=agent)
    from rich.console import Console

    return LiveView(Console(file=stream), title=title, agent=agent)
