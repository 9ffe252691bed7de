"""One HTML page on a loopback port, for tests that fetch or search the web without the internet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serving_page(html: str, path: str = "/") -> AsyncIterator[str]:
    """Serve ``html`` at ``path`` on 127.0.0.1; yields the page's URL."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get(path, page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}{path}"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()
