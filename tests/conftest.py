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


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster (2 CPUs, no dashboard) for the whole test session, shut down at its end.

    Under CI a missing Ray fails (it is in the dev extra); elsewhere the test skips."""
    import os

    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("ray is not installed (pip install -e '.[ray]')")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
