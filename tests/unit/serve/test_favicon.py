"""The web view has an icon: no 404 in every browser tab's first request."""

from __future__ import annotations

from pathlib import Path

import httpx

from swarm_star.serve import create_app


async def test_the_favicon_is_served(tmp_path: Path) -> None:
    app = create_app(space=tmp_path, env={})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        page = (await client.get("/")).text
        assert 'rel="icon" href="static/favicon.svg"' in page
        for path in ("/static/favicon.svg", "/favicon.ico"):  # the one the page names, and the one browsers guess
            r = await client.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml"), path
            assert r.text.startswith("<svg")
    await app.state.hub.shutdown()
