"""The engine and its store against LangGraph, side by side, at 226 calls and at ~1,000 and ~10,000 nodes.

The work: a manager plans 8 parts; every part is routed, a part above the
last level is delegated to a manager that plans 8 parts of its own, a part of
the last level is answered, and every manager reviews its parts. ``levels``
sets the depth: 2 is the 226-call tree of ``langgraph_bench``, 3 about 1,400
nodes, 4 about 11,000. Swarm Star runs its real engine and SQLite store
(synchronous=FULL); LangGraph 1.2 runs the same tree as nested graphs (``Send``
fan-out, ``AsyncSqliteSaver``, ``durability="sync"``); both through the same
``LLMClient`` against the scripted server in another process.

Every run is a fresh process (spawned), so its peak RSS and CPU are its own, on the event
loop a user's command gets (``swarm_star.eventloop``; both sides on the same loop;
``SWARM_STAR_EVENT_LOOP=asyncio`` for the standard one);
the variants alternate within each round and each figure is the median of the
rounds, so the machine's load falls on both sides alike. Rows:

- CPU per node at ~1,000 and ~10,000 nodes, and the ratio (flat: ≤ 1.2), with
  the share of CPU spent in the garbage collector;
- process CPU per model call on the 226-call tree, Swarm Star ÷ LangGraph, and for the whole
  tree (the same 64 answers: since issue 25's one-call menus Swarm Star makes 82 calls for
  it, LangGraph 226, so a ratio per call compares different amounts of work per call); the
  same with the client's own CPU taken out: both sides use the same ``LLMClient``, and the
  requests each side sent are sent again by the client alone, one at a time, after the run
  (``langgraph_bench.client_floor``), which gives the client's share;
- CPU per call with 1 request in flight ÷ with 512 (the ~1,000-node tree);
- bytes stored per model call (database file after a WAL checkpoint), ÷ LangGraph, and the
  bytes for the same tree (the two make different numbers of calls for it);
- peak RSS of the ~10,000-node run, ÷ LangGraph.

Run: ``python -m benchmarks.engine_bench [--rounds N] [--skip-10k] [--before SOURCE_TREE] [--only ss3,ss4]``
(``--before``: also run Swarm Star's variants from another checkout, e.g. ``git archive`` of the
commit before a change, alternating with this one in the same rounds).
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import itertools
import json
import multiprocessing as mp
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.model_process import model_process

NAMES = ("area", "block", "lot", "unit")


def root(levels: int) -> str:
    return f"build estate{levels}"


def script() -> Any:
    """One scripted server for every depth: the names of a tree's parts carry its depth."""
    from swarm_star.testing.scripted import ScriptedModel

    plans: dict[str, list[str]] = {}
    routes: dict[str, str | None] = {}
    for levels in (2, 3, 4):
        names = [f"{name}{levels}" for name in NAMES[:levels]]
        plans[f"estate{levels}"] = [f"{names[0]} {i}" for i in range(8)]
        for above, below in itertools.pairwise(names):
            plans[f"{above} "] = [f"{below} {i}" for i in range(8)]
            routes[f"{above} "] = "planning/delegate"
    return ScriptedModel(plans=plans, routes=routes)


def _db_bytes(folder: Path) -> int:
    """Bytes of every SQLite database under ``folder`` after a WAL checkpoint (page slack included)."""
    total = 0
    for path in folder.rglob("*"):
        if path.suffix in (".db", ".sqlite") and path.is_file():
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            total += path.stat().st_size
    return total


