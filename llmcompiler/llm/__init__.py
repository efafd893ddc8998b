"""Models: the `ChatModel` protocol and its backends.

A model streams text chunks for messages and stop sequences, then one `Usage`. See
`llmcompiler.llm.base` for the protocol and `ScriptedModel` for the deterministic model used
by tests, demos and benchmarks.
"""

from llmcompiler.llm.base import (
    ChatModel,
    Message,
    Usage,
    assistant,
    complete,
    flatten_messages,
    system,
    user,
)
from llmcompiler.llm.scripted import Reply, ScriptedModel

__all__ = [
    "ChatModel",
    "Message",
    "Reply",
    "ScriptedModel",
    "Usage",
    "assistant",
    "complete",
    "flatten_messages",
    "system",
    "user",
]
