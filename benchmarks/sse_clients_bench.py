"""Many clients on the event stream: does the swarm still commit at its pace, and do they all keep up?

The server (``swarm-star serve``, its own process) runs a swarm of ~1,400 nodes
(~10,000 frames; the zero-latency scripted model in a third process) while
this process follows ``/events`` from frame 0 with 0, 1, 10 or 50 clients
(raw sockets counting events, so the clients cost little CPU next to the
server). Figures per run: the server process's CPU time per frame (user +
system, the steadiest figure on a shared machine), frames/s committed (from
the stored frames' own timestamps), frames/s delivered to the slowest client
(from arrival times), and the lag of the last frame; and of the server's CPU, its system time
and its worker threads' (read from /proc before it stops: a profile of the main thread misses
them). Each client leaves once it has every frame, so the server's CPU is the run's, not that of
streams left open on a finished swarm. ``SSE_BENCH_CLIENTS=0,50,50t``: ``50t`` is 50 clients that
join at the tail (``?from=`` the frames stored once ``TAIL_AFTER`` are), to tell following from
catching up. Variants alternate, median of ``rounds``; the
code before issue 25 (:data:`~benchmarks.base_code.ISSUE25_BASE`) runs the
largest client count too (``SSE_BENCH_BASE=REF``: the code at another git ref instead, e.g.
``main``; ``SSE_BENCH_LATENCY=S``: the scripted model answers each call after S seconds, default
0). Run: ``python -m benchmarks.sse_clients_bench`` (``SSE_BENCH_CLIENTS=0,1,10,50``,
``SSE_BENCH_ROUNDS=2`` by default). It prints the README's table (markdown), then the figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.base_code import ISSUE25_BASE, ROOT, env_for, export
from benchmarks.model_process import model_process
from benchmarks.sse_bench import _start_server
from swarm_star.testing.scripted import ScriptedModel

LIMITS = {"max_nodes": 20_000, "max_calls": 100_000, "max_depth": 16, "max_tokens": 10**9, "concurrency": 256}
TOKEN = b"event: frame"
TAIL_AFTER = 500
"""Clients that join at the tail connect once this many frames are stored, from the end then."""


def script() -> ScriptedModel:
    def parts(name: str) -> list[str]:
        return [f"{name} {i}" for i in range(8)]

    return ScriptedModel(
        plans={"estate": parts("area"), "area ": parts("block"), "block ": parts("lot")},
        routes={"area ": "planning/delegate", "block ": "planning/delegate"},
    )


async def _request(port: str, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(data)}\r\n"
    writer.write((head + "Content-Type: application/json\r\nConnection: close\r\n\r\n").encode() + data)
    raw = await reader.read()
    writer.close()
    status = int(raw.split(b" ", 2)[1])
    return status, raw.partition(b"\r\n\r\n")[2]


async def _client(port: str, path: str, arrivals: list[tuple[float, int]]) -> None:
    """Follow the stream, noting (time, events so far) per read, until cancelled."""
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    count, tail = 0, b""
    try:
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                break
            both = tail + chunk
            count += both.count(TOKEN) - tail.count(TOKEN)
            tail = both[-len(TOKEN) :]
            arrivals.append((time.time(), count))
    finally:
        writer.close()


async def _one(port: str, swarm_id: str, clients: int, at_tail: bool) -> tuple[int, int, list[list[tuple[float, int]]]]:
    """Run the swarm with ``clients`` following it: from frame 0, or (``at_tail``) from the frames
    stored when they connect (after the first ``TAIL_AFTER``), so they follow without catching up.
    Returns the frames, the clients' first frame, and each client's arrivals."""
    body = {"directive": "build the estate", "swarm_id": swarm_id, "limits": LIMITS}
    status, answer = await _request(port, "POST", "/api/swarms", body)
    assert status in (200, 201, 202), answer
    start = 0
    if at_tail:
        while start < TAIL_AFTER:
            await asyncio.sleep(0.05)
            start = json.loads((await _request(port, "GET", f"/api/swarms/{swarm_id}"))[1])["frames"]
    arrivals: list[list[tuple[float, int]]] = [[] for _ in range(clients)]
    path = f"/api/swarms/{swarm_id}/events?from={start}"
    tasks = [asyncio.create_task(_client(port, path, a)) for a in arrivals]
    while True:
        await asyncio.sleep(0.2)
        summary = json.loads((await _request(port, "GET", f"/api/swarms/{swarm_id}"))[1])
        if summary["status"] not in ("created", "running"):
            break
    assert summary["status"] == "finished", summary
    # Each client leaves once it has every frame (the server's CPU is measured after they left): a
    # client idle on its socket past the end would keep the server polling the store for it.
    total, deadline = summary["frames"] - start, time.monotonic() + 300
    while any(not a or a[-1][1] < total for a in arrivals) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return summary["frames"], start, arrivals


def _thread_cpu(pid: int) -> tuple[float, float]:
    """Seconds of CPU (user + system) of a live process: its main thread's, and all of its threads'
    (the worker threads' count too, gone ones included: a profile of the main thread misses them)."""
    tick = os.sysconf("SC_CLK_TCK")

    def seconds(stat: str) -> float:
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15 of proc(5))

    return seconds(f"/proc/{pid}/task/{pid}/stat"), seconds(f"/proc/{pid}/stat")


