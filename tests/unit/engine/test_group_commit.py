"""With one request in flight the writer does not commit once per call (engine/loop.py).

Activations then finish one at a time, each after its model call; committing at
every finish cost a commit (a trip to the commit thread, SQLite's fsync) per call
and made a call with 1 request in flight ~1.3× the CPU of one with 512 (issue 25).
A finished activation's outcome now joins the batch that the next
``COMMIT_DELAY`` makes while every request slot of the model is taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.engine import loop
from swarm_star.store.sqlite import SqliteStore
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for


async def _run(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> tuple[list[int], int]:
    """Run an 8×8 tree with ``concurrency`` request slots; (ops per commit, model calls)."""
    plans = {"city": [f"district {i}" for i in range(8)], "district ": [f"block {i}" for i in range(8)]}
    server = model_server(ScriptedModel(plans=plans, routes={"district ": "planning/delegate"}))
    commits: list[int] = []
    real_commit = SqliteStore.commit

    def counted(store: SqliteStore, ops: Any) -> None:
        commits.append(len(ops))
        real_commit(store, ops)

    monkeypatch.setattr(SqliteStore, "commit", counted)
    # a window longer than the run: what is counted is the engine's rule, not this machine's speed
    monkeypatch.setattr(loop, "COMMIT_DELAY", 5.0)
    swarm = Swarm.create("plan a city", space=tmp_path)
    commits.clear()  # the swarm's creation
    llm = client_for(server, concurrency=concurrency)
    try:
        outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.05))
    finally:
        await llm.aclose()
    calls = swarm.log.read_meta()["usage"]["calls"]
    assert outcome.status == "finished"
    assert calls > 60
    return commits, calls


async def test_one_request_in_flight_commits_far_fewer_times_than_it_calls(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits, calls = await _run(tmp_path, model_server, monkeypatch, concurrency=1)  # the loopback default
    # 28-30 commits for 82 calls; one per finished activation before: 60-87
    assert len(commits) <= calls / 2, f"{len(commits)} commits for {calls} calls"


async def test_a_free_request_slot_is_used_at_once(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With request slots to spare, a finished activation's outcome is committed (and what it
    makes runnable started) at once, not after ``COMMIT_DELAY``: holding it there left slots
    idle (a 50 ms model, 16 slots: +20 % wall time)."""
    commits, calls = await _run(tmp_path, model_server, monkeypatch, concurrency=64)
    # holding there made it drain and refill: 28 commits for 82 calls; acting at once 46
    assert len(commits) > calls * 0.4, f"{len(commits)} commits for {calls} calls"


class _EarlierClient:
    """A client written against the protocol before ``saturated()``: everything else delegated."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "saturated":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_a_client_without_saturated_still_runs(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"city": [f"district {i}" for i in range(4)]}))
    swarm = Swarm.create("plan a city", space=tmp_path)
    llm = client_for(server, concurrency=1)
    try:
        outcome = await swarm.run(RunOptions(llm=_EarlierClient(llm), poll_interval=0.05))  # type: ignore[arg-type]
    finally:
        await llm.aclose()
    assert outcome.status == "finished"
