"""Token counting for providers that report no usage.

tiktoken is used when it is installed and its encoding can be loaded (it downloads the
encoding on first use, so offline machines fall back); otherwise `estimate_tokens`. Counts
made here are marked `Usage.estimated`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from llmcompiler.llm.base import Message, Usage, estimate_tokens


@functools.lru_cache(maxsize=16)
def _encoder(model_name: str) -> Callable[[str], int] | None:
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        try:
            encoding = tiktoken.encoding_for_model(model_name)
        except KeyError:
            encoding = tiktoken.get_encoding("cl100k_base")
    except Exception:  # no network to fetch the encoding, or a broken cache
        return None
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def count_tokens(text: str, model_name: str = "") -> int:
    encode = _encoder(model_name)
    return encode(text) if encode is not None else estimate_tokens(text)


def counted_usage(messages: Sequence[Message], output: str, model_name: str = "") -> Usage:
    """Usage counted from the text of a call, for a provider that reported none."""
    prompt = sum(count_tokens(m.content, model_name) for m in messages)
    return Usage(prompt, count_tokens(output, model_name) if output else 0, 1, estimated=True)
