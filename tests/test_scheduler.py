"""The scheduler and executor on their own, without models."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from llmcompiler._compat import TaskGroup
from llmcompiler.plan.parser import PlanParser
from llmcompiler.plan.task import Ref, Task
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.executor import Resolved, resolve
from llmcompiler.runtime.scheduler import Scheduler, TaskStatus
from llmcompiler.runtime.threads import ThreadRunner
from llmcompiler.tools import tool


@tool
async def add(*numbers: int) -> int:
    """Sum of the numbers."""
    return sum(numbers) + 1


async def run_tasks(tasks, tools, **kwargs):
    log = ev.EventLog()
    async with TaskGroup() as group:
        scheduler = Scheduler({t.name: t for t in tools}, group=group, log=log, **kwargs)
        for task in tasks:
            scheduler.submit(task, 1)
        await scheduler.drained()
    return scheduler, log


def test_resolve_keeps_types_and_formats_strings():
    results = {1: Resolved([1, 2], "[1, 2]"), 2: Resolved(7, "7")}
    value = {"a": Ref(1), "b": ["x $2 y", ("${1}",)], Ref(2): {Ref(2)}}
    # a raw string is formatted; the parser turns a lone "${1}" into Ref(1) before this
    assert resolve(value, results) == {"a": [1, 2], "b": ["x 7 y", ("[1, 2]",)], 7: {7}}
    assert resolve("$1$2", results) == "[1, 2]7"
    assert resolve("no refs: $", results) == "no refs: $"


async def test_large_random_dag_runs_every_task_once_in_dependency_order():
    rng = random.Random(7)
    tasks = []
    for idx in range(1, 2001):
        deps = sorted(rng.sample(range(1, idx), k=min(idx - 1, rng.randint(0, 3))))
        tasks.append(Task(idx, "add", tuple(Ref(d) for d in deps), {}, tuple(deps)))
    scheduler, log = await run_tasks(tasks, [add])
    expected: dict[int, int] = {}
    for task in tasks:
        expected[task.idx] = sum(expected[d] for d in task.deps) + 1
    assert {i: r.result for i, r in scheduler.records.items()} == expected
    started = {e.idx: e.t for e in log.events if isinstance(e, ev.TaskStarted)}
    finished = {e.idx: e.t for e in log.events if isinstance(e, ev.TaskFinished)}
    assert len(started) == len(finished) == 2000
    for task in tasks:
        for dep in task.deps:
            assert finished[dep] <= started[task.idx]


async def test_long_failure_chain_is_skipped_without_recursion():
    @tool
    def boom() -> int:
        """Fails."""
        raise ValueError("boom")

    tasks = [Task(1, "boom")] + [Task(i, "add", (Ref(i - 1),), {}, (i - 1,)) for i in range(2, 5002)]
    scheduler, log = await run_tasks(tasks, [add, boom])
    assert scheduler.records[1].status is TaskStatus.FAILED
    assert all(scheduler.records[i].status is TaskStatus.SKIPPED for i in range(2, 5002))
    assert scheduler.records[5001].observation == "skipped: $5000 failed"
    assert sum(isinstance(e, ev.TaskSkipped) for e in log.events) == 5000


async def test_task_waiting_on_two_deps_is_skipped_once_when_one_fails():
    gate = asyncio.Event()

    @tool
    async def slow_ok() -> int:
        """Waits for the gate."""
        await gate.wait()
        return 1

    @tool
    def fails() -> int:
        """Fails."""
        raise RuntimeError("no")

    async def release_later():
        await asyncio.sleep(0.01)
        gate.set()

    tasks = [Task(1, "slow_ok"), Task(2, "fails"), Task(3, "add", (Ref(1), Ref(2)), {}, (1, 2))]
    async with TaskGroup() as group:
        group.create_task(release_later())
        log = ev.EventLog()
        scheduler = Scheduler({"slow_ok": slow_ok, "fails": fails, "add": add}, group=group, log=log)
        for task in tasks:
            scheduler.submit(task, 1)
        await scheduler.drained()
    assert scheduler.records[3].status is TaskStatus.SKIPPED
    assert scheduler.records[3].observation == "skipped: $2 failed"
    assert scheduler.records[1].status is TaskStatus.DONE
    assert [e.idx for e in log.events if isinstance(e, ev.TaskSkipped)] == [3]


async def test_plan_errors_and_duplicate_ids_are_recorded_not_lost():
    parser = PlanParser(["add"])
    tasks = parser.feed("1. add()\n1. add()\n2. missing()\n3. add($2)\n4. join()\n")
    scheduler, _ = await run_tasks(tasks, [add])
    assert scheduler.records[1].status is TaskStatus.DONE
    assert [r.observation for r in scheduler.rejected] == ["ERROR: PlanError: duplicate task id 1"]
    assert scheduler.records[2].observation.startswith("ERROR: PlanError: unknown tool 'missing'")
    assert scheduler.records[3].observation == "skipped: $2 failed"
    assert 4 not in scheduler.records  # join() is a marker, not a call


async def test_drained_waits_for_tasks_submitted_later():
    log = ev.EventLog()
    async with TaskGroup() as group:
        scheduler = Scheduler({"add": add}, group=group, log=log)
        await scheduler.drained()  # nothing submitted: returns at once
        scheduler.submit(Task(1, "add", (5,)), 1)
        await scheduler.drained()
        assert scheduler.records[1].result == 6
        scheduler.submit(Task(2, "add", (Ref(1),), {}, (1,)), 2)
        await scheduler.drained()
    assert scheduler.records[2].result == 7


async def test_thread_runner_grows_past_default_executor_and_propagates_errors():
    runner = ThreadRunner(max_workers=16)
    barrier = threading.Barrier(12, timeout=10)

    def meet() -> str:
        barrier.wait()  # only returns if all twelve calls run at the same time
        return threading.current_thread().name

    names = await asyncio.gather(*(runner.run(meet) for _ in range(12)))
    assert len(set(names)) == 12 and all(n.startswith("llmcompiler-tool") for n in names)
    with pytest.raises(ZeroDivisionError):
        await runner.run(lambda: 1 / 0)
    # idle workers are reused rather than new ones started
    again = await asyncio.gather(*(runner.run(threading.current_thread) for _ in range(4)))
    assert {t.name for t in again} <= set(names)


async def test_thread_runner_saturated_queue_drains():
    runner = ThreadRunner(max_workers=2)
    results = await asyncio.gather(*(runner.run(pow, i, 2) for i in range(50)))
    assert results == [i * i for i in range(50)]


async def test_many_tasks_ready_at_once_start_in_order_and_all_finish():
    from llmcompiler.runtime.scheduler import START_SLICE

    n = START_SLICE * 4 + 3
    parser = PlanParser(["add"])
    tasks = parser.feed("\n".join(f"{i}. add({i})" for i in range(1, n + 1))) + parser.close()
    scheduler, log = await run_tasks(tasks, [add])
    assert [r.status for r in scheduler.ordered()] == [TaskStatus.DONE] * n
    assert [r.result for r in scheduler.ordered()] == [i + 1 for i in range(1, n + 1)]
    assert [e.idx for e in log.events if isinstance(e, ev.TaskStarted)] == list(range(1, n + 1))


async def test_no_loop_iteration_starts_more_than_a_slice():
    """A chain (one start per iteration, the budget's count spanning iterations) then 600
    tasks released at once: no iteration of the event loop starts more than START_SLICE,
    and every task runs, in order, with its result."""
    from llmcompiler.runtime.scheduler import START_SLICE

    loop = asyncio.get_running_loop()
    iteration = 0
    running = True

    def tick() -> None:  # runs once per iteration of the loop: counts them
        nonlocal iteration
        iteration += 1
        if running:
            loop.call_soon(tick)

    started: list[int] = []

    async def step(*inputs: int) -> int:
        started.append(iteration)
        return len(inputs)

    chain = 200
    lines = ["1. step()"] + [f"{i}. step(${i - 1})" for i in range(2, chain + 1)]
    lines += [f"{i}. step(${chain})" for i in range(chain + 1, chain + 601)]
    parser = PlanParser(["step"])
    tasks = parser.feed("\n".join(lines)) + parser.close()
    loop.call_soon(tick)
    try:
        scheduler, log = await run_tasks(tasks, [tool(step)])
    finally:
        running = False
    per_iteration: dict[int, int] = {}
    for at in started:
        per_iteration[at] = per_iteration.get(at, 0) + 1
    assert len(started) == chain + 600
    assert max(per_iteration.values()) <= START_SLICE
    assert [r.status for r in scheduler.ordered()] == [TaskStatus.DONE] * (chain + 600)
    assert [e.idx for e in log.events if isinstance(e, ev.TaskStarted)][:chain] == list(range(1, chain + 1))


async def test_stop_ends_tasks_still_waiting_for_a_slice():
    from llmcompiler.runtime.scheduler import START_SLICE

    n = START_SLICE * 3
    parser = PlanParser(["add"])
    tasks = parser.feed("\n".join(f"{i}. add({i})" for i in range(1, n + 1))) + parser.close()
    log = ev.EventLog()
    scheduler = None
    try:
        async with TaskGroup() as group:
            scheduler = Scheduler({"add": add}, group=group, log=log)
            for task in tasks:
                scheduler.submit(task, 1)
            raise KeyboardInterrupt  # before the loop turns: nothing has run, most wait for a slice
    except BaseException:  # (an exception group on 3.11, the exception itself with the backport)
        pass
    assert scheduler is not None
    scheduler.stop("the run stopped")
    records = scheduler.ordered()
    assert all(r.status.finished for r in records)
    skipped = [r for r in records if r.status is TaskStatus.SKIPPED]
    assert len(skipped) == n and skipped[-1].observation == "skipped: the run stopped before the task could start"
