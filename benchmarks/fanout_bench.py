"""Fan-out benchmarks, side by side in one run.

1. Hostfile scatter: 4,000 prompts over 64 local endpoints with 100 ms latency,
   our ``AgentPool`` versus a plain aiohttp loop sending the same requests with
   the same in-flight limit (target: ours <= 1.3x the plain loop's wall time).
2. Fan-out synthesis: 16 candidates then one synthesis call through the
   ``openai`` SDK; wall time versus (slowest candidate + synthesis) as measured
   in the same run (target <= 1.1x).

The agents run in a separate process so the client's CPU is measured alone.
Run: ``python -m benchmarks.fanout_bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from benchmarks.model_process import model_process, server_process
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import ModelSettings
from swarm_star.primitives import AgentPool, FanoutOptions, PoolSettings, client_ask, fanout, scatter_gather
from swarm_star.primitives.hostfile import parse_hostfile

PROMPTS = 4000
AGENTS = 64
IN_FLIGHT = 512


def _serve_farm(count: int, latency: float, queue: Any) -> None:
    from tests.helpers.agent_farm import AgentFarm

    farm = AgentFarm(count, latency=latency).start()
    queue.put(farm.hostfile_text())
    while True:
        time.sleep(3600)


@contextlib.contextmanager
def farm_process(count: int, latency: float) -> Iterator[str]:
    """The agent farm in its own process; yields its hostfile text."""
    with server_process(_serve_farm, count, latency) as hostfile:
        yield hostfile


async def plain_loop(urls: list[str], prompts: list[str]) -> tuple[float, int]:
    """The baseline: a semaphore, one session, post, read JSON. No retries, no per-agent limit."""
    gate = asyncio.Semaphore(IN_FLIGHT)
    ok = 0
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int, prompt: str) -> None:
            nonlocal ok
            body = {"model": "default", "messages": [{"role": "user", "content": prompt}]}
            async with gate, session.post(urls[i % len(urls)] + "/chat/completions", json=body) as resp:
                data = await resp.json()
                ok += bool(data["choices"][0]["message"]["content"])

        started = time.perf_counter()
        await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)))
        return time.perf_counter() - started, ok


async def ours(hostfile: str, prompts: list[str]) -> tuple[float, int]:
    settings = PoolSettings(max_in_flight=IN_FLIGHT, per_agent=IN_FLIGHT, timeout=60)
    async with AgentPool(parse_hostfile(hostfile), settings) as pool:
        started = time.perf_counter()
        replies = await scatter_gather(pool, prompts)
        return time.perf_counter() - started, sum(r.ok for r in replies)


def run_scatter(latency: float = 0.1, rounds: int = 3) -> dict[str, float]:
    prompts = [f"prompt {i}" for i in range(PROMPTS)]
    plain_times: list[float] = []
    our_times: list[float] = []
    with farm_process(AGENTS, latency) as hostfile:
        urls = [a.base_url for a in parse_hostfile(hostfile)]
        asyncio.run(plain_loop(urls, prompts[:256]))  # warm up the server
        for _ in range(rounds):
            wall, ok = asyncio.run(plain_loop(urls, prompts))
            assert ok == PROMPTS
            plain_times.append(wall)
            wall, ok = asyncio.run(ours(hostfile, prompts))
            assert ok == PROMPTS
            our_times.append(wall)
    plain, mine = statistics.median(plain_times), statistics.median(our_times)
    ideal = PROMPTS / IN_FLIGHT * latency
    print(
        f"scatter {PROMPTS} prompts / {AGENTS} agents / {latency * 1000:.0f} ms / {IN_FLIGHT} in flight "
        f"(median of {rounds}; ideal {ideal:.2f} s): plain aiohttp {plain:.3f} s, AgentPool {mine:.3f} s, "
        f"ratio {mine / plain:.3f} (target <= 1.30)"
    )
    return {"plain_s": plain, "ours_s": mine, "ratio": mine / plain}


class _Candidates:
    """Candidates answer a number; the synthesis call answers 'merged'."""

    def __call__(self, request: dict[str, Any]) -> str:
        text = request["messages"][-1]["content"]
        return "merged" if "Independent attempts" in text else json.dumps({"n": len(text)})


async def _one_fanout(base_url: str, n: int) -> tuple[float, float, float]:
    client = LLMClient(Endpoint(base_url, "none", None), ModelSettings(base_url=base_url, concurrency=512))
    options = FanoutOptions(n=n, concurrency=n)
    try:
        started = time.perf_counter()
        result = await fanout(client_ask(client, options), "estimate the answer", options)
        wall = time.perf_counter() - started
    finally:
        await client.aclose()
    assert result.final == "merged", result.meta
    slowest = max(c.latency_s for c in result.candidates)
    synthesis = result.meta["synthesis"]["latency_s"]
    return wall, slowest, synthesis


def run_synthesis(latency: float = 0.2, n: int = 16, rounds: int = 5) -> dict[str, float]:
    ratios: list[float] = []
    with model_process(_Candidates(), latency) as url:
        asyncio.run(_one_fanout(url, 2))  # warm up
        for _ in range(rounds):
            wall, slowest, synthesis = asyncio.run(_one_fanout(url, n))
            ratios.append(wall / (slowest + synthesis))
    ratio = statistics.median(ratios)
    print(
        f"fan-out synthesis, {n} candidates at {latency * 1000:.0f} ms: wall / (slowest candidate + synthesis) "
        f"= {ratio:.3f} (median of {rounds}; target <= 1.10)"
    )
    return {"synthesis_ratio": ratio}


def run() -> dict[str, float]:
    results = run_scatter()
    results.update(run_synthesis())
    return results


if __name__ == "__main__":
    run()
