"""What the loopback test servers share: serving an aiohttp app on 127.0.0.1, ephemeral port."""

from __future__ import annotations

import socket
from typing import TypeVar

from aiohttp import web

S = TypeVar("S", bound="LoopbackServer")


class LoopbackServer:
    """Start with `await server.start()` or `async with server:`; `port` while started.

    Subclasses build their `web.Application` in `_make_app`. Only 127.0.0.1 is bound.
    """

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def _make_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self: S) -> S:
        """Bind an ephemeral port on 127.0.0.1 and start serving."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        app = self._make_app()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            # a short shutdown timeout: a test that abandons a stream must not wait for it
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
            await runner.setup()
            try:
                await web.SockSite(runner, sock).start()
            except BaseException:
                await runner.cleanup()
                raise
        except BaseException:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        self._runner = runner
        return self

    async def close(self) -> None:
        """Stop serving; responses still in flight are cut off after about 0.2 seconds."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self: S) -> S:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The port the server listens on (only while started)."""
        if self._runner is None or self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._port
