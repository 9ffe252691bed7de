"""Split a batch directive into independent prompts and deal them over the hostfile's agents."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import (
    ActionContext,
    AgentPool,
    AgentReply,
    LeafSpec,
    Purpose,
    Usage,
    failure_report,
    prompts,
    replies_usage,
    scatter_gather,
)

SPEC = LeafSpec(
    name="hostfile_scatter",
    description="Process a batch of many small independent items (translate, classify, summarize each "
    "of a list) by dealing one prompt per item over the LLM endpoints in the swarm's hostfile. Needs a hostfile.",
    needs=("hostfile",),
)


async def run(ctx: ActionContext) -> list[Any]:
    pool = AgentPool.for_swarm(ctx.settings)
    plan = await ctx.ask_model(
        prompts.swarm.split_messages(ctx.node.directive),
        purpose=Purpose.SPLIT_BATCH,
        role="planner",
        schema=prompts.swarm.ScatterPlan,
    )
    items = [p for p in plan.prompts if p.strip()]
    if not items:
        return [ctx.fail("the batch could not be split into prompts")]

    async def work() -> tuple[dict[str, Any], Usage]:
        async with pool:
            replies = await scatter_gather(pool, items)
        return {"prompts": items, "replies": [r.to_json() for r in replies]}, replies_usage(replies)

    data = await ctx.run_primitive(Purpose.SCATTER, "\n".join(items), len(items), work)
    replies = [AgentReply.from_json(r) for r in data["replies"]]
    if not any(r.ok for r in replies):
        return [ctx.fail(f"scatter: {failure_report(replies).summary()}")]
    lines = [
        f"{i + 1}. {prompt}\n   -> {' '.join(r.text.split()) if r.ok else 'FAILED: ' + str(r.error)}"
        for i, (prompt, r) in enumerate(zip(data["prompts"], replies, strict=True))
    ]
    return [ctx.terminate("\n".join(lines) + f"\n\n[scatter: {failure_report(replies).summary()}]")]
