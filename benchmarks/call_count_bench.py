"""Python function calls per node at ~150, ~1,240 and ~9,950 nodes: CPU growth that load cannot blur.

The engine bench's trees (``engine_bench.py``: the scripted server in another process,
512 requests in flight), each run once in a fresh process under ``cProfile``; the figure
is the profile's count of function calls (Python functions and builtins, on the event
loop's thread) divided by the tree's nodes. On a loaded machine CPU times of single runs
vary by ±20 % or more; a call count varies only with what the run does (the number of
model calls moves a little with timing: a briefing sees the memory that exists when its
node is spawned). What a node costs growing with the tree shows as calls per node growing.

Run: ``python -m benchmarks.call_count_bench [--before SOURCE_TREE] [--levels 3,4]``
(``--before``: the same runs from another checkout, e.g. ``git archive`` of the commit
before a change).
"""

from __future__ import annotations

import asyncio
import cProfile
import multiprocessing as mp
import pstats
import sys
import tempfile
from pathlib import Path

from benchmarks.engine_bench import _swarm_star, script
from benchmarks.model_process import model_process


def _count(url: str, levels: int, code: str | None) -> tuple[int, int, int]:
    """(nodes, model calls, function calls) of one profiled run in this (fresh) process."""
    if code is not None:
        sys.path.insert(0, code)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_swarm_star(url, Path(tmp) / "warm-up", 2, 512, []))  # imports: not counted
        profile = cProfile.Profile()
        profile.enable()
        nodes, calls = asyncio.run(_swarm_star(url, Path(tmp) / "run", levels, 512, []))
        profile.disable()
    return nodes, calls, pstats.Stats(profile).total_calls  # type: ignore[attr-defined]


def count(url: str, levels: int, code: str | None = None) -> tuple[int, int, int]:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(_count, (url, levels, code))


def run(levels: list[int], before: str | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    variants = [("now", None)] + ([("before", before)] if before else [])
    with model_process(script(), 0.0) as url:
        for name, code in variants:
            per_node = {}
            for level in levels:
                nodes, calls, functions = count(url, level, code)
                per_node[level] = functions / nodes
                print(f"  {name}: {nodes:,} nodes, {calls:,} model calls: {functions / nodes:,.0f} py calls per node")
                out[f"{name}_{level}"] = per_node[level]
            if len(levels) > 1:
                small, big = levels[0], levels[-1]
                print(f"  {name}: per node at level {big} ÷ level {small}: {per_node[big] / per_node[small]:.2f}")
    return out


if __name__ == "__main__":
    before = sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else None
    levels = [int(v) for v in sys.argv[sys.argv.index("--levels") + 1].split(",")] if "--levels" in sys.argv else [3, 4]
    run(levels, before)
