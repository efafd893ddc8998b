"""The Jupyter backend: a pool of warm ipykernels, one kernel per session (its namespace persists).

    async with JupyterExecutor(InterpreterConfig(pool_size=2), Workspace()) as executor:
        await executor.run("x = 6 * 7", session="a")
        (await executor.run("print(x)", session="a")).output      # "42\\n"
        (await executor.run("print(x)", session="b")).status      # error: another kernel

Kernels run the configured interpreter as `PYTHON -m ipykernel_launcher -f CONNECTION_FILE`
(no kernelspec is consulted), with cwd = the workspace, the scrubbed environment, the config's
resource limits and the inline matplotlib backend, so `plt.show()` gives an image/png display
that is written to `output-N-K.png` in the workspace. `pool_size` kernels are started ahead;
a session takes the oldest and another one is started in its place.

A cell is read from the kernel's iopub messages for its msg_id until `status: idle`. At its
timeout the kernel is interrupted (a KeyboardInterrupt in the cell); one that does not go
idle soon after is killed and the session gets a fresh kernel on its next cell. A kernel that
dies mid-cell (killed from outside, out of memory) ends the cell as `died`; the session's next
cell gets a fresh kernel and the result says the namespace is gone. `input()` raises in the
cell (the client allows no stdin). `aclose` kills every kernel, starting ones included.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import dataclasses
import itertools
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from llmcompiler.code.environment import (
    JUPYTER_MPL_BACKEND,
    check_interpreter,
    limit_resources,
    scrubbed_environ,
)
from llmcompiler.code.executor import (
    CappedOutput,
    CellResult,
    CellStatus,
    InterpreterConfig,
    clean_output,
    strip_ansi,
)
from llmcompiler.code.process import INPUT_DISABLED, signal_name
from llmcompiler.code.workspace import Workspace
from llmcompiler.exceptions import InterpreterError, KernelUnavailableError

START_TIMEOUT = 60.0  # seconds for a kernel to answer kernel_info
INTERRUPT_GRACE = 5.0  # seconds an interrupted cell has to reach idle before its kernel is killed
_LIVENESS_EVERY = 0.5  # seconds between checks that the kernel process still runs, while a cell is silent
_IMAGE_TYPES = {"image/png": "png", "image/svg+xml": "svg"}

# Run silently in each new kernel: ipykernel's streams have no `.buffer`, which scripts writing
# bytes expect; this one decodes what they write as UTF-8 with replacement, like a terminal would.
_PRELUDE = """\
def __llmcompiler_prelude():
    import codecs, io, sys

    class BinaryStream(io.RawIOBase):
        def __init__(self, text):
            self._text = text
            self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        def writable(self):
            return True

        def write(self, data):
            self._text.write(self._decoder.decode(bytes(data)))
            return len(data)

    for stream in (sys.stdout, sys.stderr):
        if not hasattr(stream, "buffer"):
            try:
                stream.buffer = BinaryStream(stream)
            except AttributeError:
                pass
__llmcompiler_prelude()
del __llmcompiler_prelude
"""


def _import_jupyter() -> Any:
    try:
        from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
        from jupyter_client.manager import AsyncKernelManager
    except ImportError:
        raise KernelUnavailableError(
            "the Jupyter backend needs jupyter_client and ipykernel: pip install 'llmcompiler[code]' "
            "(or use the subprocess backend)"
        ) from None
    return AsyncKernelManager, KernelSpec, KernelSpecManager


@dataclass(eq=False)
class _Kernel:
    """One running kernel: its manager, its client, and the process id tests and logs name."""

    manager: Any
    client: Any
    pid: int | None
    log: BinaryIO
    closing: bool = False

    async def alive(self) -> bool:
        return bool(await self.manager.is_alive())

    async def exit_status(self) -> int | None:
        provisioner = self.manager.provisioner
        return None if provisioner is None else await provisioner.poll()

    async def shutdown(self) -> None:
        """Kill the kernel's process group and free its channels and connection file."""
        self.closing = True
        try:
            self.client.stop_channels()
            await self.manager.shutdown_kernel(now=True)
        finally:
            self.log.close()


