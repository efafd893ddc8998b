"""Every error this package raises on purpose.

    LLMCompilerError
     +-- ConfigurationError     bad arguments to our API (unknown model type, bad limits, ...)
     |    +-- MissingCredentialsError   names the environment variable to set
     +-- ModelError             a model call failed; translated where the SDK error enters
     |    +-- ModelHTTPError    the provider answered with an HTTP error (`.status`)
     |    +-- ModelConnectionError      no answer: refused, reset, timed out
     |    +-- ModelStreamError  the stream broke after it had produced text, or ended
     |    |                     without a finish reason
     |    +-- ModelTruncatedError       the reply was cut at its token limit (`.limit`)
     |    +-- ScriptExhaustedError      a ScriptedModel was asked for more replies than it has
     +-- ToolError              base for failures of tool calls (outcomes, not raised by runs)
          +-- ToolTimeoutError  a tool ran past its timeout
          +-- ThreadPoolExhaustedError  every worker thread runs a sync call that timed out

Tool failures and bad plans are *outcomes* (a task finishes as failed or skipped with an
observation), never exceptions escaping a run. A run that cannot go on (the planner's stream
broke, the model is unreachable) finishes with `RunResult.error` set. Exceptions escape only
for programmer errors and for misuse of the API (`ConfigurationError`).
"""

from __future__ import annotations


class LLMCompilerError(Exception):
    """Base class of every error raised on purpose by llmcompiler."""


class ConfigurationError(LLMCompilerError, ValueError):
    """The API was called with arguments that cannot work."""


class MissingCredentialsError(ConfigurationError):
    """A provider needs a setting that is not there; the message names the variable."""

    def __init__(self, variable: str, provider: str, *, what: str = "an API key", alternatives: tuple[str, ...] = ()) -> None:
        also = f" (or {' / '.join(alternatives)})" if alternatives else ""
        super().__init__(f"{provider} needs {what}: set the environment variable {variable}{also}")
        self.variable = variable
        self.provider = provider


class ModelError(LLMCompilerError):
    """A model call failed (network, HTTP status, malformed stream)."""


class ModelHTTPError(ModelError):
    """The provider answered a model call with an HTTP error status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


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