class _GcClock:
    """CPU time spent inside the garbage collector (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds += time.process_time() - self._start


Sent = list[tuple[list[dict[str, str]], Any]]


def _recording(url: str, in_flight: int, sent: Sent) -> Any:
    """Our ``LLMClient``, noting each request (for :func:`_client_alone`) and counting the calls."""
    from swarm_star.llm import Endpoint, LLMClient
    from swarm_star.models import ModelSettings

    class Recording(LLMClient):
        calls = 0

        async def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
            self.calls += 1
            sent.append((messages, kwargs.get("schema")))
            return await super().chat(messages, **kwargs)

    return Recording(Endpoint(url, "none", None), ModelSettings(base_url=url, concurrency=in_flight))


async def _client_alone(url: str, sent: Sent, in_flight: int) -> tuple[float, float]:
    """CPU seconds the client alone takes for ``sent``: one request at a time, and all of them at
    once (up to ``in_flight``). What both sides pay for their calls whatever orchestrates them;
    a run has between one and all of its requests in flight, so its client share lies between."""
    from benchmarks.langgraph_bench import client_floor
    from swarm_star.llm import Endpoint, LLMClient
    from swarm_star.models import ModelSettings

    if not sent:
        return 0.0, 0.0
    one_at_a_time = await client_floor(url, sent)
    llm = LLMClient(Endpoint(url, "none", None), ModelSettings(base_url=url, concurrency=in_flight))
    await llm.chat(sent[0][0], schema=sent[0][1])  # the connection and the SDK warm: not measured
    cpu = time.process_time()
    await asyncio.gather(*(llm.chat(messages, schema=schema) for messages, schema in sent))
    all_at_once = time.process_time() - cpu
    await llm.aclose()
    return one_at_a_time, all_at_once


async def _swarm_star(url: str, folder: Path, levels: int, in_flight: int, sent: Sent) -> tuple[int, int]:
    from swarm_star.api import RunOptions, Swarm
    from swarm_star.models import Limits, SwarmSettings

    limits = Limits(max_nodes=20_000, max_calls=100_000, max_depth=16, max_tokens=10**9, concurrency=256)
    swarm = Swarm.create(root(levels), space=folder, settings=SwarmSettings(limits=limits))
    llm = _recording(url, in_flight, sent)
    outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.05))
    await llm.aclose()
    assert outcome.status == "finished", outcome
    # the counts from the stored meta: LangGraph's side reads nothing back either (this was
    # ``swarm.tree()``, a replay of the whole history: 16 ms of the 226-call tree's ~240)
    meta = swarm.log.read_meta()
    swarm.close()
    return int(meta["nodes"]), int(meta["usage"]["calls"])


async def _langgraph(url: str, folder: Path, levels: int, in_flight: int, sent: Sent) -> tuple[int, int]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from benchmarks.langgraph_bench import build_graph
    from swarm_star import prompts

    llm = _recording(url, in_flight, sent)
    folder.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(folder / "checkpoints.sqlite")) as saver:
        graph = build_graph(llm, prompts.planning.Plan, prompts.review.Review, levels).compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "1"}}
        result = await graph.ainvoke({"directive": root(levels)}, config, durability="sync")
    await llm.aclose()
    assert result["final"].startswith("Done:"), result
    parts = sum(8**k for k in range(1, levels + 1))  # every part of every level, as LangGraph has no nodes
    return parts, llm.calls


def _run_loop(main: Any) -> Any:
    """Run ``main`` on the loop a user's command gets (``swarm_star.eventloop``: uvloop where
    installed, ``SWARM_STAR_EVENT_LOOP=asyncio`` for the standard one); code from before that
    module ran on asyncio's. LangGraph's side runs on the same loop as ours in its process.
    The output names each variant's loop: a before/after pair may differ in it (set
    ``SWARM_STAR_EVENT_LOOP=asyncio`` to compare another change alone)."""
    try:
        from swarm_star.eventloop import run
    except ImportError:
        return asyncio.run(main)
    return run(main)


def _loop_used() -> float:
    """1.0 when the runs of this process are on uvloop, else 0.0 (a figure among the others)."""

    async def name() -> bool:
        return type(asyncio.get_running_loop()).__module__.startswith("uvloop")

    return float(_run_loop(name()))


def _measure(kind: str, url: str, levels: int, in_flight: int, code: str | None) -> dict[str, float]:
    """One run in this (fresh) process: CPU, GC share, calls, nodes, bytes, peak RSS.
    ``code``: a source tree whose ``swarm_star`` to run instead of this one (a before/after pair)."""
    if code is not None:
        sys.path.insert(0, code)
    clock = _GcClock()
    gc.callbacks.append(clock)
    runner = _swarm_star if kind == "swarm_star" else _langgraph
    sent: Sent = []
    with tempfile.TemporaryDirectory() as tmp:
        _run_loop(runner(url, Path(tmp) / "warm-up", 2, in_flight, []))  # imports, SDK set-up: not measured
        gc.collect()
        clock.seconds = 0.0
        cpu = time.process_time()
        nodes, calls = _run_loop(runner(url, Path(tmp) / "run", levels, in_flight, sent))
        cpu = time.process_time() - cpu
        gc_seconds = clock.seconds
        stored = _db_bytes(Path(tmp) / "run")
        client, client_batched = _run_loop(_client_alone(url, sent, in_flight)) if levels == 2 else (0.0, 0.0)
    return {
        "cpu": cpu,
        "client": client,
        "client_batched": client_batched,
        "gc": gc_seconds,
        "nodes": nodes,
        "calls": calls,
        "bytes": stored,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "uvloop": _loop_used(),
    }


def measure(kind: str, url: str, levels: int, in_flight: int = 512, code: str | None = None) -> dict[str, float]:
    """:func:`_measure` in a spawned process (clean heap, its own peak RSS)."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure, (kind, url, levels, in_flight, code))


