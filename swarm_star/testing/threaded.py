"""An aiohttp application served on the loopback from a thread of its own.

Why: the model doubles (the OpenAI-compatible and Anthropic servers) and the tests'
counting proxy answer a client that runs its own event loop in the test's thread, so
each needs a loop of its own; the start/stop dance is the same for all of them.
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

__all__ = ["ThreadedApp"]


class ThreadedApp:
    """Serves one ``web.Application`` on ``127.0.0.1`` from a daemon thread until :meth:`stop`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0  # the bound port, once started
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: web.Application, port: int = 0, backlog: int = 128) -> int:
        """Serve ``app`` (``port`` 0: any free one) and return the bound port once it listens."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", port, backlog=backlog)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self.port

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
