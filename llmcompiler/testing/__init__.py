"""Test helpers: a real OpenAI-compatible HTTP server answering scripted replies."""

from llmcompiler.testing.openai_server import Break, HTTPError, OpenAIServer, RecordedRequest, Text

__all__ = ["Break", "HTTPError", "OpenAIServer", "RecordedRequest", "Text"]
