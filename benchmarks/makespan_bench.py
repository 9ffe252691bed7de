"""Makespan of a 200+ node tree vs its critical-path bound, and engine CPU per node.

The tree: a manager splits the directive into 8 parts; each part is delegated
to a nested manager that splits it into 4 pieces; each piece is delegated again
and split into 2 (250 nodes, ~300 model calls, 3 levels of managers). The
critical-path bound is computed from the recorded history: for each node, the
calls of its first activation, then the slowest child, then the calls of its
later activations (review), each call costing the server latency.
Run: ``python -m benchmarks.makespan_bench``.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import openai

from benchmarks.model_process import model_process
from swarm_star.api import RunOptions, Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from swarm_star.state.projection import SwarmState
from swarm_star.testing.scripted import ScriptedModel

PARTS = 8


def script() -> ScriptedModel:
    return ScriptedModel(
        plans={
            "big program": [f"part {i}" for i in range(PARTS)],
            "part ": [f"piece {j}" for j in range(4)],
            "piece ": ["left side", "right side"],
        },
        routes={"part ": "planning/delegate", "piece ": "planning/delegate"},
    )


def critical_calls(state: SwarmState, node_id: str) -> int:
    node = state.nodes[node_id]
    first = sum(1 for key in node.calls if key.startswith("0:"))
    later = len(node.calls) - first
    children = max((critical_calls(state, c) for c in node.children), default=0)
    return first + children + later


async def one_run(base_url: str, space: Path, tune_gc: bool = True) -> tuple[float, float, SwarmState]:
    settings = SwarmSettings(limits=Limits(concurrency=512, max_nodes=1000, max_calls=5000, max_depth=12))
    swarm = Swarm.create("run the big program", space=space, settings=settings)
    llm = LLMClient(Endpoint(base_url, "none", None), ModelSettings(base_url=base_url, concurrency=512))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.05, tune_gc=tune_gc))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await llm.aclose()
    assert outcome.status == "finished", outcome
    state = swarm.tree()
    swarm.close()
    return wall, cpu, state


async def _client_cpu(url: str, calls: int = 300) -> tuple[float, float]:
    """CPU ms per request: the openai SDK (the low-level post we use) vs raw aiohttp, same body."""
    body = {"model": "m", "messages": [{"role": "user", "content": "Directive: hello " + "x" * 1000}]}
    sdk = openai.AsyncOpenAI(api_key="none", base_url=url, max_retries=0, http_client=openai.DefaultAioHttpClient())
    for _ in range(30):
        await sdk.post("/chat/completions", body=body, cast_to=object)
    cpu = time.process_time()
    for _ in range(calls):
        await sdk.post("/chat/completions", body=body, cast_to=object)
    sdk_ms = (time.process_time() - cpu) / calls * 1000
    await sdk.close()
    async with aiohttp.ClientSession() as session:
        cpu = time.process_time()
        for _ in range(calls):
            async with session.post(url + "/chat/completions", json=body) as resp:
                await resp.json()
        raw_ms = (time.process_time() - cpu) / calls * 1000
    return sdk_ms, raw_ms


def run(latencies: tuple[float, ...] = (0.05, 0.5), repeats: int = 5) -> dict[str, float]:
    """Makespan ratios as the median of ``repeats`` runs; CPU per node with the collector
    tuned (the default) and untuned, alternating, median of 3 each."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for latency in latencies:
            ratios: list[float] = []
            with model_process(script(), latency) as url:
                for k in range(repeats):
                    wall, _, state = asyncio.run(one_run(url, Path(tmp) / f"a{latency}-{k}"))
                    bound = critical_calls(state, "0") * latency
                    ratios.append(wall / bound)
            key = f"{latency * 1000:.0f}ms"
            ratio = statistics.median(ratios)
            results.update({f"bound_{key}": bound, f"ratio_{key}": ratio})
            print(
                f"{len(state.nodes)} nodes, {state.usage.calls} calls, latency {latency * 1000:.0f} ms: "
                f"critical-path bound {bound:.3f} s, makespan ÷ bound median of {repeats} {ratio:.3f} "
                f"(runs: {' '.join(f'{r:.3f}' for r in ratios)}; target <= 1.10)"
            )
        cpu_ms: dict[bool, list[float]] = {True: [], False: []}
        with model_process(script(), 0.0) as url:
            for k in range(3):
                for tune in (True, False):
                    wall, cpu, state = asyncio.run(one_run(url, Path(tmp) / f"b{k}{tune}", tune_gc=tune))
                    cpu_ms[tune].append(cpu / len(state.nodes) * 1000)
        per_node, untuned = statistics.median(cpu_ms[True]), statistics.median(cpu_ms[False])
        results.update(cpu_ms_per_node=per_node, cpu_ms_per_node_untuned_gc=untuned)
        per_call = per_node * len(state.nodes) / state.usage.calls
        print(
            f"zero latency, engine process CPU per node (median of 3, alternating): collector tuned "
            f"{per_node:.2f} ms, untuned {untuned:.2f} ms; tuned per model call {per_call:.2f} ms"
        )
        with model_process(script(), 0.0) as url:
            sdk_ms, raw_ms = asyncio.run(_client_cpu(url))
        results.update(sdk_cpu_ms=sdk_ms, raw_cpu_ms=raw_ms)
        print(f"client CPU per request: openai SDK {sdk_ms:.2f} ms, raw aiohttp {raw_ms:.2f} ms")
    return results


if __name__ == "__main__":
    run()
