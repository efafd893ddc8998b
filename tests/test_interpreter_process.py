"""The subprocess backend against real interpreter processes: each fault ends its cell, the next works."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.code.executor import CellStatus, InterpreterConfig
from llmcompiler.code.process import SubprocessExecutor
from llmcompiler.code.workspace import Workspace
from llmcompiler.exceptions import InterpreterError, KernelUnavailableError

CONFIG = InterpreterConfig(backend="subprocess", timeout=20, max_output_chars=2_000, memory_limit_mb=512)


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


@pytest.fixture
async def executor(tmp_path: Path):
    async with SubprocessExecutor(CONFIG, Workspace(tmp_path / "ws")) as running:
        yield running


async def test_a_cell_prints_and_raises(executor: SubprocessExecutor) -> None:
    result = await executor.run("print(6 * 7)")
    assert (result.status, result.output, result.error, result.files) == (CellStatus.OK, "42\n", None, ())
    failed = await executor.run("x = 1\n1 / 0")
    assert failed.status is CellStatus.ERROR
    assert (
        failed.error is not None and 'File "<cell 2>", line 2' in failed.error and "ZeroDivisionError" in failed.error
    )
    exited = await executor.run("import sys; print('bye'); sys.exit(3)")
    assert exited.status is CellStatus.ERROR and exited.error == "the process exited with status 3"
    assert (await executor.run("print(x)")).status is CellStatus.ERROR  # no namespace survives a cell


async def test_an_infinite_loop_times_out_and_the_next_cell_works(executor: SubprocessExecutor) -> None:
    result = await executor.run("while True:\n    pass", timeout=1)
    assert result.status is CellStatus.TIMEOUT
    assert result.error is not None and "timeout of 1 s" in result.error and "\n" not in result.error
    assert (await executor.run("print('next')")).output == "next\n"


async def test_a_cell_printing_forever_is_capped_and_stopped(executor: SubprocessExecutor) -> None:
    result = await executor.run("while True:\n    print('spam' * 50)")
    assert result.status is CellStatus.ERROR and result.error is not None and "output cap of 2,000" in result.error
    assert result.cut_chars > 100_000 and f"[... {result.cut_chars:,} characters cut]" in result.output
    assert len(result.output) < 2 * CONFIG.max_output_chars
    assert (await executor.run("print('next')")).output == "next\n"


@pytest.mark.parametrize(
    "bomb", ["x = bytearray(8 * 2**30)", "x = []\nwhile True:\n    x.append(bytearray(2**20))"], ids=["block", "list"]
)
async def test_a_memory_bomb_hits_the_limit(executor: SubprocessExecutor, bomb: str) -> None:
    result = await executor.run(bomb)
    assert result.status in (CellStatus.ERROR, CellStatus.DIED)
    assert result.error is not None and "the memory limit is 512 MB" in result.error
    if result.status is CellStatus.ERROR:
        assert "MemoryError" in result.error
    assert (await executor.run("print('next')")).output == "next\n"


async def test_a_process_killed_from_outside_dies_clearly(executor: SubprocessExecutor) -> None:
    pid_file = executor.workspace.root / "pid"
    running = asyncio.ensure_future(
        executor.run(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(30)")
    )
    pid = int(await wait_for_file(pid_file))
    os.kill(pid, signal.SIGKILL)
    result = await running
    assert result.status is CellStatus.DIED
    assert result.error is not None and "killed by SIGKILL" in result.error
    assert (await executor.run("print('next')")).output == "next\n"


async def test_input_is_a_clear_error(executor: SubprocessExecutor) -> None:
    result = await executor.run("name = input('your name? ')")
    assert result.status is CellStatus.ERROR and result.error is not None
    assert "input() is not available" in result.error


async def test_non_utf8_output_is_replaced(executor: SubprocessExecutor) -> None:
    result = await executor.run("import sys\nsys.stdout.buffer.write(b'\\xff\\xfe ok\\n')\nprint('caf\\u00e9')")
    assert result.status is CellStatus.OK and result.output == "\ufffd\ufffd ok\ncafé\n"


async def test_a_progress_bar_leaves_its_last_state(executor: SubprocessExecutor) -> None:
    result = await executor.run("import sys\nfor i in range(0, 101, 10):\n    sys.stderr.write(f'\\r{i}%')\nprint()")
    assert result.output == "100%\n"


async def test_created_files_and_figures_are_listed(executor: SubprocessExecutor) -> None:
    (executor.workspace.root / "in.txt").write_text("kept")
    code = (
        "open('out.txt', 'w').write('made')\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [1, 4, 9])\n"
        "plt.show()\n"
    )
    result = await executor.run(code)
    assert result.status is CellStatus.OK, result.error
    root = executor.workspace.root
    assert result.files == (root / "out.txt", root / "output-1-1.png")
    assert result.images == (root / "output-1-1.png",)
    assert (root / "output-1-1.png").read_bytes().startswith(b"\x89PNG")
    assert result.observation(root).endswith("created file: out.txt\ncreated file: output-1-1.png")


async def test_no_credential_reaches_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "FOO_TOKEN", "BAR_SECRET"):
        monkeypatch.setenv(name, "do-not-leak")
    async with SubprocessExecutor(CONFIG, Workspace(tmp_path)) as executor:
        result = await executor.run(
            "import os\nprint(sorted(os.environ))\nprint([v for v in os.environ.values() if 'leak' in v])"
        )
    assert result.status is CellStatus.OK
    assert not any(name in result.output for name in ("OPENAI_API_KEY", "FOO_TOKEN", "BAR_SECRET"))
    assert "[]" in result.output and "PATH" in result.output


async def test_two_cells_overlap(executor: SubprocessExecutor) -> None:
    def waits_for(mine: str, other: str) -> str:
        return (
            "import os, time\n"
            f"open({mine!r}, 'w').write('started')\n"
            "for _ in range(1500):\n"
            f"    if os.path.exists({other!r}):\n"
            "        break\n"
            "    time.sleep(0.01)\n"
            "else:\n"
            f"    raise SystemExit('never saw {other}')\n"
            "print('overlapped')\n"
        )

    first, second = await asyncio.gather(
        executor.run(waits_for("a.start", "b.start"), session="a"),
        executor.run(waits_for("b.start", "a.start"), session="b"),
    )
    assert (first.status, second.status) == (CellStatus.OK, CellStatus.OK), (first.error, second.error)


async def test_a_cancelled_run_kills_the_cell_and_its_children(executor: SubprocessExecutor) -> None:
    pid_file = executor.workspace.root / "pids"
    code = (
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pid_file)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(60)\n"
    )
    running = asyncio.ensure_future(executor.run(code))
    pids = [int(p) for p in (await wait_for_file(pid_file)).split()]
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert not alive(pids[0])
    for _ in range(250):  # the orphaned child is reaped by init, not by us
        if not alive(pids[1]):
            break
        await asyncio.sleep(0.02)
    assert not alive(pids[1])


async def test_aclose_stops_running_cells_and_is_idempotent(tmp_path: Path) -> None:
    executor = SubprocessExecutor(CONFIG, Workspace(tmp_path))
    pid_file = tmp_path / "pid"
    running = asyncio.ensure_future(
        executor.run(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)")
    )
    pid = int(await wait_for_file(pid_file))
    await executor.aclose()
    result = await running
    assert result.status is CellStatus.DIED and result.error is not None and "shut down" in result.error
    assert not alive(pid)
    await executor.aclose()
    with pytest.raises(InterpreterError, match="closed"):
        await executor.run("print(1)")


async def test_a_python_without_ipykernel_runs_cells_here(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    config = InterpreterConfig(backend="subprocess", python_interpreter=python, timeout=20)
    async with SubprocessExecutor(config, Workspace(tmp_path / "ws")) as executor:
        result = await executor.run("import sys\nprint(sys.executable)")
    assert result.status is CellStatus.OK and result.output.strip() == python


def test_a_missing_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    config = InterpreterConfig(backend="subprocess", python_interpreter=str(tmp_path / "no" / "python"))
    with pytest.raises(KernelUnavailableError, match="does not exist"):
        SubprocessExecutor(config, Workspace(tmp_path))


async def test_a_reused_workspace_keeps_the_earlier_images(tmp_path: Path) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2])"
    async with SubprocessExecutor(CONFIG, Workspace(tmp_path)) as first:
        earlier = (await first.run(code)).images
    async with SubprocessExecutor(CONFIG, Workspace(tmp_path)) as second:
        later = (await second.run(code)).images
    assert len(earlier) == len(later) == 1 and earlier != later and earlier[0].exists()
