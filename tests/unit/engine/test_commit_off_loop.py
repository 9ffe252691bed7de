"""Store commits run off the event loop (engine/loop.py).

While the writer's commit waits (a SQLite write lock held by another process,
a Cosmos DB journal held by a writer elsewhere), every other coroutine of the
process keeps running: a ticker measures the longest stall of the loop. The
run still finishes, its frames in order (``test_engine.py`` and the crash
suites check write-before-act and the order of commits).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.models import SwarmEvent
from swarm_star.store.sqlite import DEFAULT_DB_NAME
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for

HOLD = 2.0  # seconds the store is held by someone else while the run goes on
STALL = 1.0  # the longest the loop may stall meanwhile (it stalled for the whole HOLD and more before)


async def _run_with_ticker(swarm: Swarm, server: Any, hold: Callable[[], None]) -> tuple[str, float, float]:
    """Run ``swarm`` while a coroutine ticks every 20 ms; ``hold`` is started in a thread
    right after the first frame is committed. Returns (outcome status, the longest gap
    between ticks from then on, the longest gap between two committed frames)."""
    llm = client_for(server)
    frames: list[float] = []
    started: list[threading.Thread] = []

    def on_frame(_: SwarmEvent) -> None:
        frames.append(time.monotonic())
        if not started:
            started.append(threading.Thread(target=hold, daemon=True))
            started[0].start()

    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            if started:  # from the moment the store is held (the run's start reads the store on the loop)
                gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        handle = swarm.run(RunOptions(llm=llm, poll_interval=0.05))
        handle.subscribe(on_frame)
        outcome = await handle
    finally:
        ticking.cancel()
        await llm.aclose()
    started[0].join(timeout=30)
    return outcome.status, max(gaps), max(b - a for a, b in itertools.pairwise(frames))


async def test_a_commit_waiting_for_the_sqlite_write_lock_does_not_stall_the_loop(
    tmp_path: Path, model_server: Any
) -> None:
    server = model_server(ScriptedModel(plans={"city": ["north", "south", "east"]}), latency=0.2)
    swarm = Swarm.create("plan a city", space=tmp_path)
    database = swarm.locator.swarm_dir(swarm.id) / DEFAULT_DB_NAME

    def hold() -> None:  # another process's writer, as SQLite sees it: a second connection
        conn = sqlite3.connect(database, timeout=5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(HOLD)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    status, stall, commit_wait = await _run_with_ticker(swarm, server, hold)
    assert status == "finished"
    assert commit_wait > HOLD * 0.8  # a commit did wait for the lock
    assert stall < STALL, f"the event loop stalled {stall:.2f} s while a commit waited"


@pytest.mark.slow  # seconds each (a timeout or a kill waited out): .ci/run runs it
async def test_a_commit_waiting_for_a_cosmos_journal_does_not_stall_the_loop(
    tmp_path: Path, model_server: Any, cosmos_env: dict[str, str], cosmos_container: Any
) -> None:
    """The journal wait (``time.sleep`` between looks) happens in the commit thread."""
    server = model_server(ScriptedModel(plans={"city": ["north", "south", "east"]}), latency=0.2)
    swarm = Swarm.create(
        "plan a city", space=tmp_path, backend="cosmos", env=cosmos_env, swarm_id=f"t-{uuid.uuid4().hex[:8]}"
    )
    store: Any = swarm.store
    lease = store._lease

    def hold() -> None:  # a journal of a live-looking writer on another machine, expiring in HOLD seconds
        cosmos_container.create_item(
            {
                "id": store._id("__journal"),
                "pk": store.partition,
                "key": "__journal",
                "owner": uuid.uuid4().hex,
                "holder": {"pid": 4242, "host": "another-machine", "boot": "b", "pidns": "p"},
                "time": time.time() - lease + HOLD,
                "state": "pending",
                "ops": [],
            }
        )

    status, stall, commit_wait = await _run_with_ticker(swarm, server, hold)
    assert status == "finished"
    assert commit_wait > HOLD * 0.8  # a commit did wait for the journal to expire
    assert stall < STALL, f"the event loop stalled {stall:.2f} s while a commit waited"
