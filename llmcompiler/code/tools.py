"""The planner's code tools, and the `Interpreter` service a run's tools share.

    interpreter = Interpreter(config=InterpreterConfig(backend="subprocess"))
    interpreter.add_files(["data/dau.csv"])                 # copied into the workspace
    tools = [interpreter.python_tool(), interpreter.code_tool(model)]
    ...                                                     # the run
    await interpreter.aclose()                              # no kernel outlives this

- `python(code)` runs code in the run's one shared session (a Jupyter kernel keeps its
  variables from call to call; the subprocess backend keeps nothing). Its result is the
  cell's output and the files it created; a cell that raises, times out or dies fails the
  task with that text, so the joiner sees it and can replan.
- `code(task, context)` is the agent of one subtask: a model writes the code (it is shown
  the task, the context values and the workspace listing), the code runs in a session of
  its own, a traceback goes back to the model for another try, at most `max_attempts` tries.
  Its result is the last run's output, the files it created, and the code. Several `code`
  calls of one plan run at the same time, each in its own kernel, in the one workspace.

The model is called through `llmcompiler.llm.base.complete` (role "tool"), so its tokens and
time count in the run.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmcompiler.code import make_executor
from llmcompiler.code.executor import CellResult, CellStatus, CodeExecutor, InterpreterConfig, describe_files
from llmcompiler.code.workspace import Snapshot, Workspace
from llmcompiler.exceptions import ConfigurationError, KernelUnavailableError, ToolError, WorkspaceError
from llmcompiler.llm.base import Message, assistant, complete, system, user
from llmcompiler.tools.tool import Tool

__all__ = ["Interpreter", "code_tool", "extract_code", "python_tool"]

DEFAULT_MAX_ATTEMPTS = 3


class Interpreter:
    """A workspace and the executor that runs code in it, for one run or session.

    `workspace`: a `Workspace`, a folder (created if missing) or None for a new temporary
    folder, kept after the run so that its files can be looked at. `aclose()` (or leaving
    `async with`) stops every kernel and process; the folder stays.
    """

    def __init__(
        self, *, config: InterpreterConfig | None = None, workspace: Workspace | str | Path | None = None
    ) -> None:
        self.config = config if config is not None else InterpreterConfig()
        if self.config.backend == "jupyter":
            _require_jupyter(self.config.python_interpreter)
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        try:
            self.executor: CodeExecutor = make_executor(self.config, self.workspace)
        except BaseException:
            if workspace is None:  # the temporary folder made for us: nothing may be left of it
                shutil.rmtree(self.workspace.root, ignore_errors=True)
            raise
        # what the folder held before any code ran: created files are the ones that differ
        self._baseline: Snapshot = self.workspace.snapshot()
        self._closed = False

    @property
    def root(self) -> Path:
        return self.workspace.root

    def start(self) -> None:
        """Start the backend's warm kernels now (in the background), if it keeps any."""
        start = getattr(self.executor, "start", None)
        if callable(start):
            start()

    def add_files(self, paths: Iterable[str | Path]) -> list[Path]:
        """Copy files into the workspace (under their base names); their paths there."""
        added = [self.workspace.add_file(path) for path in paths]
        self._baseline = self.workspace.snapshot()
        return added

    def add_text(self, name: str, text: str) -> Path:
        """Write `text` as the workspace file `name` (piped input, for one)."""
        path = self.workspace.resolve(name)
        if path.exists():
            raise WorkspaceError(f"the workspace already has a file named {name}")
        path.write_text(text, encoding="utf-8")
        self._baseline = self.workspace.snapshot()
        return path

    def describe(self) -> str:
        """The workspace's files for a prompt: name, size, first lines of text files."""
        return self.workspace.describe()

    def created_files(self) -> tuple[Path, ...]:
        """Files the code created or changed since the interpreter started (or files were added)."""
        return self.workspace.changed_since(self._baseline)

    def python_tool(self, **options: Any) -> Tool:
        return python_tool(self.executor, self.workspace, **options)

    def code_tool(self, model: Any, **options: Any) -> Tool:
        return code_tool(self.executor, self.workspace, model, **options)

    async def aclose(self) -> None:
        """Stop every kernel and process; idempotent."""
        if not self._closed:
            self._closed = True
            await self.executor.aclose()

    async def __aenter__(self) -> Interpreter:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Interpreter(backend={self.config.backend!r}, workspace={str(self.root)!r})"


