"""A deadline leaves time for the healthy agents: hanging ones cannot hold every slot.

A real local agent farm (aiohttp, many ports) and the real pool.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from swarm_star.primitives import AgentPool, PoolSettings, broadcast
from tests.helpers.agent_farm import AgentFarm


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
async def test_hanging_agents_do_not_starve_healthy_ones_under_a_deadline(tmp_path: Path) -> None:
    """40 agents, 30 % hang, 4 slots, a 60 s per-request timeout and an 8 s deadline.

    Before: the first hanging agents took all 4 slots for their full 60 s
    timeout, so most healthy agents were never asked before the deadline.
    """
    hanging = {i: "slow" for i in range(0, 40, 3)}  # 14 of 40
    farm = AgentFarm(40, latency=0.02, faults=hanging).start()
    try:
        settings = PoolSettings(max_in_flight=4, per_agent=1, timeout=60.0, retries=1, backoff=0.01)
        async with AgentPool.from_hostfile(farm.write_hostfile(tmp_path / "hosts"), settings) as pool:
            started = time.monotonic()
            result = await broadcast(pool, "hello", deadline=8.0)
            elapsed = time.monotonic() - started
    finally:
        farm.stop()
    healthy = [r for i, r in enumerate(result.replies) if i not in hanging]
    assert all(r.ok for r in healthy), [r.error for r in healthy if not r.ok][:3]
    assert not any(result.replies[i].ok for i in hanging)
    assert elapsed < 20
