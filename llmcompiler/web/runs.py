"""Runs of the web UI: each an agent task in the manager's TaskGroup, its events fanned out.

    manager = RunManager(store=store, settings=settings)
    await manager.start()
    run_id = await manager.submit(session, question, suite="general", model="gpt-4o")
    live = manager.live(run_id)          # None once the run is finished and stored
    async for seq, text in live.follow(after=0): ...
    await manager.cancel(run_id)
    await manager.close()                # cancels the runs still going; every kernel closed

A live run keeps its events in a list; a subscriber replays the list from where it is, then
waits for the next event on a wake-up `asyncio.Event` that every new event sets (and
replaces), so many subscribers follow one run without polling and without queues that a
closed tab would leave filling. A writer task of the run stores each burst of events in one
transaction. The run's status, tasks and usage are its `Ledger`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmcompiler._compat import TaskGroup
from llmcompiler.code.workspace import Snapshot, Workspace
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import Ledger, RunStatus
from llmcompiler.trace.record import event_to_dict
from llmcompiler.web.sessions import session_workspace
from llmcompiler.web.settings import WebSettings
from llmcompiler.web.store import Store

__all__ = ["LiveRun", "RunManager", "new_id"]

log = logging.getLogger("llmcompiler.web")

_FILES_NOTE = "Files in the workspace (the code's working directory):"


def new_id() -> str:
    return secrets.token_hex(8)


@dataclass(eq=False)
class LiveRun:
    """A run under way (or just finished): its events as JSON, its ledger, its subscribers' wake-up."""

    id: str
    session: str
    question: str
    suite: str
    model: str
    events: list[tuple[int, str]] = field(default_factory=list)  # (seq, JSON) in order
    ledger: Ledger = field(default_factory=Ledger)
    files: list[dict[str, Any]] = field(default_factory=list)  # created by the run
    closed: bool = False  # no more events will come
    finished: bool = False  # ... and everything is stored: files known, status written
    cancel_requested: bool = False
    agent_task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: ev.Event) -> None:
        """The agent's `on_event`: fold, encode, wake every subscriber."""
        self.ledger.apply(event)
        seq = len(self.events) + 1
        data = event_to_dict(event)
        data["seq"] = seq
        self.events.append((seq, json.dumps(data, ensure_ascii=False)))
        self._notify()

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        self._notify()

    def finish(self, files: list[dict[str, Any]]) -> None:
        self.files = files
        self.closed = self.finished = True
        self._notify()

    @property
    def status(self) -> str:
        return self.ledger.status.value

    async def wait_beyond(self, count: int, *, until: Callable[[], bool]) -> None:
        """Return once there are more than `count` events or `until()` holds."""
        while len(self.events) <= count and not until():
            await self._wake.wait()

    async def follow(self, *, after: int = 0) -> AsyncIterator[tuple[int, str]]:
        """Every event with seq > `after`, as it comes, until the run is finished and stored."""
        sent = max(0, after)  # events[i] has seq i + 1
        while True:
            await self.wait_beyond(sent, until=lambda: self.finished)
            while sent < len(self.events):
                yield self.events[sent]
                sent += 1
            if self.finished and sent >= len(self.events):
                return


