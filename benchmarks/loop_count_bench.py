"""Event-loop passes, ready handles and finalized async generators per model call, at 1 and
512 requests in flight: where one request at a time costs more, by counts load cannot blur.

Issue 25's goal compares CPU per call at 1 and 512 in flight; on a shared machine the CPU
ratio moves by ±10 % between runs. What the loop does per call does not: each pass of
``BaseEventLoop._run_once`` and each handle it runs are counted (the class's method and the
ready deque wrapped, in a fresh process), and so is every async generator left unfinished
and closed later by the loop's finalizer hook (a self-pipe wake-up, a task, a task step each).
The engine bench's tree (``engine_bench.py``, levels 3: ~1,242 nodes), after a warm-up run.
It runs on asyncio's own loop, whose passes Python can count (a command runs on uvloop where
installed, ``swarm_star.eventloop``: the same work in C, not countable from here).

Run: ``python -m benchmarks.loop_count_bench [--before SOURCE_TREE]`` (``--before``: the same
runs from another checkout, e.g. ``git archive`` of the commit before a change).
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing as mp
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.engine_bench import _swarm_star, script
from benchmarks.model_process import model_process

COUNTS = collections.Counter[str]()


class _CountingDeque(collections.deque):  # type: ignore[type-arg]
    def popleft(self) -> Any:
        COUNTS["handles"] += 1
        return super().popleft()


def _hook() -> None:
    """Count loop passes, handles run and the finalizer hook's calls (this process only)."""
    loop_class: Any = asyncio.BaseEventLoop
    run_once, finalize = loop_class._run_once, loop_class._asyncgen_finalizer_hook

    def counted_run_once(self: Any) -> None:
        COUNTS["passes"] += 1
        if type(self._ready) is not _CountingDeque:
            self._ready = _CountingDeque(self._ready)
        run_once(self)

    def counted_finalize(self: Any, agen: Any) -> None:
        COUNTS["finalized"] += 1
        finalize(self, agen)

    loop_class._run_once, loop_class._asyncgen_finalizer_hook = counted_run_once, counted_finalize


def _count(url: str, in_flight: int, code: str | None) -> dict[str, float]:
    """Counts per model call of one run in this (fresh) process."""
    if code is not None:
        sys.path.insert(0, code)
    _hook()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_swarm_star(url, Path(tmp) / "warm-up", 2, in_flight, []))  # imports, first connections
        COUNTS.clear()
        _, calls = asyncio.run(_swarm_star(url, Path(tmp) / "run", 3, in_flight, []))
    return {name: n / calls for name, n in COUNTS.items()}


def count(url: str, in_flight: int, code: str | None = None) -> dict[str, float]:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(_count, (url, in_flight, code))


def run(before: str | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    variants = [("now", None)] + ([("before", before)] if before else [])
    with model_process(script(), 0.0) as url:
        for in_flight in (1, 512):
            for name, code in variants:
                per_call = count(url, in_flight, code)
                shown = ", ".join(f"{key} {per_call.get(key, 0.0):.2f}" for key in ("passes", "handles", "finalized"))
                print(f"  {name}, {in_flight} in flight, per model call: {shown}")
                out |= {f"{name}_{in_flight}_{key}": value for key, value in per_call.items()}
    return out


if __name__ == "__main__":
    run(sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else None)
