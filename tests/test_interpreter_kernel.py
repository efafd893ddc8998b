"""The Jupyter backend against real ipykernels: each fault ends its cell and the next cell works.

Kernels cost a second or two each on this machine, so one executor (and its pool) serves the
module; tests that break a kernel use the `faults` session, which gets a fresh one after.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio

from llmcompiler.code import kernel as kernel_module
from llmcompiler.code import make_executor
from llmcompiler.code.executor import CellStatus, InterpreterConfig
from llmcompiler.code.kernel import JupyterExecutor
from llmcompiler.code.workspace import Workspace
from llmcompiler.exceptions import InterpreterError, KernelUnavailableError

pytest.importorskip("ipykernel")
pytestmark = pytest.mark.asyncio(loop_scope="module")

CONFIG = InterpreterConfig(backend="jupyter", timeout=20, max_output_chars=2_000, memory_limit_mb=1536, pool_size=2)
CREDENTIALS = ("OPENAI_API_KEY", "FOO_TOKEN", "BAR_SECRET")


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (a killed child may linger as one until reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def wait_for_file(path: Path, *, seconds: float = 15) -> str:
    """The file's text once a cell has written it (bounded: the test fails instead of hanging)."""
    for _ in range(int(seconds / 0.02)):
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} was never written")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def executor(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIALS:
            patch.setenv(name, "do-not-leak")
        running = make_executor(CONFIG, Workspace(tmp_path_factory.mktemp("kernel-ws")))
    assert isinstance(running, JupyterExecutor)
    async with running:
        yield running


async def test_a_session_keeps_its_namespace_and_sessions_are_isolated(executor: JupyterExecutor) -> None:
    assert (await executor.run("x = 6 * 7", session="a")).ok
    shown = await executor.run("print(x)\nx + 1", session="a")
    assert (shown.status, shown.output) == (CellStatus.OK, "42\n43\n")
    other = await executor.run("print(x)", session="b")
    assert other.status is CellStatus.ERROR and other.error is not None
    assert "NameError" in other.error and "\x1b[" not in other.error


async def test_no_credential_reaches_the_kernel(executor: JupyterExecutor) -> None:
    result = await executor.run(
        "import os\nprint(sorted(os.environ))\nprint([v for v in os.environ.values() if 'leak' in v])", session="b"
    )
    assert result.status is CellStatus.OK
    assert not any(name in result.output for name in CREDENTIALS) and "PATH" in result.output and "[]" in result.output


async def test_two_sessions_run_at_the_same_time(executor: JupyterExecutor) -> None:
    def waits_for(mine: str, other: str) -> str:
        return (
            "import os, time\n"
            f"open({mine!r}, 'w').write('started')\n"
            "for _ in range(1500):\n"
            f"    if os.path.exists({other!r}):\n"
            "        break\n"
            "    time.sleep(0.01)\n"
            "else:\n"
            f"    raise RuntimeError('never saw {other}')\n"
            "print('overlapped')\n"
        )

    first, second = await asyncio.gather(
        executor.run(waits_for("a.start", "b.start"), session="a"),
        executor.run(waits_for("b.start", "a.start"), session="b"),
    )
    assert (first.status, second.status) == (CellStatus.OK, CellStatus.OK), (first.error, second.error)


async def test_an_infinite_loop_is_interrupted_and_the_namespace_survives(executor: JupyterExecutor) -> None:
    result = await executor.run("while True:\n    pass", session="a", timeout=1)
    assert result.status is CellStatus.TIMEOUT
    assert result.error is not None and "timeout of 1 s" in result.error and "\n" not in result.error
    assert (await executor.run("print(x)", session="a")).output == "42\n"


async def test_a_cell_printing_forever_is_capped_and_stopped(executor: JupyterExecutor) -> None:
    result = await executor.run("while True:\n    print('spam' * 50)", session="a")
    assert result.status is CellStatus.ERROR and result.error is not None and "output cap of 2,000" in result.error
    assert result.cut_chars > 100_000 and f"[... {result.cut_chars:,} characters cut]" in result.output
    assert len(result.output) < 2 * CONFIG.max_output_chars
    assert (await executor.run("print(x)", session="a")).output == "42\n"


async def test_input_is_a_clear_error(executor: JupyterExecutor) -> None:
    result = await executor.run("name = input('your name? ')", session="a", timeout=10)
    assert result.status is CellStatus.ERROR and result.error is not None
    assert "input() is not available" in result.error


async def test_non_utf8_output_is_replaced(executor: JupyterExecutor) -> None:
    result = await executor.run(
        "import sys\n_ = sys.stdout.buffer.write(b'\\xff\\xfe ok\\n')\nprint('caf\\u00e9')", session="a"
    )
    assert result.status is CellStatus.OK and result.output == "\ufffd\ufffd ok\ncafé\n"


