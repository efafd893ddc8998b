"""Every error this package raises on purpose, in one tree.

    LLMCompilerError
     +-- ConfigurationError     bad arguments to our API (unknown model type, bad limits, ...)
     |    +-- MissingCredentialsError   names the environment variable to set
     |    +-- WorkspaceError    a `--file` that is missing or unreadable, a name escaping
     |                          the workspace (`../`, an absolute path, a symlink out)
     +-- ModelError             a model call failed; translated where the SDK error enters
     |    +-- ModelHTTPError    the provider answered with an HTTP error (`.status`);
     |    |                     `.fatal` for statuses every later call would get too
     |    +-- ModelConnectionError      no answer: refused, reset, timed out
     |    +-- ModelStreamError  the stream broke after it had produced text, or ended
     |    |                     without a finish reason
     |    +-- ModelTruncatedError       the reply was cut at its token limit (`.limit`)
     |    +-- ScriptExhaustedError      a ScriptedModel was asked for more replies than it has
     +-- ToolError              base for failures of tool calls (outcomes, not raised by runs)
     |    +-- ToolTimeoutError  a tool ran past its timeout
     |    +-- ThreadPoolExhaustedError  every worker thread runs a sync call that timed out
     |    +-- MathError         (tools.math) an expression the math tool cannot evaluate
     |    +-- WikipediaError    (tools.wikipedia) the search API failed
     +-- RunError               why a run ended without an answer (`RunResult.exception`)
     |    +-- RunFailedError    raised by `arun`/`run`; `.result` is the whole RunResult
     |    +-- RunTimeoutError   the run's `timeout` passed
     |    +-- RunCancelledError the run was cancelled
     |    +-- NoDecisionError   the joiner's reply had neither Finish nor Replan
     |    +-- ReplanLimitError  the joiner asked for a plan after the last allowed round
     |    +-- StepLimitError    ReAct used its `max_steps` without an answer
     |    +-- InternalError     a bug inside the run (the original exception is `__cause__`)
     +-- InterpreterError       the code interpreter cannot run code at all
     |    +-- KernelUnavailableError    no kernel: ipykernel missing in the named Python,
     |                          the interpreter not found, the kernel would not start
     +-- SolutionMemoryError    the memory of solved questions cannot be opened, read or
     |                          written (corrupt, locked, not a memory file)
     +-- JudgeError             a cascade's judge cannot give a verdict at all (no terminal
     |                          to ask, a judge model that cannot be called)
     +-- TraceError             a trace file that cannot be read
     +-- DatasetError           a dataset cannot be found, downloaded, verified or read
     +-- StoreError             a results file cannot be read, has the wrong shape or be written
     +-- BenchmarkAborted       a question failed as every other would (`.cause`)

Tool failures and bad plans are *outcomes* (a task finishes as failed or skipped with an
observation), never exceptions escaping a run. A run that cannot go on (the planner's stream
broke, the model is unreachable, its timeout) finishes with `RunResult.status` saying how and
`RunResult.exception` holding what ended it: a `ModelError` when a model call failed, one of
the `RunError`s otherwise. Exceptions escape only for programmer errors and for misuse of the
API (`ConfigurationError`). The classes defined elsewhere (`MathError`, `WikipediaError`)
are drawn here so that this page shows the whole tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmcompiler.agents.base import RunResult


class LLMCompilerError(Exception):
    """Base class of every error raised on purpose by llmcompiler."""


class ConfigurationError(LLMCompilerError, ValueError):
    """The API was called with arguments that cannot work."""


class MissingCredentialsError(ConfigurationError):
    """A provider needs a setting that is not there; the message names the variable."""

    def __init__(
        self, variable: str, provider: str, *, what: str = "an API key", alternatives: tuple[str, ...] = ()
    ) -> None:
        also = f" (or {' / '.join(alternatives)})" if alternatives else ""
        super().__init__(f"{provider} needs {what}: set the environment variable {variable}{also}")
        self.variable = variable
        self.provider = provider


class WorkspaceError(ConfigurationError):
    """A file cannot be put into the code interpreter's workspace, or a name leaves it."""


class ModelError(LLMCompilerError):
    """A model call failed (network, HTTP status, malformed stream)."""


class ModelHTTPError(ModelError):
    """The provider answered a model call with an HTTP error status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def fatal(self) -> bool:
        """Every later call would fail alike: bad credentials, no access, unknown model."""
        return self.status in (401, 403, 404)


class ModelConnectionError(ModelError):
    """A model call got no answer: connection refused or reset, or a timeout."""


class ModelStreamError(ModelError):
    """A model's stream broke after it had produced text, or ended without a finish reason."""


class ModelTruncatedError(ModelError):
    """The reply stopped at its token limit (`finish_reason: length`), so it is incomplete.

    `limit` is the max_tokens the request named (None when the server's own limit cut
    it). The text and usage streamed before the cut were delivered.
    """

    def __init__(self, message: str, *, limit: int | None) -> None:
        super().__init__(message)
        self.limit = limit


class ScriptExhaustedError(ModelError):
    """A ScriptedModel received more calls than it has replies."""


class ToolError(LLMCompilerError):
    """A tool call failed; the runtime turns it into a failed task, not a crash."""


class ToolTimeoutError(ToolError, TimeoutError):
    """A tool ran longer than its timeout."""


class ThreadPoolExhaustedError(ToolError):
    """No worker thread can take a sync tool call: every one is still running a call whose
    caller gave up on it (see `llmcompiler.runtime.threads`)."""


class RunError(LLMCompilerError):
    """A run ended without an answer for a reason of its own (not a model's failure)."""


class RunFailedError(RunError):
    """`arun`/`run` finished without an answer; `.result` holds everything that happened."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.error or "the run ended without an answer")
        self.result = result


class RunTimeoutError(RunError, TimeoutError):
    """The run's `timeout` passed before it had an answer."""


class RunCancelledError(RunError):
    """The run was cancelled (its task, a Ctrl-C, a consumer that stopped listening)."""


class NoDecisionError(RunError):
    """The joiner's reply had no `Action: Finish(...)` or `Replan(...)`."""


class ReplanLimitError(RunError):
    """The joiner asked for another plan after the last allowed round (`max_replans`)."""


class StepLimitError(RunError):
    """ReAct reached its `max_steps` without an answer."""


class InternalError(RunError):
    """A bug inside the run ended it; the exception that did is `__cause__`."""


class InterpreterError(LLMCompilerError):
    """The code interpreter cannot run code at all (a cell's own failure is a CellResult)."""


class KernelUnavailableError(InterpreterError):
    """No kernel or interpreter process could be started; the message says which and why."""


class SolutionMemoryError(LLMCompilerError):
    """The memory of solved questions cannot be used; the message names the file and why."""


class JudgeError(LLMCompilerError):
    """A cascade's judge cannot give any verdict (a judge that answers neither yes nor no is
    a verdict of its own, not this error)."""


class TraceError(LLMCompilerError):
    """A trace file that cannot be read."""


class DatasetError(LLMCompilerError):
    """A dataset cannot be found, downloaded, verified or read; the message is one line."""


class StoreError(LLMCompilerError):
    """A results file cannot be read, has the wrong shape, or cannot be written."""


class BenchmarkAborted(LLMCompilerError):
    """A question failed in a way every other question would too (bad key, unknown model).

    `cause` is the exception that ended that question's run.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause: Any = cause
