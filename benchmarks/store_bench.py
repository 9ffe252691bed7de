"""Frames written per second: plain sqlite3 vs our SQLite store vs the Cosmos server.

Every SQLite variant runs in WAL mode with the same ``synchronous`` setting, on
the same disk, side by side in one run, so the ratio is what matters.
Run: ``python -m benchmarks.store_bench [--frames N] [--cosmos]``.

``--before DIR`` (a folder holding ``swarm_star``, e.g. ``git archive main`` unpacked) compares
our store as it is with that code instead: each variant in a fresh process, old and new
alternating, frames per second and new ÷ old (issue 25: a batch over two tables).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from swarm_star.models import Spawn, SwarmEvent, SwarmRecord
from swarm_star.models.node import NodeRole
from swarm_star.state.history import SwarmLog
from swarm_star.state.projection import SwarmState
from swarm_star.store import KVStore, Put, SqliteStore


def _frame(i: int) -> tuple[dict, dict]:
    event = SwarmEvent(
        frame=i,
        time=time.time(),
        op=Spawn(node_id=f"n{i}", parent_id=None, role=NodeRole.ACTION, action_id="a", directive="d" * 80),
    )
    node = {"id": f"n{i}", "status": "pending", "directive": "d" * 80, "usage": {"calls": 0}}
    return event.model_dump(mode="json"), node


def plain_sqlite(path: Path, frames: int, sync: str, per_commit: int = 1) -> float:
    """Plain sqlite3 committing ``per_commit`` frames (each frame + its node row) per transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)")
    payload = [_frame(i) for i in range(frames)]
    start = time.perf_counter()
    for base in range(0, frames, per_commit):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(base, min(base + per_commit, frames)):
            event, node = payload[i]
            conn.execute("REPLACE INTO kv VALUES (?, ?)", (f"swarm_history_{i:09d}", json.dumps(event)))
            conn.execute("REPLACE INTO kv VALUES (?, ?)", (f"swarm_state_node_n{i}", json.dumps(node)))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return frames / elapsed


def store_frames(store: KVStore, frames: int, per_commit: int) -> float:
    payload = [_frame(i) for i in range(frames)]
    start = time.perf_counter()
    for base in range(0, frames, per_commit):
        ops = []
        for i in range(base, min(base + per_commit, frames)):
            event, node = payload[i]
            ops.append(Put(f"swarm_history_{i:09d}", event))
            ops.append(Put(f"swarm_state_node_n{i}", node))
        store.commit(ops)
    return frames / (time.perf_counter() - start)


def swarm_log_frames(store: KVStore, frames: int) -> float:
    """The engine's real write path: SwarmLog.append with create-only frame + node + meta."""
    log = SwarmLog(store)
    record = SwarmRecord(swarm_id="bench", directive="bench", created_at=time.time())
    store.commit(SwarmLog.creation(record))
    state = SwarmState.new(record)
    start = time.perf_counter()
    for i in range(frames):
        event = SwarmEvent(
            frame=i,
            time=time.time(),
            op=Spawn(
                node_id=f"n{i}",
                parent_id=None if i == 0 else "n0",
                role=NodeRole.ACTION,
                action_id="a",
                directive="d" * 80,
            ),
        )
        state.apply(event)
        log.append([event], state, [f"n{i}"])
    return frames / (time.perf_counter() - start)


VARIANTS = {
    "1 frame/commit": lambda store, frames: store_frames(store, frames, 1),
    "16 frames/commit": lambda store, frames: store_frames(store, frames, 16),
    "SwarmLog.append": swarm_log_frames,
}
"""What ``--before`` compares: unconditional batches of frames and node records, and the engine's
write path (create-only frames, so a conditional batch)."""


def one(variant: str, path: str, frames: int, sync: str) -> tuple[float, float]:
    """Frames per second of one variant on a new store at ``path`` (run in a process of its own),
    and the process's CPU per frame in µs (every thread: sqlitedict's does the SQLite work)."""
    with SqliteStore(path, synchronous=sync) as store:  # type: ignore[arg-type]
        started = time.process_time()
        rate = float(VARIANTS[variant](store, frames))
        return rate, (time.process_time() - started) / frames * 1e6


