"""The subprocess backend: every cell is a `.py` file run by a fresh interpreter, no Jupyter needed.

    executor = SubprocessExecutor(InterpreterConfig(backend="subprocess"), Workspace())
    result = await executor.run("print(6 * 7)")        # CellResult(status=ok, output="42\\n")

No state survives a cell (`session` is accepted and ignored). Each cell runs with its cwd in
the workspace, stdin closed and `input()` raising, the scrubbed environment, the config's
resource limits, in a process group of its own: a timeout, a cancelled run or `aclose` kill
the whole group, children included. Output (stdout and stderr, in the order written) is read
as it comes and capped; a cell that keeps printing far past the cap is stopped. Matplotlib
figures still open when the cell ends are saved as `output-N-K.png` in the workspace.
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
import os
import signal
import time
from pathlib import Path

from llmcompiler._compat import TaskGroup
from llmcompiler._compat import timeout as deadline
from llmcompiler.code.environment import check_interpreter, limit_resources, scrubbed_environ
from llmcompiler.code.executor import (
    CappedOutput,
    CellResult,
    CellStatus,
    InterpreterConfig,
    clean_output,
    strip_ansi,
)
from llmcompiler.code.workspace import Workspace
from llmcompiler.exceptions import InterpreterError, KernelUnavailableError

_READ_CHUNK = 64 * 1024
INPUT_DISABLED = (
    "input() is not available: the code runs with no user at a terminal to answer; put the value in the code instead"
)

# Runs in the child as `python -c`: so sys.path[0] is the workspace (cwd), and the cell's
# traceback starts at the cell's own frame, named <cell N>, with its source lines.
_LAUNCHER = """\
import builtins, linecache, sys, traceback, warnings
def _no_input(prompt=""):
    raise RuntimeError(INPUT_DISABLED)
builtins.input = _no_input
warnings.filterwarnings("ignore", message=".*non-interactive.*")
_cell, _errors, _images, _name = sys.argv[1:5]
sys.argv = [_name]
with open(_cell, encoding="utf-8") as _f:
    _source = _f.read()
linecache.cache[_name] = (len(_source), None, _source.splitlines(True), _name)
_namespace = {"__name__": "__main__", "__builtins__": builtins}
_status = 0
try:
    exec(compile(_source, _name, "exec"), _namespace)
except SystemExit:
    raise
except BaseException as _e:
    if isinstance(_e, MemoryError):
        _namespace.clear()  # the objects that filled memory, so the traceback can be written
    _report = traceback.TracebackException(type(_e), _e, _e.__traceback__.tb_next)
    # this launcher's own frames (input() disabled) are noise to the reader
    _report.stack = traceback.StackSummary.from_list([_s for _s in _report.stack if _s.filename != "<string>"])
    with open(_errors, "w", encoding="utf-8", errors="backslashreplace") as _f:
        _f.write("".join(_report.format()))
    _status = 1
_plt = sys.modules.get("matplotlib.pyplot")
if _plt is not None:
    for _k, _number in enumerate(_plt.get_fignums(), 1):
        _plt.figure(_number).savefig(f"{_images}-{_k}.png")
