"""The task fetching unit (scheduler), one tool call (executor) and the run's events."""

from llmcompiler.runtime import events
from llmcompiler.runtime.executor import resolve
from llmcompiler.runtime.scheduler import Scheduler, TaskRecord, TaskStatus
from llmcompiler.runtime.threads import ThreadRunner

__all__ = ["Scheduler", "TaskRecord", "TaskStatus", "ThreadRunner", "events", "resolve"]
