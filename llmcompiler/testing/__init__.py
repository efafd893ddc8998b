"""Test helpers: real HTTP servers on 127.0.0.1 — an OpenAI-compatible one answering
scripted replies, and a MediaWiki Action API answering from in-memory pages."""

from llmcompiler.testing.openai_server import Break, HTTPError, OpenAIServer, RecordedRequest, Text, Unfinished
from llmcompiler.testing.wikipedia_server import WikipediaRequest, WikipediaServer

__all__ = [
    "Break",
    "HTTPError",
    "OpenAIServer",
    "RecordedRequest",
    "Text",
    "Unfinished",
    "WikipediaRequest",
    "WikipediaServer",
]
