"""Token counts for providers that report no usage: offline, and marked estimated.

Counts here are always `estimate_tokens` (about four characters a token, at least one per
word); tiktoken is deliberately not used:

* it downloads its encoding files on first use, a blocking HTTP request made from the
  event loop, which stalls or fails on an offline machine; knowing whether the files are
  already cached means reading tiktoken's private cache layout;
* the providers that report no usage are mostly local servers (llama.cpp, vLLM builds
  without usage, proxies) running LLaMA, Gemma, Mistral and the like, whose tokenizers are
  not OpenAI's; a tiktoken count would be no closer to what they bill or limit, while
  looking exact.

Every count made here is marked `Usage.estimated`, so what shows it can say so.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmcompiler.llm.base import Message, Usage, estimate_tokens


def count_tokens(text: str, model_name: str = "") -> int:
    """An estimate of the tokens in `text`; `model_name` is accepted for callers that have
    one, and does not change the count."""
    return estimate_tokens(text)


def counted_usage(messages: Sequence[Message], output: str, model_name: str = "") -> Usage:
    """Usage counted from the text of a call, for a provider that reported none."""
    prompt = sum(count_tokens(m.content, model_name) for m in messages)
    return Usage(prompt, count_tokens(output, model_name) if output else 0, 1, estimated=True)
