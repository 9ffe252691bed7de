"""InFlight: what an engine's journal has started and not yet recorded, with streamed pieces per call."""

from __future__ import annotations

import asyncio

from swarm_star.engine.flight import InFlight
from swarm_star.llm.streaming import STREAM_PROGRESS


async def test_parallel_calls_count_their_own_pieces_and_leave_when_done() -> None:
    flight = InFlight()
    gates = [asyncio.Event(), asyncio.Event()]

    async def call(number: int, pieces: int) -> None:
        with flight.track(f"0.{number}", "0:0", "plan", "call", "m"):
            progress = STREAM_PROGRESS.get()  # what the client's stream reports to
            assert progress is not None
            for piece in range(1, pieces + 1):
                progress(piece)
                await asyncio.sleep(0)
            await gates[number].wait()

    tasks = [asyncio.create_task(call(0, 3)), asyncio.create_task(call(1, 7))]
    for _ in range(20):
        await asyncio.sleep(0)
    seen = {f.node_id: f for f in flight.snapshot()}
    assert {k: f.received for k, f in seen.items()} == {"0.0": 3, "0.1": 7}
    assert all(f.model == "m" and f.kind == "call" and f.elapsed() >= 0 for f in seen.values())
    seen["0.0"].received = 99  # a snapshot is a copy
    assert {f.received for f in flight.snapshot()} == {3, 7}
    gates[0].set()
    await tasks[0]
    assert [f.node_id for f in flight.snapshot()] == ["0.1"]
    gates[1].set()
    await tasks[1]
    assert flight.snapshot() == [] and STREAM_PROGRESS.get() is None
