"""The code interpreter: Python run for the planner's tasks, on Jupyter kernels or fresh processes.

- `executor`: the interface every backend keeps (`CodeExecutor`, `CellResult`, `InterpreterConfig`).
- `workspace`: the folder cells run in (files in, created files out, names kept inside).
- `environment`: the scrubbed environment, resource limits and interpreter checks.
- `process`: `SubprocessExecutor`, a fresh interpreter per cell (no Jupyter needed).
- `kernel`: `JupyterExecutor`, a pool of warm ipykernels, one per session (the `code` extra).

`make_executor(config, workspace)` picks the backend the config names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmcompiler.code.executor import CellResult, CellStatus, CodeExecutor, InterpreterConfig
from llmcompiler.code.workspace import Workspace

if TYPE_CHECKING:
    from llmcompiler.code.kernel import JupyterExecutor
    from llmcompiler.code.process import SubprocessExecutor


def make_executor(config: InterpreterConfig, workspace: Workspace) -> CodeExecutor:
    """The backend `config.backend` names; KernelUnavailableError when it cannot run here."""
    if config.backend == "subprocess":
        from llmcompiler.code.process import SubprocessExecutor

        return SubprocessExecutor(config, workspace)
    if config.backend == "jupyter":
        from llmcompiler.code.kernel import JupyterExecutor

        return JupyterExecutor(config, workspace)
    from llmcompiler.exceptions import ConfigurationError

    raise ConfigurationError(f"unknown code backend {config.backend!r}: use 'jupyter' or 'subprocess'")


def __getattr__(name: str) -> object:
    # the backends load on first use: jupyter_client is an optional extra
    if name == "SubprocessExecutor":
        from llmcompiler.code.process import SubprocessExecutor

        return SubprocessExecutor
    if name == "JupyterExecutor":
        from llmcompiler.code.kernel import JupyterExecutor

        return JupyterExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CellResult",
    "CellStatus",
    "CodeExecutor",
    "InterpreterConfig",
    "JupyterExecutor",
    "SubprocessExecutor",
    "Workspace",
    "make_executor",
]
