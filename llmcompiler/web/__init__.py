"""The web UI: `llmcompiler serve` (an aiohttp app, a SQLite store, runs fanned out as server-sent events)."""

from __future__ import annotations

from llmcompiler.web.app import make_app
from llmcompiler.web.settings import WebSettings

__all__ = ["WebSettings", "make_app"]
