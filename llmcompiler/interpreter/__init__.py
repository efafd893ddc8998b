"""The code interpreter: Python run for the planner's tasks, on Jupyter kernels or fresh processes.

- `executor`: the interface every backend keeps (`CodeExecutor`, `CellResult`, `InterpreterConfig`).
"""

from llmcompiler.interpreter.executor import CellResult, CellStatus, CodeExecutor, InterpreterConfig

__all__ = ["CellResult", "CellStatus", "CodeExecutor", "InterpreterConfig"]
