"""Fixtures shared by several test files."""

from __future__ import annotations

import pytest

from llmcompiler.llm.openai_compat import OpenAIModel


@pytest.fixture
async def close_openai_clients(monkeypatch):
    """Close every OpenAIModel's HTTP client before the test's event loop goes away."""
    created = []
    original = OpenAIModel.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(OpenAIModel, "__init__", recording_init)
    yield
    for model in created:
        await model.aclose()
