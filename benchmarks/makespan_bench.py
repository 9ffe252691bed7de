"""Makespan of a 200+ node tree vs its critical-path bound, and engine CPU per node.

The tree: a manager splits the directive into 8 parts; each part is delegated
to a nested manager that splits it into 4 pieces; each piece is delegated again
and split into 2 (250 nodes, ~300 model calls, 3 levels of managers). The
critical-path bound is computed from the recorded history: for each node, the
calls of its first activation, then the slowest child, then the calls of its
later activations (review), each call costing the server latency.
Run: ``python -m benchmarks.makespan_bench``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.model_process import model_process
from swarm_star.api import Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from swarm_star.state.projection import SwarmState
from swarm_star.testing.scripted import ScriptedModel

PARTS = 8


def script() -> ScriptedModel:
    return ScriptedModel(
        plans={
            "big program": [f"part {i}" for i in range(PARTS)],
            "part ": [f"piece {j}" for j in range(4)],
            "piece ": ["left side", "right side"],
        },
        routes={"part ": "planning/delegate", "piece ": "planning/delegate"},
    )


def critical_calls(state: SwarmState, node_id: str) -> int:
    node = state.nodes[node_id]
    first = sum(1 for key in node.calls if key.startswith("0:"))
    later = len(node.calls) - first
    children = max((critical_calls(state, c) for c in node.children), default=0)
    return first + children + later


async def one_run(base_url: str, space: Path) -> tuple[float, float, SwarmState]:
    settings = SwarmSettings(limits=Limits(concurrency=512, max_nodes=1000, max_calls=5000, max_depth=12))
    swarm = Swarm.create("run the big program", space=space, settings=settings)
    llm = LLMClient(Endpoint(base_url, "none", None), ModelSettings(base_url=base_url))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    outcome = await swarm.run(llm=llm, poll_interval=0.05)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await llm.aclose()
    assert outcome.status == "finished", outcome
    state = swarm.tree()
    swarm.close()
    return wall, cpu, state


def run(latency: float = 0.05) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with model_process(script(), latency) as url:
            wall, _, state = asyncio.run(one_run(url, Path(tmp) / "a"))
        bound = critical_calls(state, "0") * latency
        results.update(
            nodes=len(state.nodes),
            calls=state.usage.calls,
            makespan=wall,
            bound=bound,
            ratio=wall / bound,
        )
        print(
            f"{len(state.nodes)} nodes, {state.usage.calls} calls, latency {latency * 1000:.0f} ms: "
            f"makespan {wall:.3f} s, critical-path bound {bound:.3f} s, ratio {wall / bound:.3f} (target <= 1.10)"
        )
        with model_process(script(), 0.0) as url:
            wall, cpu, state = asyncio.run(one_run(url, Path(tmp) / "b"))
        per_node = cpu / len(state.nodes) * 1000
        results.update(cpu_ms_per_node=per_node, zero_latency_wall=wall)
        print(
            f"zero latency: wall {wall:.3f} s, engine process CPU {cpu:.3f} s = {per_node:.2f} ms per node "
            f"({cpu / state.usage.calls * 1000:.2f} ms per model call)"
        )
    return results


if __name__ == "__main__":
    run()
