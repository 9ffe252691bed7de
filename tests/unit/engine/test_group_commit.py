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


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_a_question_is_shown_only_once_its_frame_is_durable(
    tmp_path: Path, model_server: Any, concurrency: int
) -> None:
    """Write before act: a batch held while the request slots are taken may hold an ask_user
    frame; the prompt (``on_question``) showed it before it was stored (a kill -9 then lost a
    question the user had seen). Checked from inside the callback by a second reader."""
    plans = {"trip": ["ask the user about dates"] + [f"book hotel {i}" for i in range(12)]}
    script = ScriptedModel(plans=plans, routes={"ask the user": "interaction/ask_user_questions"})
    server = model_server(script, latency=0.05)
    swarm = Swarm.create("plan a trip", space=tmp_path)
    reader = Swarm.open(swarm.id, space=tmp_path)
    shown: list[tuple[str, bool]] = []
    llm = client_for(server, concurrency=concurrency)
    try:
        handle = swarm.run(RunOptions(llm=llm, interactive=True, poll_interval=0.05))

        def on_question(node: Any, question: Any) -> None:
            shown.append((question.id, question.id in {q.id for _, q in reader.questions()}))
            handle.answer(question.id, "next May")

        handle.on_question(on_question)
        outcome = await handle
    finally:
        await llm.aclose()
        reader.close()
    assert outcome.status == "finished"
    assert shown and all(durable for _, durable in shown), f"shown before it was durable: {shown}"


async def test_a_hold_ends_when_its_timer_fires_even_if_another_is_armed(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A held batch is committed at the first pass after its timer fires: a timer armed between
    the firing and that pass (a call recorded, an outcome applied) held it again, so frames
    waited several windows (20 ms windows: holds up to 130 ms; a third of the firings)."""
    after_firing: list[bool] = []  # did the first pass after each firing hold?
    real_due, real_holding = loop.Engine._commit_due, loop.Engine._holding

    def due(engine: loop.Engine) -> None:
        engine.__dict__["fired"] = True
        real_due(engine)

    def holding(engine: loop.Engine) -> bool:
        held = real_holding(engine)
        if engine.__dict__.pop("fired", False):
            after_firing.append(held)
        return held

    monkeypatch.setattr(loop.Engine, "_commit_due", due)
    monkeypatch.setattr(loop.Engine, "_holding", holding)
    plans = {"city": [f"district {i}" for i in range(8)], "district ": [f"block {i}" for i in range(8)]}
    server = model_server(ScriptedModel(plans=plans, routes={"district ": "planning/delegate"}), latency=0.002)
    swarm = Swarm.create("plan a city", space=tmp_path)
    llm = client_for(server, concurrency=1)
    try:
        outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.05))
    finally:
        await llm.aclose()
    assert outcome.status == "finished"
    assert after_firing, "no commit timer fired: nothing was held"
    assert not any(after_firing), f"{sum(after_firing)} of {len(after_firing)} firings held again"
