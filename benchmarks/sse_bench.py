"""Live events at scale: does the server's event stream keep up with the scale benchmark's swarm?

The server (``swarm-star serve``, its own process) runs the scale swarm
(11,170 nodes, zero-latency scripted model in a third process) while this
process follows ``/events`` from frame 0. Figures: frames/s committed (from the
frames' own timestamps), frames/s delivered over SSE (from arrival times), and
how far delivery lags behind the commit (arrival time − frame time; one clock,
one machine). With ``--elsewhere`` the swarm is run by ``swarm-star run`` in
another process and the server follows it by polling the store.
Run: ``python -m benchmarks.sse_bench [--elsewhere]``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

from benchmarks.model_process import model_process
from benchmarks.scale_bench import script


def _start_server(space: str, model_url: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """``swarm-star serve`` on a free port (``env``: whose code runs it, default this one's) and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm_star", "--space", space, "serve", "--port", "0", "--base-url", model_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**(os.environ if env is None else env), "OPENAI_API_KEY": "none"},
        cwd=None if env is None else space,  # not the repository root: PYTHONPATH picks the code
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"server did not start: {line}")
    return proc, match.group(1)


LIMITS = {"max_nodes": 20_000, "max_calls": 100_000, "max_depth": 16, "max_tokens": 10**9, "concurrency": 256}


def _run_elsewhere(space: str, model_url: str) -> subprocess.Popen[str]:
    """The same swarm run by ``swarm-star run`` in its own process (the server only reads the store)."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in LIMITS.items()]
    return subprocess.Popen(
        [sys.executable, "-m", "swarm_star", "--space", space, "run", "build the huge estate", "--swarm-id", "scale",
         "--base-url", model_url, "--no-input", "--json", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "OPENAI_API_KEY": "none"},
    )  # fmt: skip


def run(elsewhere: bool = False) -> dict[str, float]:
    """Follow the scale swarm over SSE; run by the server itself, or (``elsewhere``) by another process."""
    with tempfile.TemporaryDirectory() as space, model_process(script(), 0.0) as model_url:
        server, base = _start_server(space, model_url)
        runner = None
        try:
            with httpx.Client(base_url=base, timeout=httpx.Timeout(120.0)) as client:
                if elsewhere:
                    runner = _run_elsewhere(space, model_url)
                    while client.get("/api/swarms/scale").status_code != 200:
                        time.sleep(0.05)
                else:
                    body = {
                        "directive": "build the huge estate",
                        "models": {"base_url": model_url},
                        "limits": LIMITS,
                        "swarm_id": "scale",
                    }
                    client.post("/api/swarms", json=body).raise_for_status()
                frame_times: list[float] = []
                arrivals: list[float] = []
                data_bytes = 0
                with client.stream("GET", "/api/swarms/scale/events") as response:
                    for line in response.iter_lines():
                        if not line.startswith("data:"):
                            continue
                        now = time.time()
                        data_bytes += len(line)
                        frame = json.loads(line[5:])
                        assert frame["frame"] == len(frame_times), "frames out of order or missed"
                        frame_times.append(frame["time"])
                        arrivals.append(now)
                        op = frame["op"]
                        if op["kind"] in ("terminate", "fail") and op["node_id"] == "0":
                            break
                summary = client.get("/api/swarms/scale").json()
                if runner is not None:
                    runner.wait(timeout=120)
                    summary = client.get("/api/swarms/scale").json()
        finally:
            server.terminate()
            server.wait(timeout=30)
            if runner is not None and runner.poll() is None:
                runner.kill()
    frames = len(frame_times)
    assert frames == summary["frames"], (frames, summary["frames"])
    committed_s = frame_times[-1] - frame_times[0]
    delivered_s = arrivals[-1] - arrivals[0]
    lags = [a - t for a, t in zip(arrivals, frame_times, strict=True)]
    results = {
        "nodes": summary["nodes"],
        "frames": frames,
        "committed_fps": frames / committed_s,
        "delivered_fps": frames / delivered_s,
        "lag_median_s": statistics.median(lags),
        "lag_p99_s": sorted(lags)[int(len(lags) * 0.99)],
        "lag_last_s": lags[-1],
        "mb": data_bytes / 1e6,
    }
    print(
        f"{'run by another process' if elsewhere else 'run by the server'}: "
        f"{summary['nodes']:,} nodes, {frames:,} frames ({results['mb']:.0f} MB of event data): "
        f"committed {results['committed_fps']:,.0f} frames/s over {committed_s:.1f} s, "
        f"delivered over SSE {results['delivered_fps']:,.0f} frames/s over {delivered_s:.1f} s; "
        f"lag median {results['lag_median_s'] * 1000:.0f} ms, p99 {results['lag_p99_s'] * 1000:.0f} ms, "
        f"last frame {results['lag_last_s'] * 1000:.0f} ms"
    )
    return results


if __name__ == "__main__":
    run(elsewhere="--elsewhere" in sys.argv)
