"""Where a model call's client CPU goes: our ``LLMClient``, the openai SDK's post alone, plain aiohttp.

The same streamed chat request (the scripted server in another process, zero
latency, one request at a time) sent three ways, alternating within each round,
median of the rounds; process CPU per request:

- ``LLMClient.chat``: what the engine pays per call (the SDK's streamed post,
  plus our deadlines, usage, redaction and reply checks);
- the SDK alone: ``AsyncOpenAI.post(..., stream=True)`` on the SDK's aiohttp
  transport, its events read to the end;
- plain aiohttp: one session, the same body, the response read to the end (the
  floor of any client on this machine: what the fan-out pool pays).

Issue 25 lists "post with aiohttp directly and keep the SDK's error semantics, or
prove the SDK path can be made cheap": this shows what each layer costs before
choosing. Run: ``python -m benchmarks.client_bench [--rounds N] [--calls N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

from benchmarks.model_process import model_process

MESSAGES = [
    {"role": "system", "content": "Do the task. Reply with the result only, complete and concise."},
    {"role": "user", "content": "Task: piece 0: for that region, write the section on volumes"},
]
BODY = {"model": "scripted", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}


async def _ours(url: str, calls: int) -> float:
    from benchmarks.langgraph_bench import client_floor  # LLMClient alone, one request at a time

    return await client_floor(url, [(MESSAGES, None)] * calls) / calls


async def _sdk(url: str, calls: int) -> float:
    import openai

    sdk = openai.AsyncOpenAI(
        api_key="none", base_url=url, max_retries=0, http_client=openai.DefaultAioHttpClient(timeout=60)
    )

    async def one() -> None:
        stream = await sdk.post(
            "/chat/completions", body=BODY, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object]
        )
        async for _ in stream:
            pass
        await stream.close()

    await one()
    cpu = time.process_time()
    for _ in range(calls):
        await one()
    cpu = time.process_time() - cpu
    await sdk.close()
    return cpu / calls


async def _aiohttp(url: str, calls: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            async with session.post(f"{url}/chat/completions", json=BODY) as response:
                response.raise_for_status()
                async for _ in response.content:
                    pass

        await one()
        cpu = time.process_time()
        for _ in range(calls):
            await one()
        return (time.process_time() - cpu) / calls


WAYS: dict[str, Callable[[str, int], Coroutine[Any, Any, float]]] = {
    "LLMClient.chat": _ours,
    "openai SDK post alone": _sdk,
    "plain aiohttp": _aiohttp,
}


def run(rounds: int = 5, calls: int = 300) -> dict[str, float]:
    from swarm_star.testing.scripted import ScriptedModel

    samples: dict[str, list[float]] = {name: [] for name in WAYS}
    with model_process(ScriptedModel()) as url:  # the server's CPU is not ours
        for _ in range(rounds):
            for name, way in WAYS.items():
                samples[name].append(asyncio.run(way(url, calls)))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians["plain aiohttp"]
    print(f"client CPU per streamed request, one at a time, median of {rounds} rounds of {calls}:")
    print("| client | CPU per request | ÷ plain aiohttp |")
    print("|---|---:|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value * 1000:.2f} ms | {value / floor:.1f} |")
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.client_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    options = parser.parse_args()
    run(options.rounds, options.calls)