def _figures(
    space: Path, swarm_id: str, frames: int, start: int, arrivals: list[list[tuple[float, int]]]
) -> dict[str, float]:
    from swarm_star.api import locate
    from swarm_star.state.reader import SwarmReader

    with SwarmReader(locate(space).open(swarm_id)) as reader:
        times = [raw["time"] for raw in reader.stored_frames()]
    assert len(times) == frames
    committed = frames / (times[-1] - times[0])
    out = {"committed_fps": committed}
    if arrivals:
        expected = frames - start
        for a in arrivals:
            assert a[-1][1] == expected, "a client missed frames"
        firsts = [next(t for t, n in a if n) for a in arrivals]
        lasts = [next(t for t, n in a if n == expected) for a in arrivals]
        slowest = min(expected / (last - first) for first, last in zip(firsts, lasts, strict=True))
        out.update(delivered_fps=slowest, last_lag_s=max(lasts) - times[-1])
    return out


def _label(clients: int, at_tail: bool) -> str:
    return f"{clients} at the tail" if at_tail else str(clients)


def run(
    rounds: int = 2,
    client_counts: tuple[int, ...] = (0, 1, 10, 50),
    base_ref: str = ISSUE25_BASE,
    latency: float = 0.0,
    tail_counts: tuple[int, ...] = (),
) -> dict[str, float]:
    """``client_counts`` clients follow from frame 0, ``tail_counts`` join at the tail (after the first
    :data:`TAIL_AFTER` frames); the code at ``base_ref`` runs the largest of each too."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, model_process(script(), latency) as model_url:
        work = Path(tmp)
        old = export(base_ref, work / "old")
        variants: list[tuple[str, Path, int, bool]] = [("now", ROOT, n, False) for n in client_counts]
        variants += [("now", ROOT, n, True) for n in tail_counts]
        if old is not None:
            variants.append((base_ref, old, max(client_counts), False))
            if tail_counts:
                variants.append((base_ref, old, max(tail_counts), True))
        runs: dict[tuple[str, int, bool], list[dict[str, float]]] = {(v[0], v[2], v[3]): [] for v in variants}
        for r in range(rounds):
            for label, code, clients, at_tail in variants:
                space = work / f"space-{label}-{clients}-{at_tail}-{r}"
                space.mkdir()
                server, url = _start_server(str(space), model_url, env_for(code))
                port = url.rsplit(":", 1)[1]
                try:
                    frames, start, arrivals = asyncio.run(_one(port, "estate", clients, at_tail))
                    main_cpu, all_cpu = _thread_cpu(server.pid)
                finally:
                    server.terminate()
                    _, _, usage = os.wait4(server.pid, 0)
                figures = _figures(space, "estate", frames, start, arrivals)
                figures["server_cpu_ms_per_frame"] = (usage.ru_utime + usage.ru_stime) / frames * 1000
                figures["system_cpu_ms_per_frame"] = usage.ru_stime / frames * 1000
                figures["worker_threads_cpu_ms_per_frame"] = (all_cpu - main_cpu) / frames * 1000
                runs[(label, clients, at_tail)].append(figures)
        none = runs[("now", 0, False)]

        def vs_none(figures: list[dict[str, float]], name: str) -> float:
            """The median of each round's ratio to the no-client run of the same round (next to it in
            time), steadier than a ratio of medians when the machine's load drifts."""
            return statistics.median(f[name] / n[name] for f, n in zip(figures, none, strict=True))

        def median(figures: list[dict[str, float]], name: str) -> float:
            return statistics.median(f[name] for f in figures)

        print(f"median of {rounds}, alternating (÷ no client: the median of each round's ratio); "
              f"model latency {latency:g} s; the README's table:\n")  # fmt: skip
        print("| code, clients | server CPU per frame (÷ no client) | of it: system, worker threads "
              "| committed frames/s (÷ no client) | slowest client delivered ÷ committed "
              "| last frame late by |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|")
        for (label, clients, at_tail), figures in runs.items():
            committed = median(figures, "committed_fps")
            cpu = median(figures, "server_cpu_ms_per_frame")
            system, workers = (
                median(figures, "system_cpu_ms_per_frame"),
                median(figures, "worker_threads_cpu_ms_per_frame"),
            )
            cpu_ratio, commit_ratio = vs_none(figures, "server_cpu_ms_per_frame"), vs_none(figures, "committed_fps")
            line = (f"| {label}, {_label(clients, at_tail)} | {cpu:.3f} ms ({cpu_ratio:.2f}) "
                    f"| {system:.3f}, {workers:.3f} ms | {committed:,.0f} ({commit_ratio:.2f}) |")  # fmt: skip
            key = f"{label}_{clients}{'_tail' if at_tail else ''}"
            results[f"{key}_commit_vs_none"] = commit_ratio
            results[f"{key}_server_cpu_ms_per_frame"] = cpu
            results[f"{key}_server_cpu_vs_none"] = cpu_ratio
            results[f"{key}_system_cpu_ms_per_frame"] = system
            results[f"{key}_worker_threads_cpu_ms_per_frame"] = workers
            if clients:
                ratio = statistics.median(f["delivered_fps"] / f["committed_fps"] for f in figures)
                lag = median(figures, "last_lag_s")
                line += f" {ratio:.2f} | {lag:.2f} s |"
                results.update({f"{key}_delivered_vs_committed": ratio, f"{key}_last_lag_s": lag})
            else:
                line += " — | — |"
            print(line)
        # now against the other code with the same clients, round by round (the runs next to each
        # other in time): steadier than either's ratio to its no-client run, which is itself noisy
        for (label, clients, at_tail), figures in runs.items():
            same = runs.get(("now", clients, at_tail))
            if label == "now" or same is None:
                continue
            ratio = statistics.median(
                n["server_cpu_ms_per_frame"] / o["server_cpu_ms_per_frame"] for n, o in zip(same, figures, strict=True)
            )
            print(f"\nnow ÷ {label}, {_label(clients, at_tail)}: server CPU per frame {ratio:.2f}")
            results[f"now_vs_{label}_{clients}{'_tail' if at_tail else ''}_server_cpu"] = ratio
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    return results


if __name__ == "__main__":
    specs = os.environ.get("SSE_BENCH_CLIENTS", "0,1,10,50").split(",")
    counts = tuple(int(n) for n in specs if not n.endswith("t"))
    tails = tuple(int(n[:-1]) for n in specs if n.endswith("t"))
    base = os.environ.get("SSE_BENCH_BASE", ISSUE25_BASE)
    latency = float(os.environ.get("SSE_BENCH_LATENCY", "0"))
    rounds = int(os.environ.get("SSE_BENCH_ROUNDS", "2"))
    run(rounds=rounds, client_counts=counts, base_ref=base, latency=latency, tail_counts=tails)
