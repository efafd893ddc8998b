"""Tools that run as Ray remote tasks (`@tool(ray=True)`), on the session's local Ray cluster.

The functions that run in Ray workers are defined inside the tests (or made tools with
``@tool`` at module level): cloudpickle then sends them by value, so the workers need not
import this test module. They use only the standard library for the same reason.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from llmcompiler import LLMCompiler, TaskStatus, Tool, tool
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.llm import ScriptedModel

pytest.importorskip("ray")

pytestmark = pytest.mark.usefixtures("ray_cluster")


def finish(answer: str) -> str:
    return f"Thought: I have what I need.\nAction: Finish({answer})"


def compiler(tools, plans, joins, **kwargs) -> LLMCompiler:
    return LLMCompiler(tools=tools, planner=ScriptedModel(plans), joiner=ScriptedModel(joins), **kwargs)


def wait_for(predicate, *, within: float = 30.0) -> bool:
    """Whether `predicate()` became true within `within` seconds (test code only)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@tool(ray=True)
def lookup_price(item: str, quantity: int = 1) -> float:
    """Look up an item's price.

    Args:
        item: the item's name.
        quantity: how many.
    """
    return {"apple": 0.5, "pear": 0.75}[item] * quantity


def lookup_price_local(item: str, quantity: int = 1) -> float:
    """Look up an item's price.

    Args:
        item: the item's name.
        quantity: how many.
    """
    return {"apple": 0.5, "pear": 0.75}[item] * quantity


# -- the tool as the planner sees it -----------------------------------------------------


def test_schema_and_checks_are_those_of_the_function():
    local = Tool.from_function(lookup_price_local, name="lookup_price")
    assert lookup_price.ray and not local.ray
    assert lookup_price.is_async
    assert lookup_price.name == "lookup_price"
    assert lookup_price.prompt_line() == local.prompt_line()
    assert lookup_price.args_schema == local.args_schema
    assert lookup_price.signature == local.signature == "(item: str, quantity: int = 1) -> float"
    assert lookup_price.description == local.description
    with pytest.raises(TypeError) as on_ray:
        lookup_price.bind(["apple"], {"colour": "red"})
    with pytest.raises(TypeError) as here:
        local.bind(["apple"], {"colour": "red"})
    assert str(on_ray.value) == str(here.value)


def test_bad_ray_options_are_one_line_configuration_errors():
    def f(x: int) -> int:
        return x

    with pytest.raises(ConfigurationError, match=r"^tool 'f': bad ray_options: .*num_cpus") as bad:
        Tool.from_function(f, ray=True, ray_options={"num_cpus": "two"})
    assert "\n" not in str(bad.value)
    with pytest.raises(ConfigurationError, match=r"^tool 'f': bad ray_options: Invalid option keyword colour"):
        Tool.from_function(f, ray=True, ray_options={"colour": "red"})
    with pytest.raises(ConfigurationError, match=r"^tool 'f': ray_options may not set num_returns$"):
        Tool.from_function(f, ray=True, ray_options={"num_returns": 2})
    with pytest.raises(ConfigurationError, match=r"^tool 'f': ray_options is given but ray=True is not$"):
        Tool.from_function(f, ray_options={"num_cpus": 1})
    made = Tool.from_function(f, ray=True, ray_options={"num_cpus": 0.5, "memory": 10**8})
    assert made.func.ray_options == {"num_cpus": 0.5, "memory": 10**8}
    assert "ray" in repr(made)


# -- where and how it runs ---------------------------------------------------------------


async def test_runs_in_another_process():
    @tool(ray=True)
    def whose_pid() -> int:
        """The process it runs in."""
        import os

        return os.getpid()

    pid = await whose_pid.func()
    assert isinstance(pid, int) and pid != os.getpid()


async def test_async_function_runs_in_the_worker_too():
    @tool(ray=True)
    async def whose_pid_async(delay: float) -> int:
        """The process it runs in, after a little wait."""
        import asyncio
        import os

        await asyncio.sleep(delay)
        return os.getpid()

    assert whose_pid_async.is_async
    assert whose_pid_async.signature == "(delay: float) -> int"
    pid = await whose_pid_async.func(0.01)
    assert pid != os.getpid()


async def test_end_to_end_run_feeds_a_local_result_to_a_ray_tool():
    @tool
    def count_items(basket: str) -> int:
        """How many items a basket holds."""
        return len(basket.split(","))

    @tool(ray=True)
    def total_price(item: str, quantity: int) -> dict:
        """The price of `quantity` items, and the process that computed it."""
        import os

        return {"price": {"apple": 0.5}[item] * quantity, "pid": os.getpid()}

    plan = '1. count_items("a,b,c,d")\n2. total_price("apple", $1)\n3. join()<END_OF_PLAN>'
    joiner = ScriptedModel([finish("2.0")])
    result = await LLMCompiler(tools=[count_items, total_price], planner=ScriptedModel([plan]), joiner=joiner).ainvoke(
        "what do the apples cost?"
    )
    assert result.error is None and result.answer == "2.0"
    assert result.task(1).result == 4
    assert result.task(2).status is TaskStatus.DONE
    assert result.task(2).result["price"] == 2.0
    assert result.task(2).result["pid"] != os.getpid()
    assert "'price': 2.0" in joiner.calls[0][-1].content