def _require_jupyter(python_interpreter: str | None) -> None:
    """The Jupyter backend's packages, checked before anything starts (one line when missing)."""
    # ipykernel must be where the kernel runs: here only when no other interpreter is named
    # (another interpreter is checked by the executor, which names it)
    wanted = ["jupyter_client"] if python_interpreter else ["jupyter_client", "ipykernel"]
    missing = [name for name in wanted if not _installed(name)]
    if missing:
        raise KernelUnavailableError(
            f"the Jupyter code backend needs {' and '.join(missing)}: "
            'pip install "llmcompiler[code]", or use the subprocess backend (--code_backend subprocess)'
        )


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a module blocked in sys.modules (set to None) has no spec
        return False


# -- python(code) -----------------------------------------------------------------------------

_PYTHON_JUPYTER = """\
python(code: str) -> str:
 - Runs Python code in one Jupyter kernel shared by every python() call of this run: variables, \
imports and functions defined by one call are there in the next (calls run one at a time).
 - The working directory is the workspace folder holding the user's files; save files there. \
Returns what the code prints and the value of its last line, plus a `created file: NAME` line per \
file it made; fails with the traceback if the code raises.
 - `code` is a string of Python (use \\n for new lines); print what you need to see."""

_PYTHON_SUBPROCESS = """\
python(code: str) -> str:
 - Runs Python code in a fresh Python process: NO state is kept between python() calls (each \
call must import and compute what it needs; pass results on as $ID).
 - The working directory is the workspace folder holding the user's files; files saved there \
stay for later calls. Returns what the code prints plus a `created file: NAME` line per file it \
made; fails with the traceback if the code raises.
 - `code` is a string of Python (use \\n for new lines); print what you need to see."""


def python_tool(
    executor: CodeExecutor,
    workspace: Workspace,
    *,
    name: str = "python",
    session: str = "default",
    description: str | None = None,
    timeout: float | None = None,
) -> Tool:
    """A `Tool` ``name(code)`` running code in `session` of `executor` (see the module docstring).

    `timeout` overrides the executor's per-cell timeout for this tool's cells.
    """
    stateless = getattr(executor, "name", "") == "subprocess"

    async def run_python(code: str) -> str:
        if not isinstance(code, str):
            raise ToolError(f"{name}() takes the code as a string, not {type(code).__name__}")
        result = await executor.run(code, session=session, timeout=timeout)
        text = result.observation(workspace.root)
        if not result.ok:
            raise ToolError(f"{_failure(result)}\n{text}")
        return text

    run_python.__name__ = run_python.__qualname__ = name
    text = description if description is not None else (_PYTHON_SUBPROCESS if stateless else _PYTHON_JUPYTER)
    text = text.replace("python(", f"{name}(", 1) if name != "python" else text
    # one kernel runs one cell at a time: queue the calls here, where the wait is visible
    return Tool(name, run_python, text, max_concurrency=None if stateless else 1)


def _failure(result: CellResult) -> str:
    return {
        CellStatus.ERROR: "the code raised an exception",
        CellStatus.TIMEOUT: "the code ran past its time limit and was stopped",
        CellStatus.DIED: "the code's process died (killed, or out of memory)",
    }.get(result.status, f"the cell ended as {result.status.value}")


# -- code(task, context) ----------------------------------------------------------------------

_CODE_DESCRIPTION = """\
code(task: str, context: Optional[list[str]]) -> str:
 - Hands one self-contained task to a programmer who writes Python for it, runs it{where}, \
reads the traceback and fixes the code if it fails (up to {attempts} tries), and returns the \
output, the files the code created and the final code.
 - `task` says in words what to compute or make; name the files to read and to write \
(e.g. "plot column dau of dau.csv over date as a line chart saved as dau.png"). The \
workspace folder, with the user's files and files earlier tasks made, is the working directory.
 - The programmer does not see earlier results unless you pass them in `context`, a list of \
strings, e.g. context=["$1"]. Independent code() calls run at the same time: split work \
that does not depend on each other into separate calls."""

_CODE_INSTRUCTIONS = """\
You write Python code for one task. The code runs {where}; its working directory is the \
workspace folder, which holds the files listed below. Read input files from there and save \
every file you create there (plain relative names such as "chart.png"). There is no user to \
ask: input() does not work. Print the result the task asks for, in a short form a reader can \
use (with a label, e.g. "Average: 3.5"). Plot with matplotlib: savefig, then plt.close() (a \
figure left open is saved as an extra image); never show(). Reply with the whole program in \
one ```python block and nothing else.

Files in the workspace:
{files}"""

_RETRY = """\
The code failed: {failure}.
{observation}

Fix the code. Reply with the whole corrected program in one ```python block."""

