"""Sample several answers in parallel and synthesize the best one (fan-out synthesis).

Every candidate and the synthesis are journaled model calls of this node, so
a resumed swarm pays for none of them twice and ``swarm-star history --node``
shows all of them.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, ChatResult, FanoutOptions, LeafSpec, fanout, prompts

SPEC = LeafSpec(
    name="fanout_synthesis",
    description="Answer a hard or open-ended directive by sampling several independent answers in "
    "parallel and synthesizing the best one (tricky reasoning, designs, important texts, estimates).",
)


async def run(ctx: ActionContext) -> list[Any]:
    n = ctx.settings.fanout_candidates
    options = FanoutOptions(n=n, concurrency=min(n, 16), system=prompts.swarm.FANOUT_SYSTEM)

    async def ask(messages: list[dict[str, str]], temperature: float | None, purpose: str) -> ChatResult:
        # the synthesis is the synthesizer's (the worker, unless one is named)
        role = "synthesizer" if purpose == prompts.Purpose.SYNTHESIS else "worker"
        call = await ctx.call_model(messages, purpose=purpose, role=role, temperature=temperature)
        return ChatResult(call.response, call.usage, call.attempts, call.latency_s, call.model)

    result = await fanout(ask, ctx.node.directive, options)
    if result.final is None:
        return [ctx.fail(result.meta.get("error", "no candidate succeeded"))]
    meta = result.meta
    note = f"[fan-out: {meta['succeeded']}/{meta['candidates']} candidates"
    if meta.get("fallback"):
        note += f"; synthesis failed, fell back to {meta['synthesis']['fallback']}"
    return [ctx.terminate(f"{result.final.strip()}\n\n{note}]")]
