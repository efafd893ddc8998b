"""Tools that misbehave, and runs that stop early: every run ends, every task record ends
done, failed or skipped with why, and hung sync tools do not starve later calls."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from llmcompiler import LLMCompiler, TaskStatus, tool
from llmcompiler.exceptions import ThreadPoolExhaustedError
from llmcompiler.llm import ScriptedModel
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.threads import ThreadRunner

# A regression here used to hang: fail instead.
pytestmark = pytest.mark.timeout(20)


def finish(answer: str) -> str:
    return f"Thought: done.\nAction: Finish({answer})"


def compiler(tools, plan, *, joins=None, **kwargs) -> LLMCompiler:
    return LLMCompiler(tools=tools, planner=ScriptedModel([plan]), joiner=ScriptedModel(joins or [finish("ok")]), **kwargs)


async def ainvoke(agent, question="q", **kwargs):
    return await asyncio.wait_for(agent.ainvoke(question, **kwargs), 10)


@tool
def quick(x: str = "ok") -> str:
    """Returns its argument."""
    return x


# -- 7: a tool that raises CancelledError by itself ---------------------------------------------


async def test_async_tool_raising_cancelled_error_by_itself_fails_that_task():
    @tool
    async def rogue() -> str:
        """Raises CancelledError although nothing cancelled it."""
        await asyncio.sleep(0)
        raise asyncio.CancelledError("gave up")

    plan = '1. rogue()\n2. quick("b")\n3. quick($1)\n4. join()<END_OF_PLAN>'
    result = await ainvoke(compiler([rogue, quick], plan))
    assert result.error is None and result.answer == "ok" and not result.cancelled
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).observation == (
        "ERROR: CancelledError: rogue raised CancelledError although nothing cancelled it (gave up)"
    )
    assert result.task(2).status is TaskStatus.DONE
    assert result.task(3).observation == "skipped: $1 failed"


async def test_sync_tool_raising_cancelled_error_in_its_thread_fails_that_task():
    @tool(retries=1)
    def rogue() -> str:
        """Raises CancelledError in its worker thread."""
        raise asyncio.CancelledError

    runner = ThreadRunner(max_workers=2)
    try:
        result = await ainvoke(compiler([rogue, quick], "1. rogue()\n2. quick()\n3. join()", threads=runner))
    finally:
        runner.close()
    assert result.answer == "ok"
    record = result.task(1)
    assert record.status is TaskStatus.FAILED and record.attempts == 2  # retried like any failure
    assert record.observation == "ERROR: CancelledError: rogue raised CancelledError although nothing cancelled it"
    assert [e.attempt for e in result.events if isinstance(e, ev.TaskRetrying)] == [2]


# -- 8: a run that stops early leaves no task waiting or running --------------------------------


def _stalling_tools():
    @tool
    async def hang() -> str:
        """Never returns."""
        await asyncio.Event().wait()
        return "never"

    @tool
    async def after(x: str) -> str:
        """Needs its input."""
        return x

    @tool(max_concurrency=1)
    async def single(x: str) -> str:
        """One call at a time, and this one never returns."""
        await asyncio.Event().wait()
        return x

    return [hang, after, single, quick]


STALLING_PLAN = '1. hang()\n2. after($1)\n3. single("a")\n4. single("b")\n5. quick()\n6. join()<END_OF_PLAN>'


def _assert_all_closed(records, why):
    by_id = {r.idx: r for r in records}
    assert all(r.status.finished for r in records)
    running = f"ERROR: cancelled: {why} while the tool was running"
    waiting = f"skipped: {why} before the task could start"
    assert (by_id[1].status, by_id[1].observation) == (TaskStatus.FAILED, running)
    assert (by_id[2].status, by_id[2].observation) == (TaskStatus.SKIPPED, waiting)  # waited for $1
    assert (by_id[3].status, by_id[3].observation) == (TaskStatus.FAILED, running)
    assert (by_id[4].status, by_id[4].observation) == (TaskStatus.SKIPPED, waiting)  # waited for a slot
    assert (by_id[5].status, by_id[5].observation) == (TaskStatus.DONE, "ok")
    for r in records:
        assert r.finished_at is not None


async def test_run_timeout_ends_every_task_with_why():
    result = await ainvoke(compiler(_stalling_tools(), STALLING_PLAN, timeout=0.5))
    assert result.error == "the run timed out after 0.5s"
    _assert_all_closed(result.tasks, "the run timed out after 0.5s")
    # the events say the same, before RunFinished, so the ledger and traces agree
    assert isinstance(result.events[-1], ev.RunFinished)
    failed = {e.idx: e.error for e in result.events if isinstance(e, ev.TaskFailed)}
    skipped = {e.idx: e.reason for e in result.events if isinstance(e, ev.TaskSkipped)}
    assert set(failed) == {1, 3} and set(skipped) == {2, 4}
    assert failed[1] == result.task(1).observation and skipped[2] == result.task(2).observation


async def test_cancelled_run_ends_every_task_with_why():
    events: list[ev.Event] = []
    all_started = asyncio.Event()

    def watch(event):
        events.append(event)
        started = {e.idx for e in events if isinstance(e, ev.TaskStarted)}
        if {1, 3} <= started and any(isinstance(e, ev.TaskFinished) and e.idx == 5 for e in events):
            all_started.set()

    agent = compiler(_stalling_tools(), STALLING_PLAN)
    run = asyncio.ensure_future(agent.ainvoke("q", on_event=watch))
    await asyncio.wait_for(all_started.wait(), 10)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert isinstance(events[-1], ev.RunFinished) and events[-1].cancelled
    why = "the run was cancelled"
    failed = {e.idx: e.error for e in events if isinstance(e, ev.TaskFailed)}
    skipped = {e.idx: e.reason for e in events if isinstance(e, ev.TaskSkipped)}
    assert failed == {i: f"ERROR: cancelled: {why} while the tool was running" for i in (1, 3)}
    assert skipped == {i: f"skipped: {why} before the task could start" for i in (2, 4)}


async def test_cancelled_run_result_has_no_open_record():
    # the records themselves, as a caller holding the Run (the CLI, the web app) sees them
    started = asyncio.Event()
    agent = compiler(_stalling_tools(), STALLING_PLAN)
    run = agent._new_run("q", ev.EventLog(lambda e: started.set() if isinstance(e, ev.TaskFinished) else None))
    worker = asyncio.ensure_future(run.execute())
    await asyncio.wait_for(started.wait(), 10)  # quick() (5) has finished, after 1 and 3 started
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    result = run.result()
    assert result.cancelled and result.error == "the run was cancelled"
    _assert_all_closed(result.tasks, "the run was cancelled")


# -- 9: results and exceptions that cannot be made text -----------------------------------------


class NoText:
    def __str__(self):
        raise RuntimeError("no text for you")


class Unspeakable(Exception):
    def __str__(self):
        raise RuntimeError("no message either")


async def test_results_and_exceptions_without_text_fail_their_task_and_the_run_goes_on(monkeypatch):
    if hasattr(sys, "set_int_max_str_digits"):  # Python's default limit, whatever the environment says
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(4300)
        monkeypatch.setattr(sys, "_restore_digits", old, raising=False)

    @tool
    def textless() -> object:
        """Returns an object whose str() raises."""
        return NoText()

    @tool
    async def huge() -> int:
        """Returns an int too long for str()."""
        return 10**5000

    @tool
    def mute() -> str:
        """Raises an exception whose str() raises."""
        raise Unspeakable()

    @tool
    async def big_error() -> str:
        """Raises with an int too long for str() as its message."""
        raise ValueError(10**5000)

    plan = (
        '1. textless()\n2. huge()\n3. mute()\n4. big_error()\n5. quick("fine")\n6. quick($2)\n'
        '7. quick("$1 and $5")\n8. join()<END_OF_PLAN>'
    )
    try:
        result = await ainvoke(compiler([textless, huge, mute, big_error, quick], plan))
    finally:
        if hasattr(sys, "set_int_max_str_digits"):
            sys.set_int_max_str_digits(old)
    assert result.error is None and result.answer == "ok"
    obs = {r.idx: (r.status, r.observation) for r in result.tasks}
    assert obs[1] == (
        TaskStatus.FAILED,
        "ERROR: RuntimeError: the result (a NoText) cannot be shown as text: no text for you",
    )
    if hasattr(sys, "set_int_max_str_digits"):
        assert obs[2][0] is TaskStatus.FAILED
        assert obs[2][1].startswith(
            "ERROR: ValueError: the result (an int of about 5001 digits) cannot be shown as text: Exceeds the limit"
        )
        assert obs[4] == (TaskStatus.FAILED, "ERROR: ValueError: (its message cannot be shown: str() raised ValueError)")
        assert obs[6] == (TaskStatus.SKIPPED, "skipped: $2 failed")
    assert obs[3] == (TaskStatus.FAILED, "ERROR: Unspeakable: (its message cannot be shown: str() raised RuntimeError)")
    assert obs[5] == (TaskStatus.DONE, "fine")
    assert obs[7] == (TaskStatus.SKIPPED, "skipped: $1 failed")
    assert result.task(1).result is None  # the value that cannot be shown is not kept either


# -- 10: timeouts that a tool ignores ------------------------------------------------------------


def _runner_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"{name}-")]


async def _until(condition, what: str) -> None:
    # Only the test waits like this: a released thread does its bookkeeping on its own time.
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def test_hung_sync_tools_do_not_starve_later_calls_and_the_user_is_told():
    release = threading.Event()
    runner = ThreadRunner(max_workers=2, max_abandoned=3, name="hostile-pool")

    @tool(timeout=0.05)
    def hang() -> str:
        """Blocks its thread until the test ends."""
        release.wait(30)
        return "late"

    try:
        # one hung call per run, so each is running (not queued) when its timeout fires
        for n in range(1, 4):
            result = await ainvoke(compiler([hang, quick], "1. hang()\n2. join()", threads=runner))
            assert result.task(1).observation == (
                "ERROR: ToolTimeoutError: hang timed out after 0.05s; it is a sync tool and its thread is still "
                f"running (a thread cannot be stopped; {n} such thread(s) now)"
            )
        assert runner.abandoned == 3
        # more hung calls than max_workers, yet a later run's sync tool starts and finishes
        result = await ainvoke(compiler([hang, quick], '1. quick("later")\n2. quick("again")\n3. join()', threads=runner))
        assert [(r.status, r.observation) for r in result.tasks] == [(TaskStatus.DONE, "later"), (TaskStatus.DONE, "again")]

        # At the bound: past max_abandoned, hung calls keep their slots; once both slots are
        # held, a sync call fails at once with a precise error instead of waiting forever.
        for _ in range(2):
            await ainvoke(compiler([hang, quick], "1. hang()\n2. join()", threads=runner))
        assert runner.abandoned == 5
        assert len(_runner_threads("hostile-pool")) == 5  # max_workers + max_abandoned
        result = await ainvoke(compiler([hang, quick], "1. quick()\n2. join()", threads=runner))
        observation = result.task(1).observation
        assert result.task(1).status is TaskStatus.FAILED
        assert observation.startswith("ERROR: ThreadPoolExhaustedError: no worker thread can take this call: all 2 ")
        assert "max_abandoned=3" in observation
    finally:
        release.set()
    # once the hung calls return, the pool serves again
    await _until(lambda: runner.abandoned == 0, "the released calls")
    result = await ainvoke(compiler([hang, quick], '1. quick("back")\n2. join()', threads=runner))
    assert result.task(1).observation == "back"
    runner.close()
    for thread in _runner_threads("hostile-pool"):
        thread.join(5)
    assert _runner_threads("hostile-pool") == []


async def test_a_call_dropped_while_queued_never_runs():
    release = threading.Event()
    ran: list[str] = []
    runner = ThreadRunner(max_workers=1, max_abandoned=0, name="drop-pool")
    blocker = runner.submit(release.wait, 30)
    dropped = runner.submit(ran.append, "dropped")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(dropped.result(), 0.05)
    assert dropped.state == "dropped"
    release.set()
    assert await blocker.result() is True
    await runner.run(ran.append, "kept")
    assert ran == ["kept"] and runner.abandoned == 0
    runner.close()


async def test_exhausted_pool_refuses_calls_already_queued():
    release = threading.Event()
    runner = ThreadRunner(max_workers=1, max_abandoned=0, name="refuse-pool")
    try:
        hung = runner.submit(release.wait, 30)
        queued = runner.submit(lambda: "never")  # waits behind the hung call
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(hung.result(), 0.2)
        assert hung.state == "abandoned"
        with pytest.raises(ThreadPoolExhaustedError):
            await asyncio.wait_for(queued.result(), 5)
        with pytest.raises(ThreadPoolExhaustedError):
            runner.submit(lambda: "no")
    finally:
        release.set()
    await _until(lambda: runner.abandoned == 0, "the released call")
    assert await runner.run(lambda: "yes") == "yes"
    runner.close()


async def test_async_tool_that_swallows_its_cancellation_is_failed_and_named():
    @tool(timeout=0.05)
    async def stubborn() -> str:
        """Catches the cancellation and returns anyway."""
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)
        return "late"

    result = await ainvoke(compiler([stubborn, quick], "1. stubborn()\n2. quick($1)\n3. join()"))
    assert result.answer == "ok"
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).observation.startswith(
        "ERROR: ToolTimeoutError: stubborn timed out after 0.05s and ignored the cancellation: it went on and returned "
    )
    assert result.task(2).observation == "skipped: $1 failed"


async def test_react_run_timeout_closes_its_running_step_too():
    from llmcompiler.agents.react import ReActAgent

    hang = _stalling_tools()[0]
    agent = ReActAgent(tools=[hang], model=ScriptedModel(["Thought: wait.\nAction: hang()"]), timeout=0.2)
    result = await ainvoke(agent)
    assert result.error == "the run timed out after 0.2s"
    assert [(r.status, r.observation) for r in result.tasks] == [
        (TaskStatus.FAILED, "ERROR: cancelled: the run timed out after 0.2s while the tool was running")
    ]


# -- sys.exit() in a tool, a call that does not fit, a sync def returning a coroutine -------------
# (the async ones are called by the scheduler's direct path, the sync and limited ones by
# `call_tool`: both must report the same)


@pytest.mark.parametrize("options", [{}, {"timeout": 5.0}, {"retries": 1}, {"max_concurrency": 1}])
async def test_a_tool_calling_sys_exit_fails_its_task_and_the_run_goes_on(options):
    @tool(**options)
    async def leave() -> str:
        """Calls sys.exit."""
        await asyncio.sleep(0)
        sys.exit(3)

    @tool(**options)
    def leave_sync() -> str:
        """Calls sys.exit in its thread."""
        sys.exit("bye")

    plan = "1. leave()\n2. leave_sync()\n3. quick()\n4. join()<END_OF_PLAN>"
    result = await ainvoke(compiler([leave, leave_sync, quick], plan))
    assert result.error is None and result.answer == "ok"
    attempts = 1 + options.get("retries", 0)
    assert (result.task(1).status, result.task(1).observation, result.task(1).attempts) == (
        TaskStatus.FAILED, "ERROR: SystemExit: 3", attempts
    )
    assert (result.task(2).status, result.task(2).observation) == (TaskStatus.FAILED, "ERROR: SystemExit: bye")
    assert result.task(3).status is TaskStatus.DONE


@pytest.mark.parametrize("options", [{}, {"timeout": 5.0}])
async def test_a_call_that_does_not_fit_the_signature_fails_without_calling(options):
    called = []

    @tool(**options)
    async def pair(a: int, b: int) -> int:
        """Adds two numbers."""
        called.append((a, b))
        return a + b

    plan = "1. pair(1)\n2. pair(1, 2)\n3. join()<END_OF_PLAN>"
    result = await ainvoke(compiler([pair], plan))
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).observation.startswith("ERROR: TypeError: ")
    assert "pair" in result.task(1).observation and "'b'" in result.task(1).observation
    assert result.task(1).attempts == 1
    assert (result.task(2).status, result.task(2).result) == (TaskStatus.DONE, 3)
    assert called == [(1, 2)]


async def test_a_value_that_cannot_be_text_fails_its_task_with_no_value_kept():
    class Mute:
        def __str__(self) -> str:
            raise ValueError("no text")

    @tool
    async def mute() -> object:
        """Returns something without text."""
        return Mute()

    result = await ainvoke(compiler([mute], "1. mute()\n2. join()<END_OF_PLAN>"))
    record = result.task(1)
    assert record.status is TaskStatus.FAILED and record.result is None
    assert record.observation == "ERROR: ValueError: the result (a Mute) cannot be shown as text: no text"