@dataclass
class _Cell:
    """What reading one cell's messages found."""

    output: CappedOutput
    error: str | None = None
    idle: bool = False
    died: bool = False
    runaway: bool = False
    images: tuple[Path, ...] = ()


class JupyterExecutor:
    """See the module docstring; `CodeExecutor` for the interface."""

    name = "jupyter"

    def __init__(self, config: InterpreterConfig, workspace: Workspace) -> None:
        self._jupyter = _import_jupyter()
        self.config = config
        self.workspace = workspace
        self.python = check_interpreter(config.python_interpreter, ipykernel=True)
        self._env = scrubbed_environ(mpl_backend=JUPYTER_MPL_BACKEND)
        self._preexec = limit_resources(config)
        self._pool: collections.deque[asyncio.Task[_Kernel]] = collections.deque()
        self._claimed: set[asyncio.Task[_Kernel]] = set()  # taken from the pool, still starting
        self._sessions: dict[str, _Kernel] = {}
        self._lost: dict[str, str] = {}  # session -> why its kernel was replaced
        self._locks: dict[str, asyncio.Lock] = {}
        self._cells = itertools.count(workspace.next_cell_number())
        self._kernels = itertools.count(1)
        self._closed = False

    async def __aenter__(self) -> JupyterExecutor:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def start(self) -> None:
        """Start warm kernels up to `pool_size` (in the background); the first `run` does it too."""
        if self._closed:
            raise InterpreterError("this executor is closed")
        while len(self._pool) < max(self.config.pool_size, 0):
            self._pool.append(asyncio.ensure_future(self._start_kernel()))

    async def warm_up(self) -> None:
        """Start the pool and wait until its kernels are ready (KernelUnavailableError if one is not)."""
        self.start()
        await asyncio.gather(*(asyncio.shield(task) for task in list(self._pool)))

    @property
    def kernel_pids(self) -> dict[str, int | None]:
        """{session: pid of its kernel}, for logs and for tests that kill one from outside."""
        return {session: kernel.pid for session, kernel in self._sessions.items()}

    @property
    def warm_pids(self) -> tuple[int | None, ...]:
        """The pids of the pool's kernels that have started and wait for a session."""
        ready = [task for task in self._pool if task.done() and not task.cancelled() and task.exception() is None]
        return tuple(task.result().pid for task in ready)

    async def run(self, code: str, *, session: str = "default", timeout: float | None = None) -> CellResult:
        if self._closed:
            raise InterpreterError("this executor is closed")
        limit = self.config.timeout if timeout is None else timeout
        async with self._locks.setdefault(session, asyncio.Lock()):
            kernel = await self._kernel_for(session)
            if kernel is None:
                return CellResult(
                    status=CellStatus.DIED, output="", error="the interpreter was shut down before the cell ran"
                )
            note = self._lost.pop(session, None)
            result = await self._execute(kernel, session, code, limit)
        return dataclasses.replace(result, output=f"[{note}]\n{result.output}") if note else result

    async def release(self, session: str) -> None:
        self._lost.pop(session, None)
        kernel = self._sessions.pop(session, None)
        if kernel is not None:
            await kernel.shutdown()

    async def aclose(self) -> None:
        self._closed = True
        starting = [*self._pool, *self._claimed]
        self._pool.clear()
        for task in starting:
            task.cancel()
        kernels = list(self._sessions.values())
        self._sessions.clear()
        for outcome in await asyncio.gather(*starting, return_exceptions=True):
            if isinstance(outcome, _Kernel):
                kernels.append(outcome)
        await asyncio.gather(*(kernel.shutdown() for kernel in kernels), return_exceptions=True)

    async def _kernel_for(self, session: str) -> _Kernel | None:
        """The session's kernel, or a warm one from the pool; None when the executor closed meanwhile."""
        kernel = self._sessions.get(session)
        if kernel is not None and await kernel.alive():
            return kernel
        if kernel is not None:
            del self._sessions[session]
            await kernel.shutdown()
            self._lost.setdefault(session, "a new kernel: the earlier one had died, its variables and imports are gone")
        self.start()
        task = self._pool.popleft() if self._pool else asyncio.ensure_future(self._start_kernel())
        self.start()  # refill while this one finishes starting
        self._claimed.add(task)
        try:
            # shielded: a cancelled run must not cancel a start that another session can use
            kernel = await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._closed and task.cancelled():
                return None
            self._pool.appendleft(task)
            raise
        finally:
            self._claimed.discard(task)
        if self._closed:
            await kernel.shutdown()
            return None
        self._sessions[session] = kernel
        return kernel

    async def _start_kernel(self) -> _Kernel:
        manager_class, spec_class, specs_class = self._jupyter
        number = next(self._kernels)
        specs = specs_class()
        spec = spec_class(
            argv=[self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"llmcompiler ({self.python})",
            language="python",
            interrupt_mode="signal",
        )
        specs.get_kernel_spec = lambda _name: spec
        manager = manager_class(kernel_spec_manager=specs, kernel_name="llmcompiler")
        log_path = self.workspace.hidden("cells") / f"kernel-{number}.log"
        log = log_path.open("wb")
        try:
            await manager.start_kernel(
                env=dict(self._env), cwd=str(self.workspace.root), preexec_fn=self._preexec, stdout=log, stderr=log
            )
            client = manager.client()
            client.start_channels()
            try:
                await client.wait_for_ready(timeout=START_TIMEOUT)
            except (RuntimeError, TimeoutError) as problem:
                client.stop_channels()
                raise KernelUnavailableError(
                    f"the kernel ({self.python}) would not start: {problem}; {_tail(log_path)}"
                ) from None
        except BaseException:
            # cancelled (aclose) or failed after the process was launched: it must not outlive us
            if manager.has_kernel:
                await asyncio.shield(manager.shutdown_kernel(now=True))
            log.close()
            raise
        kernel = _Kernel(manager=manager, client=client, pid=getattr(manager.provisioner, "pid", None), log=log)
        try:
            await self._prepare(kernel)
        except BaseException:
            await asyncio.shield(kernel.shutdown())
            raise
        return kernel

    async def _prepare(self, kernel: _Kernel) -> None:
        msg_id = kernel.client.execute(_PRELUDE, silent=True, store_history=False, allow_stdin=False)
        cell = _Cell(CappedOutput(self.config.max_output_chars))
        if not await self._read(kernel, msg_id, cell, 0, time.monotonic() + START_TIMEOUT) or cell.error:
            raise KernelUnavailableError(
                f"the kernel ({self.python}) started but cannot run code: {cell.error or 'no answer'}"
            )

    async def _execute(self, kernel: _Kernel, session: str, code: str, limit: float) -> CellResult:
        number = next(self._cells)
        before = self.workspace.snapshot()
        started = time.monotonic()
        cell = _Cell(CappedOutput(self.config.max_output_chars))
        msg_id = kernel.client.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
        status: CellStatus
        why: str | None = None
        try:
            await self._read(kernel, msg_id, cell, number, started + limit)
        except asyncio.CancelledError:
            await asyncio.shield(self._interrupt(kernel))
            raise
        if cell.idle:
            status = CellStatus.ERROR if cell.error is not None or cell.runaway else CellStatus.OK
            why = cell.error
            if cell.runaway:
                why = (
                    f"stopped: the cell printed {cell.output.total:,} characters, far past the output cap of "
                    f"{cell.output.limit:,}; print less (a summary, the head of a table)"
                )
        elif cell.died or self._closed:
            status, why = CellStatus.DIED, await self._death(kernel, session)
        else:
            status = CellStatus.TIMEOUT
            why = f"timed out: the cell ran past its timeout of {limit:g} s and was interrupted"
            await self._interrupt(kernel)
            if not await self._read(kernel, msg_id, cell, number, time.monotonic() + INTERRUPT_GRACE):
                why = why.replace("was interrupted", "its kernel did not stop on interrupt and was restarted")
                await self._replace(session, "a new kernel: the earlier one was restarted after a timeout")
        files = self.workspace.changed_since(before)
        return CellResult(
            status=status,
            output=clean_output(cell.output.text()),
            error=why,
            files=tuple(sorted(set(files) | set(cell.images))),
            cut_chars=cell.output.cut_chars,
            duration=time.monotonic() - started,
            images=cell.images,
        )

    async def _read(self, kernel: _Kernel, msg_id: str, cell: _Cell, number: int, deadline: float) -> bool:
        """Fold the cell's iopub messages into `cell` until idle (True), the deadline or the kernel's death."""
        runaway = cell.output.limit + max(10 * cell.output.limit, 1_000_000)
        while not cell.idle:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                message = await kernel.client.get_iopub_msg(timeout=min(left, _LIVENESS_EVERY))
            except queue.Empty:
                if self._closed or not await kernel.alive():
                    cell.died = True
                    return False
                continue
            except asyncio.CancelledError:
                # closing the channels (aclose, release) cancels the pending poll, not this task
                if kernel.closing and not _cancelling():
                    cell.died = True
                    return False
                raise
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            self._fold(message, cell, number)
            if cell.output.total > runaway and not cell.runaway:
                cell.runaway = True
                await self._interrupt(kernel)
        return True

    def _fold(self, message: dict[str, Any], cell: _Cell, number: int) -> None:
        kind = message["header"]["msg_type"]
        content = message["content"]
        if kind == "status":
            cell.idle = content.get("execution_state") == "idle"
        elif kind == "stream":
            cell.output.add(content.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = content.get("data", {})
            saved = self._save_images(data, number, len(cell.images))
            cell.images += saved
            text = data.get("text/plain")
            if text and not saved:
                cell.output.add(text if text.endswith("\n") else text + "\n")
        elif kind == "error":
            cell.error = self._traceback(content)

    def _save_images(self, data: dict[str, Any], number: int, already: int) -> tuple[Path, ...]:
        saved: list[Path] = []
        for mime, suffix in _IMAGE_TYPES.items():
            if mime not in data:
                continue
            path = self.workspace.root / f"output-{number}-{already + len(saved) + 1}.{suffix}"
            payload = data[mime]
            try:
                blob = base64.b64decode(payload) if suffix == "png" else str(payload).encode("utf-8")
            except (binascii.Error, ValueError):
                continue
            path.write_bytes(blob)
            saved.append(path)
        return tuple(saved)

    def _traceback(self, content: dict[str, Any]) -> str:
        lines = content.get("traceback") or [f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"]
        text = strip_ansi("\n".join(lines)).strip("\n") + "\n"
        name = content.get("ename", "")
        if name == "StdinNotImplementedError":
            # the frames inside ipykernel say nothing the reader can act on
            head = text.split("\nFile ", 1)[0].rstrip("\n")
            text = f"{head}\n\nStdinNotImplementedError: {INPUT_DISABLED}\n"
        elif name == "MemoryError" and self.config.memory_limit_mb is not None:
            text += f"(the memory limit is {self.config.memory_limit_mb} MB)\n"
        return text

    async def _interrupt(self, kernel: _Kernel) -> None:
        try:
            await kernel.manager.interrupt_kernel()
        except (RuntimeError, OSError):  # it is gone already
            pass

    async def _death(self, kernel: _Kernel, session: str) -> str:
        if self._closed:
            return "the kernel was shut down while the cell ran"
        code = await kernel.exit_status()
        if code is None:
            how = "(it stopped answering)"
        elif code < 0:
            how = f"killed by {signal_name(-code)}"
        else:
            how = f"with exit status {code}"
        hint = ""
        if self.config.memory_limit_mb is not None:
            hint = f" (out of memory? the memory limit is {self.config.memory_limit_mb} MB)"
        await self._replace(session, "a new kernel: the earlier one died, its variables and imports are gone")
        return (
            f"the kernel died while the cell ran, {how}{hint}; the session's next cell starts a new kernel, "
            "so the variables and imports of earlier cells are gone"
        )

    async def _replace(self, session: str, note: str) -> None:
        """Drop the session's kernel; its next cell takes a warm one and reads `note`."""
        kernel = self._sessions.pop(session, None)
        self._lost[session] = note
        if kernel is not None:
            await kernel.shutdown()


def _cancelling() -> bool:
    """Whether the current task itself is being cancelled (unknowable before 3.11: assume not)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no kernel log"
    return "its log ends: " + " | ".join(text[-lines:]) if text else "its log is empty"
