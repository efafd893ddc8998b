"""Models: the `ChatModel` protocol and its backends.

A model streams text chunks for messages and stop sequences, then one `Usage`. See
`llmcompiler.llm.base` for the protocol and `ScriptedModel` for the deterministic model used
by tests, demos and benchmarks.
"""

from llmcompiler.llm.base import (
    CallRecord,
    ChatModel,
    Message,
    Usage,
    assistant,
    complete,
    flatten_messages,
    system,
    user,
)
from llmcompiler.llm.factory import MODEL_TYPES, as_model, get_model
from llmcompiler.llm.langchain import LangChainModel
from llmcompiler.llm.pricing import PRICES, Price, cost, price_for
from llmcompiler.llm.scripted import Reply, ScriptedModel


def __getattr__(name: str):  # the openai SDK is imported only when its backend is used
    if name in ("OpenAIModel", "RetryPolicy"):
        from llmcompiler.llm import openai_compat

        return getattr(openai_compat, name)
    raise AttributeError(f"module 'llmcompiler.llm' has no attribute {name!r}")


__all__ = [
    "MODEL_TYPES",
    "PRICES",
    "CallRecord",
    "ChatModel",
    "LangChainModel",
    "OpenAIModel",
    "Price",
    "RetryPolicy",
    "Message",
    "Reply",
    "ScriptedModel",
    "Usage",
    "as_model",
    "assistant",
    "complete",
    "cost",
    "get_model",
    "price_for",
    "flatten_messages",
    "system",
    "user",
]
