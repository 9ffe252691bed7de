"""Scale: a swarm of over 10,000 nodes against the zero-latency local server.

Tree: four levels of managers, 8 parts each (8 areas > 8 blocks > 8 lots >
8 units), every part routed and the non-leaf parts delegated; the managers of
"block 0" re-plan once (one more round each), which takes the tree past
10,000 nodes. Figures: peak memory of the process, time per node as the tree
grows (per tenth of the nodes, from the frames' own timestamps: it should stay
flat), time to read one history frame, and time to rebuild the tree at a
frame. Run: ``python -m benchmarks.scale_bench``.
"""

from __future__ import annotations

import asyncio
import random
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.model_process import model_process
from swarm_star.api import Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from swarm_star.testing.scripted import ScriptedModel


def script() -> ScriptedModel:
    def parts(name: str) -> list[str]:
        return [f"{name} {i}" for i in range(8)]

    return ScriptedModel(
        plans={"huge": parts("area"), "area ": parts("block"), "block ": parts("lot"), "lot ": parts("unit")},
        routes={"area ": "planning/delegate", "block ": "planning/delegate", "lot ": "planning/delegate"},
        replan={"block 0"},
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def grow(url: str, space: Path) -> tuple[Swarm, float, float]:
    limits = Limits(max_nodes=20_000, max_calls=100_000, max_depth=16, max_tokens=10**9, concurrency=256)
    swarm = Swarm.create("build the huge estate", space=space, settings=SwarmSettings(limits=limits))
    llm = LLMClient(Endpoint(url, "none", None), ModelSettings(base_url=url, concurrency=512))
    cpu, wall = time.process_time(), time.perf_counter()
    outcome = await swarm.run(llm=llm, poll_interval=0.05)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await llm.aclose()
    assert outcome.status == "finished", outcome
    return swarm, wall, cpu


def run() -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base_rss = _rss_mb()
        with model_process(script(), 0.0) as url:
            swarm, wall, cpu = asyncio.run(grow(url, Path(tmp)))
        peak = _rss_mb()
        state = swarm.tree()
        nodes, calls, frames = len(state.nodes), state.usage.calls, state.frame_count
        results.update(nodes=nodes, calls=calls, frames=frames, wall_s=wall, peak_rss_mb=peak)
        print(
            f"{nodes:,} nodes, {calls:,} calls, {frames:,} frames: wall {wall:.1f} s, engine CPU {cpu:.1f} s "
            f"({cpu / nodes * 1000:.2f} ms per node); peak RSS {peak:.0f} MB (before the run {base_rss:.0f} MB)"
        )

        spawn_times = [e.time for e in swarm.history() if e.op.kind == "spawn"]
        tenth = len(spawn_times) // 10
        per_node = [
            (spawn_times[min((k + 1) * tenth, len(spawn_times) - 1)] - spawn_times[k * tenth]) / tenth * 1000
            for k in range(10)
        ]
        print("ms per node, by tenth of the tree: " + " ".join(f"{v:.2f}" for v in per_node))
        results["per_node_first_tenth_ms"], results["per_node_last_tenth_ms"] = per_node[0], per_node[-1]

        rng = random.Random(7)
        picks = [rng.randrange(frames) for _ in range(200)]
        started = time.perf_counter()
        for frame in picks:
            swarm.log.frame(frame)
        read_ms = (time.perf_counter() - started) / len(picks) * 1000
        started = time.perf_counter()
        half = swarm.tree(frames // 2)
        half_s = time.perf_counter() - started
        started = time.perf_counter()
        full = swarm.tree()
        full_s = time.perf_counter() - started
        assert len(full.nodes) == nodes and 0 < len(half.nodes) < nodes
        results.update(read_frame_ms=read_ms, rebuild_half_s=half_s, rebuild_full_s=full_s)
        print(
            f"read one history frame: {read_ms:.3f} ms; rebuild the tree at frame {frames // 2:,}: {half_s:.2f} s; "
            f"at the last frame: {full_s:.2f} s"
        )
        swarm.close()
    return results


if __name__ == "__main__":
    run()
