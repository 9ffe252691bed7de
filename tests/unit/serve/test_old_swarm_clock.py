"""The time the web view shows for a swarm stored before meta kept a run clock."""

from __future__ import annotations

from pathlib import Path

import httpx

from swarm_star.serve import create_app
from swarm_star.state.history import META_KEY
from swarm_star.store import StoreLocator
from tests.helpers.big_tree import write_big_tree


async def test_a_swarm_stored_before_the_run_clock_shows_its_time(tmp_path: Path) -> None:
    """Meta written before issue 26 has no ``clock``: /tree gives first-to-last frame time, never 0 s."""
    state = write_big_tree(tmp_path, "old", (2, 2))
    with StoreLocator(tmp_path).open("old") as store:  # as an older version left it
        meta = dict(store.get(META_KEY))
        meta.pop("clock")
        store.put(META_KEY, meta)
    app = create_app(space=tmp_path, env={})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        clock = (await client.get("/api/swarms/old/tree")).json()["clock"]
    await app.state.hub.shutdown()
    # a finished swarm that never stopped: first to last frame is its run clock exactly
    assert clock == {"run_s": clock["run_s"], "since": None, "last": state.clock.last}
    assert abs(clock["run_s"] - state.clock.elapsed()) < 1e-6 and clock["run_s"] > 0