async def test_two_cpu_heavy_calls_of_one_plan_overlap(tmp_path):
    @tool(ray=True)
    def crunch(name: str, other: str, folder: str) -> bool:
        """Hash for a while; True if the other call was seen running meanwhile."""
        import hashlib
        import os
        import time

        open(os.path.join(folder, name), "w").close()
        digest = b""
        deadline = time.monotonic() + 30  # within pytest's 60 s per test
        # CPU-bound work until the other call has started too (or a long deadline): the
        # two only both see each other if they ran at the same time.
        while time.monotonic() < deadline:
            for _ in range(2000):
                digest = hashlib.sha256(digest).digest()
            if os.path.exists(os.path.join(folder, other)):
                return True
        return False

    folder = str(tmp_path)
    plan = (
        f'1. crunch("a", "b", "{folder}")\n2. crunch("b", "a", "{folder}")\n3. join()<END_OF_PLAN>'
    )
    result = await compiler([crunch], [plan], [finish("done")]).ainvoke("q")
    assert result.answer == "done"
    assert result.task(1).result is True and result.task(2).result is True
    # Ordering only: each started before the other finished.
    assert result.task(1).started_at < result.task(2).finished_at
    assert result.task(2).started_at < result.task(1).finished_at


# -- failures ----------------------------------------------------------------------------


async def test_remote_exception_keeps_its_type_and_message():
    @tool(ray=True)
    def fetch(key: str) -> str:
        """Fetch a key."""
        raise ValueError(f"no such key: {key}")

    plan = '1. fetch("bad")\n2. join()<END_OF_PLAN>'
    joiner = ScriptedModel([finish("none")])
    result = await LLMCompiler(tools=[fetch], planner=ScriptedModel([plan]), joiner=joiner).ainvoke("q")
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).observation == "ERROR: ValueError: no such key: bad"
    assert "Observation: ERROR: ValueError: no such key: bad" in joiner.calls[0][-1].content
    with pytest.raises(ValueError, match="^no such key: x$") as raised:
        await fetch.func("x")
    assert type(raised.value) is ValueError


async def test_exception_that_cannot_be_rebuilt_is_one_line():
    @tool(ray=True)
    def odd() -> str:
        """Raises an exception Ray cannot rebuild on the driver."""

        class Odd(Exception):
            def __init__(self, a, b):
                super().__init__(f"{a}/{b}")

        raise Odd(1, 2)

    result = await compiler([odd], ["1. odd()\n2. join()<END_OF_PLAN>"], [finish("x")]).ainvoke("q")
    observation = result.task(1).observation
    assert observation.startswith("ERROR: ToolError: odd raised an exception that cannot be sent back from the Ray")
    assert "1/2" in observation and "\n" not in observation


async def test_unpicklable_result_is_a_clear_failure():
    @tool(ray=True)
    def make_lock() -> object:
        """Returns something that cannot be pickled."""
        import threading

        return threading.Lock()

    result = await compiler([make_lock], ["1. make_lock()\n2. join()<END_OF_PLAN>"], [finish("x")]).ainvoke("q")
    assert result.task(1).status is TaskStatus.FAILED
    assert result.task(1).observation == (
        "ERROR: ToolError: make_lock returned a lock, which cannot be sent back from the Ray worker "
        "(results must be picklable): TypeError: cannot pickle '_thread.lock' object"
    )


async def test_worker_that_dies_is_a_failed_attempt_and_retries_apply(tmp_path):
    marker = str(tmp_path / "crashed-once")

    @tool(ray=True, retries=1)
    def fragile(marker: str) -> str:
        """Kills its worker the first time."""
        import os

        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return "survived"

    result = await compiler([fragile], [f'1. fragile("{marker}")\n2. join()<END_OF_PLAN>'], [finish("x")]).ainvoke("q")
    assert result.task(1).status is TaskStatus.DONE
    assert (result.task(1).result, result.task(1).attempts) == ("survived", 2)
    assert result.task(1).retry_error.startswith("ERROR: ToolError: the Ray worker running fragile died")

    os.remove(marker)

    @tool(ray=True)
    def fragile_once(marker: str) -> str:
        """Kills its worker the first time; no retries."""
        import os

        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return "survived"

    with pytest.raises(Exception, match="^the Ray worker running fragile_once died"):
        await fragile_once.func(marker)


# -- cancellation: nothing keeps running -------------------------------------------------