class RunManager:
    """Owns every run: a supervisor task holds the TaskGroup that the runs are tasks of."""

    def __init__(self, *, store: Store, settings: WebSettings) -> None:
        self.store = store
        self.settings = settings
        self._live: dict[str, LiveRun] = {}
        self._group: TaskGroup | None = None
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._suites: dict[str, Any] = {}

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="llmcompiler-web-runs")
        await self._ready.wait()

    async def _supervise(self) -> None:
        async with TaskGroup() as group:
            self._group = group
            self._ready.set()
            await self._stopping.wait()
            for live in list(self._live.values()):
                self._cancel(live)
        self._group = None

    async def close(self) -> None:
        """Cancel the runs still going and wait until each has stored its end and closed its kernels."""
        self._stopping.set()
        if self._supervisor is not None:
            await self._supervisor
            self._supervisor = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def live(self, run: str) -> LiveRun | None:
        return self._live.get(run)

    @property
    def running(self) -> int:
        return sum(1 for live in self._live.values() if not live.finished)

    async def submit(self, *, session: str, question: str, suite: str, model: str, prompt: str) -> str:
        """Start a run of `question` (`prompt`: the question with its context); its id."""
        if self._group is None or self._stopping.is_set():
            raise ConfigurationError("the server is shutting down")
        run = new_id()
        await self.store.create_run(run, session=session, question=question, suite=suite, model=model)
        live = LiveRun(run, session, question, suite, model)
        self._live[run] = live
        self._group.create_task(self._execute(live, prompt), name=f"llmcompiler-web-run-{run}")
        return run

    async def cancel(self, run: str) -> str | None:
        """Ask the run to stop; "cancelling", the final status of a finished run, or None (no such run)."""
        live = self._live.get(run)
        if live is not None and not live.closed:
            self._cancel(live)
            return "cancelling"
        stored = await self.store.run(run)
        return None if stored is None else str(stored["status"])

    @staticmethod
    def _cancel(live: LiveRun) -> None:
        live.cancel_requested = True
        if live.agent_task is not None:
            live.agent_task.cancel()

    # -- one run ---------------------------------------------------------------------------

    async def _execute(self, live: LiveRun, prompt: str) -> None:
        from llmcompiler.evaluation.suite import SuiteContext

        workspace = session_workspace(self.settings.workspaces, live.session)
        context = SuiteContext(interpreter_config=self.settings.interpreter, workspace=workspace.root)
        closers: list[Any] = [context]
        before: Snapshot = {}
        try:
            async with TaskGroup() as group:
                group.create_task(self._write_events(live))
                try:
                    before = await asyncio.to_thread(workspace.snapshot)
                    agent, question = await self._build(live, prompt, workspace, context, closers)
                except Exception as exc:  # a bad setting, no kernel: the run fails with that line
                    log.warning("run %s could not start: %s", live.id, exc, exc_info=not _is_user_error(exc))
                    live.add(ev.RunStarted(question=prompt))
                    live.add(ev.RunFinished(answer="", error=str(exc), status=RunStatus.FAILED.value))
                    live.close()
                else:
                    live.agent_task = group.create_task(self._drive(live, agent, question))
                    live.agent_task.add_done_callback(lambda _: _agent_done(live, question))
                    if live.cancel_requested:
                        live.agent_task.cancel()
        finally:
            for closer in reversed(closers):  # every kernel and client, whatever happened
                try:
                    await closer.aclose()
                except Exception:
                    log.exception("closing run %s's %s failed", live.id, type(closer).__name__)
            await self._store_end(live, workspace, before)
            self._live.pop(live.id, None)

    async def _drive(self, live: LiveRun, agent: Any, question: str) -> None:
        try:
            await agent.ainvoke(question, on_event=live.add)
        except asyncio.CancelledError:
            pass  # the run emitted RunFinished(cancelled) before it let the cancellation out
        except Exception:
            log.exception("run %s raised", live.id)

    async def _write_events(self, live: LiveRun) -> None:
        """Store the run's events, one transaction per burst, until it is closed."""
        written = 0
        while True:
            await live.wait_beyond(written, until=lambda: live.closed)
            batch = live.events[written:]
            if not batch:
                return
            await self.store.append_events(live.id, batch)
            written += len(batch)

    async def _store_end(self, live: LiveRun, workspace: Workspace, before: Snapshot) -> None:
        files: list[dict[str, Any]] = []
        try:
            changed = await asyncio.to_thread(workspace.changed_since, before)
            files = [_file_entry(workspace.root, path) for path in changed]
            await self.store.record_files(live.session, [(f["name"], f["size"]) for f in files], run=live.id)
            ledger = live.ledger
            status = ledger.status if ledger.status is not RunStatus.RUNNING else RunStatus.FAILED
            error = ledger.error if status is not RunStatus.FAILED or ledger.error else "the run ended without a result"
            await self.store.finish_run(live.id, status=status.value, answer=ledger.answer, error=error)
        except Exception:
            log.exception("storing the end of run %s failed", live.id)
        finally:
            live.finish(files)

    async def _build(
        self, live: LiveRun, prompt: str, workspace: Workspace, context: Any, closers: list[Any]
    ) -> tuple[Any, str]:
        """The agent for the run and the question it gets (the files listed for the planner)."""
        settings = self.settings
        if settings.demo:
            from llmcompiler.web.demo import demo_agent, needs_interpreter

            interpreter = None
            if needs_interpreter(live.question) or live.suite == "code":
                interpreter = context.interpreter()
                interpreter.start()
            agent = demo_agent(live.question, interpreter=interpreter, speed=settings.speed)
        else:
            from llmcompiler.evaluation.suite import ModelPool

            suite = self._suite(live.suite)
            models = ModelPool(
                settings.model_type, live.model, limiter=settings.limiter, **settings.model_options
            )
            closers.append(models)
            context.model = models.first()
            tools = suite.tools(context)
            if context.has_interpreter:
                context.interpreter().start()  # the kernels warm up while the planner writes
            agent = suite.build_agent(tools, models, timeout=settings.timeout, plan_grammar=settings.plan_grammar)
        listing = await asyncio.to_thread(workspace.describe)
        if listing != "(empty)":
            prompt = f"{prompt}\n\n{_FILES_NOTE}\n{listing}"
        return agent, prompt

    def _suite(self, name: str) -> Any:
        from llmcompiler.evaluation.suite import load_suite

        if name not in self._suites:
            self._suites[name] = load_suite(name)
        return self._suites[name]


def _agent_done(live: LiveRun, question: str) -> None:
    """The agent's task ended: no more events. A task cancelled before its first step never
    ran the agent (and so emitted nothing): its run is given a start and a cancelled end here."""
    if live.ledger.finished is None:
        if live.ledger.started is None:
            live.add(ev.RunStarted(question=question))
        reason = "the run was cancelled" if live.cancel_requested else "the run ended without a result"
        status = RunStatus.CANCELLED if live.cancel_requested else RunStatus.FAILED
        live.add(ev.RunFinished(answer="", error=reason, cancelled=live.cancel_requested, status=status.value))
    live.close()


def _file_entry(root: Path, path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return {"name": path.relative_to(root).as_posix(), "size": size}


def _is_user_error(exc: BaseException) -> bool:
    from llmcompiler.exceptions import LLMCompilerError

    return isinstance(exc, (LLMCompilerError, ValueError, OSError))
