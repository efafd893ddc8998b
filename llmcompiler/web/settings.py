"""What `llmcompiler serve` was started with (`make_app(settings)` reads nothing else)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmcompiler.code.executor import InterpreterConfig

__all__ = ["LOCAL_HOSTS", "WebSettings", "default_db_path"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_db_path() -> Path:
    from llmcompiler._files import cache_dir

    return cache_dir() / "web.sqlite3"


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    """`models` are names shown to the browser; `model_options` (keys included) stay here."""

    db: Path = field(default_factory=default_db_path)
    workspace_root: Path | None = None  # None: `web-workspaces` next to the database
    demo: bool = False
    token: str | None = None
    suites: tuple[str, ...] = ("general", "code")
    models: tuple[str, ...] = ()
    model_type: str = "openai"
    model_options: dict[str, Any] = field(default_factory=dict, repr=False)
    interpreter: InterpreterConfig = field(default_factory=InterpreterConfig)
    max_upload_bytes: int = 50 * 1024 * 1024
    speed: float = 1.0  # --demo: every simulated latency divided by this
    history_runs: int = 6  # earlier exchanges of a session given as context
    history_chars: int = 4000  # ... and at most this many characters of them
    timeout: float | None = None  # seconds a run may take
    plan_grammar: str = "off"  # constrain the planner (vllm | gbnf), as `ask --plan_grammar`
    limiter: Any = None  # `--rpm`/`--tpm`: a RateLimiter every run's models share (None: no limit)

    @property
    def offered_models(self) -> tuple[str, ...]:
        """The model names the page may choose from (the demo's one when none were given)."""
        return self.models or (("simulated",) if self.demo else ())

    @property
    def workspaces(self) -> Path:
        return self.workspace_root if self.workspace_root is not None else self.db.parent / "web-workspaces"