sys.exit(_status)
""".replace("INPUT_DISABLED", repr(INPUT_DISABLED))


class SubprocessExecutor:
    """See the module docstring; `CodeExecutor` for the interface."""

    name = "subprocess"

    def __init__(self, config: InterpreterConfig, workspace: Workspace) -> None:
        self.config = config
        self.workspace = workspace
        self.python = check_interpreter(config.python_interpreter)
        self._env = scrubbed_environ()
        self._preexec = limit_resources(config)
        self._cells = itertools.count(workspace.next_cell_number())
        self._running: set[asyncio.subprocess.Process] = set()
        self._closed = False

    async def __aenter__(self) -> SubprocessExecutor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def run(self, code: str, *, session: str = "default", timeout: float | None = None) -> CellResult:
        if self._closed:
            raise InterpreterError("this executor is closed")
        limit = self.config.timeout if timeout is None else timeout
        number = next(self._cells)
        cells = self.workspace.hidden("cells")
        source = cells / f"cell-{number}.py"
        errors = cells / f"cell-{number}.error"
        source.write_text(code, encoding="utf-8")
        errors.unlink(missing_ok=True)
        before = self.workspace.snapshot()
        started = time.monotonic()
        process = await self._start(source, errors, number)
        self._running.add(process)
        output = CappedOutput(self.config.max_output_chars)
        outcome = _Outcome()
        try:
            await self._follow(process, output, outcome, limit)
        finally:
            self._running.discard(process)
            if process.returncode is None:  # cancelled: the cell must not outlive its run
                _kill_group(process)
                await asyncio.shield(process.wait())
            _kill_group(process)  # children it left behind
        files = self.workspace.changed_since(before)
        images = tuple(p for p in files if p.parent == self.workspace.root and p.name.startswith(f"output-{number}-"))
        status, error = self._classify(process, outcome, errors, limit, output)
        return CellResult(
            status=status,
            output=clean_output(output.text()),
            error=error,
            files=files,
            cut_chars=output.cut_chars,
            duration=time.monotonic() - started,
            images=images,
        )

    async def release(self, session: str) -> None:
        """Nothing to do: no state outlives a cell here."""

    async def aclose(self) -> None:
        self._closed = True
        running = list(self._running)
        for process in running:
            _kill_group(process)
        for process in running:
            await process.wait()

    async def _start(self, source: Path, errors: Path, number: int) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                self.python,
                "-c",
                _LAUNCHER,
                str(source),
                str(errors),
                str(self.workspace.root / f"output-{number}"),
                f"<cell {number}>",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.workspace.root,
                env=self._env,
                preexec_fn=self._preexec,
                start_new_session=True,
            )
        except OSError as problem:
            raise KernelUnavailableError(f"cannot start {self.python}: {problem.strerror or problem}") from None

    async def _follow(
        self, process: asyncio.subprocess.Process, output: CappedOutput, outcome: _Outcome, limit: float
    ) -> None:
        """Read the output until the process ends, the deadline passes, or it prints far too much."""
        runaway = output.limit + max(10 * output.limit, 1_000_000)
        assert process.stdout is not None
        stream = process.stdout
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        async def read() -> None:
            while chunk := await stream.read(_READ_CHUNK):
                output.add(decoder.decode(chunk))
                if output.total > runaway and not outcome.runaway:
                    outcome.runaway = True
                    _kill_group(process)
            output.add(decoder.decode(b"", final=True))

        try:
            async with deadline(limit):
                async with TaskGroup() as group:
                    group.create_task(read())
                    await process.wait()
                    # a child still holding the pipe would keep the reader waiting
                    _kill_group(process)
        except TimeoutError:
            outcome.timed_out = True
            _kill_group(process)
            await process.wait()

    def _classify(
        self, process: asyncio.subprocess.Process, outcome: _Outcome, errors: Path, limit: float, output: CappedOutput
    ) -> tuple[CellStatus, str | None]:
        code = process.returncode
        if outcome.timed_out:
            return CellStatus.TIMEOUT, f"timed out: the cell ran past its timeout of {limit:g} s and was killed"
        if outcome.runaway:
            return CellStatus.ERROR, (
                f"stopped: the cell printed {output.total:,} characters, far past the output cap of "
                f"{output.limit:,}; print less (a summary, the head of a table)"
            )
        if self._closed and code is not None and code < 0:
            return CellStatus.DIED, "the interpreter was shut down while the cell ran"
        if code is not None and code < 0:
            killer = signal_name(-code)
            return CellStatus.DIED, f"the Python process running the cell was killed by {killer}{self._memory_hint()}"
        if errors.exists():
            traceback = strip_ansi(errors.read_text(encoding="utf-8", errors="replace"))
            if "MemoryError" in traceback.rstrip().rsplit("\n", 1)[-1] and self.config.memory_limit_mb is not None:
                traceback = traceback.rstrip("\n") + f"\n(the memory limit is {self.config.memory_limit_mb} MB)\n"
            return CellStatus.ERROR, traceback
        if code:
            return CellStatus.ERROR, f"the process exited with status {code}"
        return CellStatus.OK, None

    def _memory_hint(self) -> str:
        if self.config.memory_limit_mb is None:
            return ""
        return f" (out of memory? the memory limit is {self.config.memory_limit_mb} MB)"


class _Outcome:
    """How a cell's process was stopped, if we stopped it."""

    __slots__ = ("runaway", "timed_out")

    def __init__(self) -> None:
        self.timed_out = False
        self.runaway = False


def _kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the cell's process group (the cell and every child it started)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} (signal {number})"
    except ValueError:
        return f"signal {number}"
