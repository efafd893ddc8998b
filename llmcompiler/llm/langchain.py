"""Any langchain-core `BaseChatModel` as a `ChatModel`.

The model is streamed with `astream`; usage comes from the chunks' `usage_metadata` (summed
the way langchain sums message chunks), and is counted when the model reports none.
Retries are the langchain model's own (most have `max_retries`); errors are wrapped in
`ModelError` with the original as the cause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from llmcompiler.exceptions import ModelError
from llmcompiler.llm.base import Message, Usage
from llmcompiler.llm.tokens import counted_usage


def is_langchain_chat_model(obj: Any) -> bool:
    import sys

    module = sys.modules.get("langchain_core.language_models.chat_models")
    base = getattr(module, "BaseChatModel", None) if module is not None else None
    return base is not None and isinstance(obj, base)


class LangChainModel:
    def __init__(self, model: Any, *, name: str | None = None) -> None:
        if not is_langchain_chat_model(model):
            raise TypeError(f"expected a langchain-core BaseChatModel, got {type(model).__name__}")
        self.model = model
        self.name = name or _model_name(model)

    def __repr__(self) -> str:
        return f"LangChainModel({self.name!r})"

    async def stream(self, messages: Sequence[Message], *, stop: Sequence[str] = ()) -> AsyncIterator[str | Usage]:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        converted = [kinds[m.role](content=m.content) for m in messages]
        total: Any = None
        parts: list[str] = []
        try:
            async for chunk in self.model.astream(converted, stop=list(stop) or None):
                total = chunk if total is None else total + chunk
                text = _text(chunk.content)
                if text:
                    parts.append(text)
                    yield text
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"langchain model {self.name!r}: {type(exc).__name__}: {exc}") from exc
        metadata = getattr(total, "usage_metadata", None)
        if metadata:
            yield Usage(int(metadata.get("input_tokens", 0)), int(metadata.get("output_tokens", 0)), 1)
        else:
            yield counted_usage(messages, "".join(parts), self.name)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(
            block if isinstance(block, str) else str(block.get("text", "")) if isinstance(block, dict) else ""
            for block in content
        )
    return ""


def _model_name(model: Any) -> str:
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__