async def test_tool_timeout_cancels_the_remote_task(tmp_path):
    @tool(ray=True, timeout=3)
    def stubborn(folder: str) -> str:
        """Sleeps, ignoring KeyboardInterrupt, then writes a file."""
        import os
        import time

        with open(os.path.join(folder, "pid"), "w") as f:
            f.write(str(os.getpid()))
        for _ in range(2):
            try:
                time.sleep(2)
            except BaseException:  # a polite cancellation (KeyboardInterrupt) is ignored: force=False would not stop it
                pass
        open(os.path.join(folder, "finished"), "w").close()
        return "finished"

    # Earlier tests killed workers: make sure one is up, so the call starts well within its timeout.
    assert await lookup_price.func("pear") == 0.75
    started = time.monotonic()
    result = await compiler([stubborn], [f'1. stubborn("{tmp_path}")\n2. join()<END_OF_PLAN>'], [finish("x")]).ainvoke(
        "q"
    )
    assert result.task(1).observation == "ERROR: ToolTimeoutError: stubborn timed out after 3s"
    pid = int((tmp_path / "pid").read_text())
    # The worker process was killed (force=True), not merely interrupted.
    assert await asyncio.to_thread(wait_for, lambda: process_gone(pid))
    # Generously past the moment it would have written the file (4 s after it began).
    await asyncio.sleep(max(0.0, started + 6.0 - time.monotonic()))
    assert not (tmp_path / "finished").exists()


async def test_cancelling_the_run_cancels_the_remote_task(tmp_path):
    @tool(ray=True)
    def long_job(folder: str) -> str:
        """Writes its pid, sleeps, then writes a file."""
        import os
        import time

        with open(os.path.join(folder, "pid"), "w") as f:
            f.write(str(os.getpid()))
        time.sleep(3)
        open(os.path.join(folder, "finished"), "w").close()
        return "finished"

    agent = compiler([long_job], [f'1. long_job("{tmp_path}")\n2. join()<END_OF_PLAN>'], [finish("x")])
    started = time.monotonic()
    run = asyncio.ensure_future(agent.ainvoke("q"))
    try:
        assert await asyncio.to_thread(wait_for, (tmp_path / "pid").exists)
        await asyncio.sleep(0.2)  # the pid file is written before it is filled
    finally:
        run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    pid = int((tmp_path / "pid").read_text())
    assert await asyncio.to_thread(wait_for, lambda: process_gone(pid))
    await asyncio.sleep(max(0.0, started + 5.0 - time.monotonic()))
    assert not (tmp_path / "finished").exists()


# -- without a Ray cluster, or without Ray -----------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )


def test_missing_ray_is_one_line_at_decoration():
    done = _python(
        """
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed
        from llmcompiler import tool
        from llmcompiler.exceptions import ConfigurationError
        def plain(x: int) -> int:
            return x
        tool(plain)  # tools that do not ask for Ray do not need it
        try:
            @tool(ray=True)
            def crunch(x: int) -> int:
                return x
        except ConfigurationError as exc:
            print(exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'tool \'crunch\': ray=True needs Ray: pip install "llmcompiler[ray]"\n'


def test_without_ray_init_a_call_fails_clearly_and_nothing_starts_ray():
    done = _python(
        """
        import asyncio
        import ray
        from llmcompiler import LLMCompiler, tool
        from llmcompiler.llm import ScriptedModel

        @tool(ray=True)
        def crunch(x: int) -> int:
            return x

        assert not ray.is_initialized()  # making the tool did not start or join Ray
        plan = "1. crunch(1)\\n2. join()<END_OF_PLAN>"
        agent = LLMCompiler(tools=[crunch], planner=ScriptedModel([plan]),
                            joiner=ScriptedModel(["Action: Finish(x)"]))
        result = asyncio.run(agent.ainvoke("q"))
        print(result.task(1).observation)
        print(ray.is_initialized())
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "ERROR: ToolError: crunch runs on Ray, but Ray is not initialised in this process: "
        "call ray.init() (or ray.init(address=...)) before the run",
        "False",
    ]


# -- ray_options reach Ray ---------------------------------------------------------------


async def test_ray_options_reach_the_task():
    @tool(ray=True, ray_options={"runtime_env": {"env_vars": {"LLMCOMPILER_RAY_TOOL": "set by ray_options"}}})
    def read_env() -> str:
        """The environment variable the options set."""
        import os

        return os.environ.get("LLMCOMPILER_RAY_TOOL", "missing")

    assert await read_env.func() == "set by ray_options"


async def test_a_task_ray_cannot_schedule_ends_at_the_tool_timeout():
    @tool(ray=True, timeout=1.0, ray_options={"resources": {"llmcompiler_no_such_resource": 1}})
    def never_scheduled() -> str:
        """Asks for a resource no node has."""
        return "ran"

    result = await compiler([never_scheduled], ["1. never_scheduled()\n2. join()<END_OF_PLAN>"], [finish("x")]).ainvoke(
        "q"
    )
    assert result.task(1).observation == "ERROR: ToolTimeoutError: never_scheduled timed out after 1s"