_NO_BLOCK = "Your reply had no ```python block. Reply with the whole program in one ```python block."

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\r?\n(.*?)(?:```|\Z)", re.S | re.I)


def extract_code(reply: str) -> str | None:
    """The code of a model's reply: its last ```python block (a bare ``` block will do); None without one."""
    blocks = [m.group(1) for m in _FENCE.finditer(reply)]
    code = next((b for b in reversed(blocks) if b.strip()), None)
    return code.strip("\n") + "\n" if code is not None else None


def code_tool(
    executor: CodeExecutor,
    workspace: Workspace,
    model: Any,
    *,
    name: str = "code",
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    description: str | None = None,
    timeout: float | None = None,
) -> Tool:
    """A `Tool` ``name(task, context=None)`` whose `model` writes and fixes the code (module docstring).

    Each call runs in a session of its own, released when the call ends; `timeout`
    overrides the executor's per-cell timeout.
    """
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ConfigurationError(f"{name} tool: max_attempts must be a whole number >= 1, got {max_attempts!r}")
    from llmcompiler.llm.factory import as_model  # lazy: keeps importing the tools light

    stateless = getattr(executor, "name", "") == "subprocess"
    agent = _CodeAgent(
        model=as_model(model, role="code tool model"),
        executor=executor,
        workspace=workspace,
        where=_WHERE_SUBPROCESS if stateless else _WHERE_JUPYTER,
        max_attempts=max_attempts,
        timeout=timeout,
    )
    sessions = itertools.count(1)

    async def write_and_run(task: str, context: list[str] | None = None) -> str:
        if not isinstance(task, str) or not task.strip():
            raise ToolError(f"{name}() needs the task in words, got {task!r}")
        session = f"{name}-{next(sessions)}"
        try:
            return await agent.solve(task, _context_text(context), session)
        finally:
            await executor.release(session)

    write_and_run.__name__ = write_and_run.__qualname__ = name
    if description is None:
        shown = " in a fresh Python process" if stateless else " in a Jupyter kernel of its own"
        description = _CODE_DESCRIPTION.format(where=shown, attempts=max_attempts)
    text = description.replace("code(", f"{name}(", 1) if name != "code" else description
    return Tool(name, write_and_run, text)


_WHERE_SUBPROCESS = "in a fresh Python process (nothing is kept from other runs)"
_WHERE_JUPYTER = "in a Jupyter kernel of its own (IPython: the value of the last line is shown too)"


def _context_text(context: Any) -> str:
    if context is None:
        return ""
    items = list(context) if isinstance(context, (list, tuple)) else [context]
    return "\n\n".join(str(item) for item in items if str(item).strip())


@dataclass(frozen=True, kw_only=True)
class _CodeAgent:
    """Write, run, read the traceback, fix: one `code` call's loop."""

    model: Any
    executor: CodeExecutor
    workspace: Workspace
    where: str
    max_attempts: int
    timeout: float | None

    async def solve(self, task: str, context: str, session: str) -> str:
        request = f"Task: {task}" + (f"\n\nContext:\n{context}" if context else "")
        messages: list[Message] = [
            system(_CODE_INSTRUCTIONS.format(where=self.where, files=self.workspace.describe())),
            user(request),
        ]
        made: dict[Path, None] = {}  # every try's files, in order: a failed try may have written one
        last_failure = "the model wrote no code"
        for attempt in range(1, self.max_attempts + 1):
            reply, _ = await complete(self.model, messages, role="tool")
            messages.append(assistant(reply))
            code = extract_code(reply)
            if code is None:
                last_failure = f"attempt {attempt}: the model's reply had no ```python block"
                messages.append(user(_NO_BLOCK))
                continue
            result = await self.executor.run(code, session=session, timeout=self.timeout)
            made.update(dict.fromkeys(result.files))
            if result.ok:
                return _success(result, code, self.workspace, [p for p in made if p.exists()], attempt)
            observation = result.observation(self.workspace.root)
            last_failure = f"attempt {attempt}: {_failure(result)}:\n{observation}\nCode:\n{_fenced(code)}"
            messages.append(user(_RETRY.format(failure=_failure(result), observation=observation)))
        raise ToolError(f"the task failed after {self.max_attempts} tries; last {last_failure}")


def _success(result: CellResult, code: str, workspace: Workspace, files: Sequence[Path], attempt: int) -> str:
    output = result.output.rstrip("\n") if result.output.strip() else "(no output)"
    parts = [output, *describe_files(files, workspace.root)]
    tries = f" (worked on try {attempt})" if attempt > 1 else ""
    parts.append(f"Code{tries}:\n{_fenced(code)}")
    return "\n".join(parts)


def _fenced(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"
