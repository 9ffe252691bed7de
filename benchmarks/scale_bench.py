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
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.model_process import model_process
from swarm_star.api import RunOptions, Swarm
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


_CHILD_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
)


def command_rss_mb(argv: list[str]) -> float:
    """Peak RSS (MB) of one command run as its own process."""
    out = subprocess.run([sys.executable, "-c", _CHILD_RSS, *argv], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def store_figures(db: Path) -> dict[str, float]:
    """File size after a WAL checkpoint, and bytes of history frames vs shared text rows."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT substr(key, 1, 11), sum(length(key) + length(value)), count(*) FROM kv GROUP BY 1")
        by_prefix = {prefix: (size, count) for prefix, size, count in rows}
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'log'").fetchone():  # stores since issue 25
            size, count = conn.execute("SELECT sum(length(value)), count(*) FROM log").fetchone()
            by_prefix["swarm_histo"] = (size or 0, count)
    frames = by_prefix.get("swarm_histo", (0, 0))
    texts = by_prefix.get("swarm_text_", (0, 0))
    return {
        "file_mb": db.stat().st_size / 1e6,
        "frames_mb": frames[0] / 1e6,
        "shared_text_mb": texts[0] / 1e6,
        "shared_text_rows": texts[1],
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def grow(url: str, space: Path) -> tuple[Swarm, float, float]:
    limits = Limits(max_nodes=20_000, max_calls=100_000, max_depth=16, max_tokens=10**9, concurrency=256)
    swarm = Swarm.create("build the huge estate", space=space, settings=SwarmSettings(limits=limits))
    llm = LLMClient(Endpoint(url, "none", None), ModelSettings(base_url=url, concurrency=512))
    cpu, wall = time.process_time(), time.perf_counter()
    outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.05))
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
        swarm_id, space = swarm.id, Path(tmp)
        swarm.close()

        db = next(space.rglob("*.db"))
        figures = store_figures(db)
        results.update({f"store_{k}": v for k, v in figures.items()}, bytes_per_call=db.stat().st_size / calls)
        print(
            f"store: {figures['file_mb']:.1f} MB file ({db.stat().st_size / calls:,.0f} B per model call); "
            f"history frames {figures['frames_mb']:.1f} MB, shared prompt text {figures['shared_text_mb']:.2f} MB "
            f"in {figures['shared_text_rows']:,} rows (target: under 15 MB)"
        )
        cli = [str(Path(sys.executable).parent / "swarm-star"), "--space", str(space)]
        rss_history = command_rss_mb([*cli, "history", swarm_id, "--json"])
        rss_tree = command_rss_mb([*cli, "tree", swarm_id, "--frame", str(frames // 2)])
        rss_list = command_rss_mb([*cli, "list"])
        results.update(rss_history_json_mb=rss_history, rss_tree_frame_mb=rss_tree, rss_list_mb=rss_list)
        print(
            f"peak RSS as a process: history --json {rss_history:.0f} MB, tree --frame {frames // 2:,} "
            f"{rss_tree:.0f} MB, list {rss_list:.0f} MB (target: under 250 MB)"
        )
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    return results


if __name__ == "__main__":
    run()