async def test_created_files_and_plots_are_listed(executor: JupyterExecutor) -> None:
    code = (
        "open('made.txt', 'w').write('made')\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [1, 4, 9])\n"
        "plt.show()\n"
    )
    result = await executor.run(code, session="b")
    assert result.status is CellStatus.OK, result.error
    root = executor.workspace.root
    assert len(result.images) == 1 and result.images[0].suffix == ".png" and result.images[0].parent == root
    assert result.images[0].read_bytes().startswith(b"\x89PNG")
    assert set(result.files) == {root / "made.txt", result.images[0]}
    assert "<Figure" not in result.output


@pytest.mark.parametrize(
    "bomb",
    ["big = bytearray(8 * 2**30)", "big = []\nwhile True:\n    big.append(bytearray(2**20))"],
    ids=["block", "list"],
)
async def test_a_memory_bomb_hits_the_limit(executor: JupyterExecutor, bomb: str) -> None:
    result = await executor.run(bomb, session="faults")
    assert result.status in (CellStatus.ERROR, CellStatus.DIED)
    assert result.error is not None and "the memory limit is 1536 MB" in result.error
    if result.status is CellStatus.ERROR:
        assert "MemoryError" in result.error
    await executor.run("big = None", session="faults")
    assert (await executor.run("print('next')", session="faults")).output.endswith("next\n")


async def test_a_kernel_killed_mid_cell_dies_clearly_and_the_next_cell_gets_a_new_one(
    executor: JupyterExecutor,
) -> None:
    assert (await executor.run("y = 1", session="faults")).ok
    marker = executor.workspace.root / "killed.start"
    running = asyncio.ensure_future(
        executor.run(f"import time\nopen({str(marker)!r}, 'w').write('go')\ntime.sleep(30)", session="faults")
    )
    await wait_for_file(marker)
    pid = executor.kernel_pids["faults"]
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    result = await running
    assert result.status is CellStatus.DIED and result.error is not None
    assert "killed by SIGKILL" in result.error and "gone" in result.error
    after = await executor.run("print(y)", session="faults")
    assert after.status is CellStatus.ERROR and "NameError" in (after.error or "")
    assert "a new kernel" in after.output and executor.kernel_pids["faults"] != pid


async def test_a_kernel_ignoring_interrupts_is_restarted(
    executor: JupyterExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kernel_module, "INTERRUPT_GRACE", 1.0)
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)"
    result = await executor.run(code, session="faults", timeout=1)
    assert result.status is CellStatus.TIMEOUT and result.error is not None and "restarted" in result.error
    after = await executor.run("print('fresh')", session="faults")
    assert after.ok and after.output.endswith("fresh\n") and "a new kernel" in after.output


async def test_a_cancelled_run_interrupts_its_cell(executor: JupyterExecutor) -> None:
    marker = executor.workspace.root / "cancel.start"
    running = asyncio.ensure_future(
        executor.run(f"import time\nopen({str(marker)!r}, 'w').write('go')\ntime.sleep(60)", session="b")
    )
    await wait_for_file(marker)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    # had the sleep gone on, this cell would wait behind it past its timeout
    assert (await executor.run("print('after')", session="b", timeout=10)).output == "after\n"


async def test_aclose_leaves_no_kernel_or_child_alive(tmp_path: Path) -> None:
    executor = JupyterExecutor(InterpreterConfig(pool_size=1, timeout=20), Workspace(tmp_path))
    pid_file = tmp_path / "child.pid"
    code = f"import subprocess\nchild = subprocess.Popen(['sleep', '60'])\nopen({str(pid_file)!r}, 'w').write(str(child.pid))"
    assert (await executor.run(code, session="s")).ok
    marker = tmp_path / "sleeping.start"
    sleeping = asyncio.ensure_future(
        executor.run(f"import time\nopen({str(marker)!r}, 'w').write('go')\ntime.sleep(60)", session="t")
    )
    await wait_for_file(marker)
    pids = [p for p in (*executor.kernel_pids.values(), *executor.warm_pids) if p is not None]
    child = int(pid_file.read_text())
    assert len(pids) >= 2 and all(alive(p) for p in pids)
    await executor.aclose()
    stopped = await sleeping
    assert stopped.status is CellStatus.DIED and "shut down" in (stopped.error or "")
    for pid in [*pids, child]:
        for _ in range(250):  # an orphaned child is reaped by init, not by us
            if not alive(pid):
                break
            await asyncio.sleep(0.02)
        assert not alive(pid), pid
    await executor.aclose()
    with pytest.raises(InterpreterError, match="closed"):
        await executor.run("print(1)")


async def test_a_python_without_ipykernel_is_refused_with_the_pip_command(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str((venv / "bin" / "python").absolute())
    with pytest.raises(KernelUnavailableError) as caught:
        JupyterExecutor(InterpreterConfig(python_interpreter=python), Workspace(tmp_path / "ws"))
    assert f"ipykernel is not installed in {python}: {python} -m pip install ipykernel" in str(caught.value)
    with pytest.raises(KernelUnavailableError, match="does not exist"):
        JupyterExecutor(
            InterpreterConfig(python_interpreter=str(tmp_path / "none" / "python")), Workspace(tmp_path / "ws")
        )
