"""Many clients on the event stream: does the swarm still commit at its pace, and do they all keep up?

The server (``swarm-star serve``, its own process) runs a swarm of ~1,400 nodes
(~10,000 frames; the zero-latency scripted model in a third process) while
this process follows ``/events`` from frame 0 with 0, 1, 10 or 50 clients
(raw sockets counting events, so the clients cost little CPU next to the
server). Figures per run: the server process's CPU time per frame (user +
system, the steadiest figure on a shared machine), frames/s committed (from
the stored frames' own timestamps), frames/s delivered to the slowest client
(from arrival times), and the lag of the last frame. Variants alternate, median of ``rounds``; the
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


async def _client(port: str, path: str, arrivals: list[tuple[float, int]], total: asyncio.Future[int]) -> None:
    """Follow the stream, noting (time, events so far) per read, until ``total`` events arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    count, tail = 0, b""
    while True:
        chunk = await reader.read(1 << 16)
        if not chunk:
            break
        both = tail + chunk
        count += both.count(TOKEN) - tail.count(TOKEN)
        tail = both[-len(TOKEN) :]
        arrivals.append((time.time(), count))
        if total.done() and count >= total.result():
            break
    writer.close()


async def _one(port: str, swarm_id: str, clients: int) -> tuple[int, list[list[tuple[float, int]]]]:
    body = {"directive": "build the estate", "swarm_id": swarm_id, "limits": LIMITS}
    status, answer = await _request(port, "POST", "/api/swarms", body)
    assert status in (200, 201, 202), answer
    total: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    arrivals: list[list[tuple[float, int]]] = [[] for _ in range(clients)]
    tasks = [asyncio.create_task(_client(port, f"/api/swarms/{swarm_id}/events", a, total)) for a in arrivals]
    while True:
        await asyncio.sleep(0.5)
        summary = json.loads((await _request(port, "GET", f"/api/swarms/{swarm_id}"))[1])
        if summary["status"] not in ("created", "running"):
            break
    assert summary["status"] == "finished", summary
    total.set_result(summary["frames"])
    await asyncio.wait_for(asyncio.gather(*tasks), 300)
    return summary["frames"], arrivals


def _figures(space: Path, swarm_id: str, frames: int, arrivals: list[list[tuple[float, int]]]) -> dict[str, float]:
    from swarm_star.api import locate
    from swarm_star.state.reader import SwarmReader

    with SwarmReader(locate(space).open(swarm_id)) as reader:
        times = [raw["time"] for raw in reader.stored_frames()]
    assert len(times) == frames
    committed = frames / (times[-1] - times[0])
    out = {"committed_fps": committed}
    if arrivals:
        for a in arrivals:
            assert a[-1][1] == frames, "a client missed frames"
        firsts = [next(t for t, n in a if n) for a in arrivals]
        lasts = [next(t for t, n in a if n == frames) for a in arrivals]
        slowest = min(frames / (last - first) for first, last in zip(firsts, lasts, strict=True))
        out.update(delivered_fps=slowest, last_lag_s=max(lasts) - times[-1])
    return out


def run(
    rounds: int = 2,
    client_counts: tuple[int, ...] = (0, 1, 10, 50),
    base_ref: str = ISSUE25_BASE,
    latency: float = 0.0,
) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, model_process(script(), latency) as model_url:
        work = Path(tmp)
        old = export(base_ref, work / "old")
        variants: list[tuple[str, Path, int]] = [("now", ROOT, n) for n in client_counts]
        if old is not None:
            variants.append((base_ref, old, max(client_counts)))
        runs: dict[tuple[str, int], list[dict[str, float]]] = {(label, n): [] for label, _, n in variants}
        for r in range(rounds):
            for label, code, clients in variants:
                space = work / f"space-{label}-{clients}-{r}"
                space.mkdir()
                server, url = _start_server(str(space), model_url, env_for(code))
                port = url.rsplit(":", 1)[1]
                try:
                    frames, arrivals = asyncio.run(_one(port, "estate", clients))
                finally:
                    server.terminate()
                    _, _, usage = os.wait4(server.pid, 0)
                figures = _figures(space, "estate", frames, arrivals)
                figures["server_cpu_ms_per_frame"] = (usage.ru_utime + usage.ru_stime) / frames * 1000
                runs[(label, clients)].append(figures)
        none = runs[("now", 0)]

        def vs_none(figures: list[dict[str, float]], name: str) -> float:
            """The median of each round's ratio to the no-client run of the same round (next to it in
            time), steadier than a ratio of medians when the machine's load drifts."""
            return statistics.median(f[name] / n[name] for f, n in zip(figures, none, strict=True))

        print(f"median of {rounds}, alternating (÷ no client: the median of each round's ratio); "
              f"model latency {latency:g} s; the README's table:\n")  # fmt: skip
        print("| code, clients | server CPU per frame (÷ no client) | committed frames/s (÷ no client) "
              "| slowest client delivered ÷ committed | last frame late by |")  # fmt: skip
        print("|---|---:|---:|---:|---:|")
        for (label, clients), figures in runs.items():
            committed = statistics.median(f["committed_fps"] for f in figures)
            cpu = statistics.median(f["server_cpu_ms_per_frame"] for f in figures)
            cpu_ratio, commit_ratio = vs_none(figures, "server_cpu_ms_per_frame"), vs_none(figures, "committed_fps")
            line = f"| {label}, {clients} | {cpu:.2f} ms ({cpu_ratio:.2f}) | {committed:,.0f} ({commit_ratio:.2f}) |"
            key = f"{label}_{clients}"
            results[f"{key}_commit_vs_none"] = commit_ratio
            results[f"{key}_server_cpu_ms_per_frame"] = cpu
            results[f"{key}_server_cpu_vs_none"] = cpu_ratio
            if clients:
                ratio = statistics.median(f["delivered_fps"] / f["committed_fps"] for f in figures)
                lag = statistics.median(f["last_lag_s"] for f in figures)
                line += f" {ratio:.2f} | {lag:.2f} s |"
                results.update({f"{key}_delivered_vs_committed": ratio, f"{key}_last_lag_s": lag})
            else:
                line += " — | — |"
            print(line)
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    return results


if __name__ == "__main__":
    counts = tuple(int(n) for n in os.environ.get("SSE_BENCH_CLIENTS", "0,1,10,50").split(","))
    base = os.environ.get("SSE_BENCH_BASE", ISSUE25_BASE)
    latency = float(os.environ.get("SSE_BENCH_LATENCY", "0"))
    run(rounds=int(os.environ.get("SSE_BENCH_ROUNDS", "2")), client_counts=counts, base_ref=base, latency=latency)
