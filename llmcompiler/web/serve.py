"""`llmcompiler serve`: settings from the command line, then the app until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from llmcompiler.code.executor import InterpreterConfig
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.web.settings import LOCAL_HOSTS, WebSettings, default_db_path

__all__ = ["run_server", "serve_forever", "serve_settings"]


def serve_settings(options: argparse.Namespace, interpreter: InterpreterConfig) -> tuple[WebSettings, str]:
    """The app's settings and the URL to print (with the token when there is one)."""
    token = options.token
    if not token and options.host not in LOCAL_HOSTS:  # anyone on the network could run code otherwise
        token = secrets.token_urlsafe(24)
    suites = tuple(dict.fromkeys(options.suites or ("general", "code")))
    models: tuple[str, ...] = ()
    model_options: dict[str, Any] = {}
    if options.demo:
        models = ("simulated",)
    else:
        names = [n.strip() for n in (options.model_name or "").split(",") if n.strip()]
        if not names:
            from llmcompiler.evaluation.suite import load_suite

            default = load_suite(suites[0]).setting("default_model")
            if not default:
                raise ConfigurationError(f"--model_name is needed: the suite {suites[0]} names no default_model")
            names = [str(default)]
        models = tuple(dict.fromkeys(names))
        model_options = {
            "base_url": options.base_url,
            "api_key": options.api_key,
            "vllm_port": options.vllm_port,
            "endpoint": options.endpoint,
            "max_tokens": options.max_tokens,
            "system_role": not options.no_system_role,
        }
        _check_credentials(options.model_type, models[0], model_options)
    limiter = None
    if not options.demo and (options.rpm is not None or options.tpm is not None):
        from llmcompiler.llm.ratelimit import RateLimiter

        limiter = RateLimiter(rpm=options.rpm, tpm=options.tpm, window=options.rate_window)
    settings = WebSettings(
        db=Path(options.db).expanduser() if options.db else default_db_path(),
        workspace_root=Path(options.workspace_root).expanduser() if options.workspace_root else None,
        demo=options.demo,
        token=token,
        suites=suites,
        models=models,
        model_type=options.model_type,
        model_options=model_options,
        interpreter=interpreter,
        max_upload_bytes=int(options.max_upload_mb * 1024 * 1024),
        speed=options.speed,
        timeout=options.timeout,
        plan_grammar=options.plan_grammar,
        limiter=limiter,
    )
    host = f"[{options.host}]" if ":" in options.host else options.host
    url = f"http://{host}:{options.port}/" + (f"?token={token}" if token else "")
    return settings, url


def _check_credentials(model_type: str, model: str, options: dict[str, Any]) -> None:
    """Open one model now, so a missing key stops the command instead of every run."""
    from llmcompiler.evaluation.suite import ModelPool

    async def check() -> None:
        pool = ModelPool(model_type, model, **options)
        try:
            pool.first()
        finally:
            await pool.aclose()

    asyncio.run(check())


def serve_forever(settings: WebSettings, *, host: str, port: int, url: str) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a clean stop."""
    try:
        asyncio.run(run_server(settings, host=host, port=port, url=url))
    except KeyboardInterrupt:  # a second Ctrl-C during the shutdown
        print("interrupted during shutdown", file=sys.stderr)
        return 130
    return 0


async def run_server(settings: WebSettings, *, host: str, port: int, url: str | None = None) -> None:
    from aiohttp import web

    from llmcompiler.web.app import make_app

    runner = web.AppRunner(make_app(settings), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as problem:
            raise ConfigurationError(f"cannot listen on {host}:{port}: {problem.strerror or problem}") from None
        print(f"serving on {url or f'http://{host}:{port}/'}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(number, stop.set)
        await stop.wait()
        print("stopping: cancelling the runs still going", file=sys.stderr, flush=True)
    finally:
        await runner.cleanup()