def compare(before: Path, frames: int, repeats: int, syncs: tuple[str, ...] = ("NORMAL", "FULL")) -> dict[str, float]:
    """Our store now vs the code in ``before``, each run a fresh process, alternating."""
    root = Path(__file__).resolve().parent.parent
    results: dict[str, float] = {}
    code = "import sys; from benchmarks.store_bench import one; a = sys.argv; print(*one(a[1], a[2], int(a[3]), a[4]))"
    with tempfile.TemporaryDirectory() as tmp:
        print(f"median of {repeats}, old ({before}) and new alternating, each run a fresh process;")
        print("CPU = the process's (all threads) per frame written, new ÷ old = median of the runs' ratios")
        print("| synchronous | variant | frames/s old | frames/s new | CPU/frame old | CPU/frame new | CPU new ÷ old |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for sync in syncs:
            for variant in VARIANTS:
                runs: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
                for k in range(repeats):
                    for label, path in (("old", before), ("new", root)):
                        env = {**os.environ, "PYTHONPATH": f"{path}{os.pathsep}{root}"}
                        db = f"{tmp}/{label}-{sync}-{variant.replace(' ', '_').replace('/', '_')}-{k}.db"
                        argv = [sys.executable, "-c", code, variant, db, str(frames), sync]
                        out = subprocess.run(argv, env=env, cwd=root, capture_output=True, text=True, check=True)
                        rate, cpu = out.stdout.split()[-2:]
                        runs[label].append((float(rate), float(cpu)))
                old, new = (statistics.median(r for r, _ in runs[k]) for k in ("old", "new"))
                old_cpu, new_cpu = (statistics.median(c for _, c in runs[k]) for k in ("old", "new"))
                ratio = statistics.median(n[1] / o[1] for n, o in zip(runs["new"], runs["old"], strict=True))
                rates = f"{old:,.0f} | {new:,.0f}"
                print(f"| {sync} | {variant} | {rates} | {old_cpu:.0f} µs | {new_cpu:.0f} µs | {ratio:.2f} |")
                results[f"{variant}_{sync}_cpu_ratio"] = ratio
    return results


def run(frames: int = 2000, cosmos_env: dict[str, str] | None = None, repeats: int = 3) -> dict[str, float]:
    """Each of ours is compared with plain sqlite3 doing the same batching (1 frame per
    transaction vs 1, 16 vs 16); variants alternate, median of ``repeats`` runs each."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for sync in ("FULL", "NORMAL"):
            runs: dict[str, list[float]] = {k: [] for k in ("plain1", "ours1", "plain16", "ours16", "log")}
            for k in range(repeats):
                runs["plain1"].append(plain_sqlite(d / f"plain1-{sync}-{k}.db", frames, sync, 1))
                with SqliteStore(d / f"ours1-{sync}-{k}.db", synchronous=sync) as s:  # type: ignore[arg-type]
                    runs["ours1"].append(store_frames(s, frames, 1))
                runs["plain16"].append(plain_sqlite(d / f"plain16-{sync}-{k}.db", frames, sync, 16))
                with SqliteStore(d / f"ours16-{sync}-{k}.db", synchronous=sync) as s:  # type: ignore[arg-type]
                    runs["ours16"].append(store_frames(s, frames, 16))
                with SqliteStore(d / f"log-{sync}-{k}.db", synchronous=sync) as s:  # type: ignore[arg-type]
                    runs["log"].append(swarm_log_frames(s, frames))
            m = {k: statistics.median(v) for k, v in runs.items()}
            r1 = statistics.median(o / p for o, p in zip(runs["ours1"], runs["plain1"], strict=True))
            r16 = statistics.median(o / p for o, p in zip(runs["ours16"], runs["plain16"], strict=True))
            rlog = statistics.median(o / p for o, p in zip(runs["log"], runs["plain1"], strict=True))
            results.update(
                {
                    f"plain_sqlite3_1_{sync}": m["plain1"],
                    f"ours_1_{sync}": m["ours1"],
                    f"ratio_1_{sync}": r1,
                    f"plain_sqlite3_16_{sync}": m["plain16"],
                    f"ours_16_{sync}": m["ours16"],
                    f"ratio_16_{sync}": r16,
                    f"swarmlog_append_{sync}": m["log"],
                    f"ratio_swarmlog_{sync}": rlog,
                }
            )
            print(f"synchronous={sync} (frames/s, median of {repeats} alternating runs; ratio = median of run ratios)")
            print(f"  1 frame/commit:   plain sqlite3 {m['plain1']:8.0f}  ours {m['ours1']:8.0f}  ratio {r1:5.2f}")
            print(f"  16 frames/commit: plain sqlite3 {m['plain16']:8.0f}  ours {m['ours16']:8.0f}  ratio {r16:5.2f}")
            print(f"  SwarmLog.append (frame+node+meta, 1/commit) {m['log']:8.0f}  vs plain 1/commit {rlog:5.2f}")
    if cosmos_env:
        from swarm_star.store.cosmos import CosmosSettings, CosmosStore, open_cosmos_container

        container = open_cosmos_container(CosmosSettings(cosmos_env))
        n = min(frames, 200)
        store = CosmosStore(container, user_id="bench", swarm_id=f"b{int(time.time())}")
        single = store_frames(store, n, 1)
        store = CosmosStore(container, user_id="bench", swarm_id=f"c{int(time.time())}")
        batched = store_frames(store, n, 16)
        results["cosmos_single"], results["cosmos_batch16"] = single, batched
        print(
            f"cosmos-compatible server ({store.batch_mode} batches): 1 frame/commit {single:6.0f} frames/s, "
            f"16 frames/commit {batched:6.0f} frames/s"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--cosmos", action="store_true", help="also start the test Cosmos server")
    parser.add_argument("--before", type=Path, help="compare with this code (a folder holding swarm_star) instead")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.before is not None:
        compare(args.before, args.frames, args.repeats)
    elif args.cosmos:
        from benchmarks.cosmos_server import running_cosmos_server

        with running_cosmos_server() as env:
            run(args.frames, env)
    else:
        run(args.frames)


if __name__ == "__main__":
    main()