VARIANTS = {
    "ss2": ("swarm_star", 2, 512),
    "lg2": ("langgraph", 2, 512),
    "ss3": ("swarm_star", 3, 512),
    "ss3_1": ("swarm_star", 3, 1),
    "lg3": ("langgraph", 3, 512),
    "ss4": ("swarm_star", 4, 512),
    "lg4": ("langgraph", 4, 512),
}
"""name -> (system, levels, requests in flight); Swarm Star's are also run from ``--before`` code."""


def run(
    rounds: int = 3, big: bool = True, before: str | None = None, only: list[str] | None = None
) -> dict[str, float]:
    """The rows, medians of ``rounds`` alternating rounds; with ``before`` (a source tree of
    the code before a change) each Swarm Star variant also runs from it, in the same rounds.
    ``only``: run just these variants (a row whose variants did not run is left out)."""
    names = [v for v in VARIANTS if (big or not v.endswith("4")) and (only is None or v in only)]
    if before is not None:
        names += [f"{v}_before" for v in names if v.startswith("ss")]
        names.sort(key=lambda v: list(VARIANTS).index(v.removesuffix("_before")))
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in names}
    with model_process(script(), 0.0) as url:
        for r in range(rounds):
            for name in names:
                kind, levels, in_flight = VARIANTS[name.removesuffix("_before")]
                runs[name].append(measure(kind, url, levels, in_flight, before if name.endswith("_before") else None))
                print(json.dumps({"round": r, "variant": name, **runs[name][-1]}), file=sys.stderr, flush=True)

    def med(name: str, fn: Any) -> float:
        return statistics.median(fn(x) for x in runs[name])

    def per_node(name: str) -> float:
        return med(name, lambda x: x["cpu"] / x["nodes"] * 1000)

    def per_call(name: str) -> float:
        return med(name, lambda x: x["cpu"] / x["calls"] * 1000)

    def size(name: str) -> float:
        return med(name, lambda x: x["bytes"] / x["calls"])

    def stored(name: str) -> float:
        return med(name, lambda x: x["bytes"] / 1000)

    def rss(name: str) -> float:
        return med(name, lambda x: x["rss_mb"])

    out: dict[str, float] = {}

    def row(label: str, key: str, fn: Any, ours: str, theirs: str, unit: str, goal: str) -> None:
        if ours not in runs or theirs not in runs:
            return
        a, b = fn(ours), fn(theirs)
        out[key] = a / b
        line = f"  {label}: Swarm Star {a:,.3f} {unit}, {theirs_label(theirs)} {b:,.3f} {unit}, ratio {a / b:.3f}" + (
            f" ({goal})" if goal else ""
        )
        if f"{ours}_before" in runs:
            mine = f"{theirs}_before" if f"{theirs}_before" in runs else theirs
            a0, b0 = fn(f"{ours}_before"), fn(mine)
            out[f"{key}_before"] = a0 / b0
            line += f"; before: {a0:,.3f} {unit}, ratio {a0 / b0:.3f}"
        print(line)

    def theirs_label(name: str) -> str:
        return (
            "LangGraph" if name.startswith("lg") else {"ss3": "512 in flight", "ss3_1": "1 in flight"}.get(name, name)
        )

    print(f"median of {rounds} alternating rounds, each run a fresh process; zero-latency scripted server")
    for name in names:
        first = runs[name][0]
        gc_share = med(name, lambda x: x["gc"] / x["cpu"] * 100)
        loop = "uvloop" if first.get("uvloop") else "asyncio"
        print(
            f"  {name} [{loop}]: {int(first['nodes']):,} nodes (LangGraph: parts), {int(first['calls']):,} calls;"
            f" CPU per node {per_node(name):.3f} ms, per call {per_call(name):.3f} ms, GC {gc_share:.1f} % of CPU"
        )

    def per_tree(name: str) -> float:
        return med(name, lambda x: x["cpu"] * 1000)

    def client_per_call(name: str, key: str = "client") -> float:
        return med(name, lambda x: x[key] / x["calls"] * 1000)

    def own_per_tree(name: str, key: str = "client") -> float:
        return med(name, lambda x: (x["cpu"] - x[key]) * 1000)

    row("CPU per model call, 226-call tree", "cpu_per_call", per_call, "ss2", "lg2", "ms", "goal <= 0.7")
    row("CPU for the whole 226-call tree (the same 64 answers)", "cpu_per_tree", per_tree, "ss2", "lg2", "ms", "")
    row("the client alone per call, one at a time", "client", client_per_call, "ss2", "lg2", "ms", "")
    row(
        "the client alone per call, all at once",
        "client_batched",
        lambda n: client_per_call(n, "client_batched"),
        "ss2",
        "lg2",
        "ms",
        "",
    )
    row("CPU per tree less the client's (one at a time)", "own_per_tree", own_per_tree, "ss2", "lg2", "ms", "")
    row(
        "CPU per tree less the client's (all at once)",
        "own_per_tree_batched",
        lambda n: own_per_tree(n, "client_batched"),
        "ss2",
        "lg2",
        "ms",
        "",
    )
    row("bytes stored per call, 226-call tree", "bytes_per_call", size, "ss2", "lg2", "B", "goal <= 1.5")
    row(  # the same work: Swarm Star now makes fewer calls than LangGraph for this tree (82 vs 226)
        "bytes stored for the same tree, 226-call tree", "bytes_per_tree", stored, "ss2", "lg2", "kB", "÷ LangGraph"
    )
    row("CPU per call, ~1,000 nodes, 1 in flight", "one_in_flight", per_call, "ss3_1", "ss3", "ms", "goal <= 1.2")
    if big:
        row(
            "CPU per node, ~10,000 nodes",
            "per_node_10k_vs_1k",
            per_node,
            "ss4",
            "ss3",
            "ms",
            "÷ ~1,000 nodes; goal <= 1.2",
        )
        row("LangGraph CPU per part, 10,000 nodes", "lg_per_part", per_node, "lg4", "lg3", "ms", "÷ ~1,000 nodes")
        row("bytes stored per call, ~10,000 nodes", "bytes_per_call_10k", size, "ss4", "lg4", "B", "goal <= 1.5")
        row("bytes stored for the same tree, ~10,000 nodes", "bytes_10k", stored, "ss4", "lg4", "kB", "÷ LangGraph")
        row("peak RSS, ~10,000 nodes", "rss_10k", rss, "ss4", "lg4", "MB", "goal <= 1")
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (each figure is their median)")
    parser.add_argument("--skip-10k", action="store_true", help="leave out the ~10,000-node runs")
    parser.add_argument("--before", help="also run Swarm Star's variants from this source tree (e.g. a git archive)")
    parser.add_argument("--only", help="comma-separated variants, e.g. ss3,ss4 or ss4,lg4 (lg*: needs langgraph)")
    options = parser.parse_args()
    only = options.only.split(",") if options.only else None
    if any(name.startswith("lg") for name in only or ("lg",)) and importlib.util.find_spec("langgraph") is None:
        parser.error(
            "the LangGraph variants need langgraph and langgraph-checkpoint-sqlite (pip install -e '.[bench]')"
        )
    run(options.rounds, big=not options.skip_10k, before=options.before, only=only)
