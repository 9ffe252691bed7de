"""Split a batch directive into independent prompts and deal them over the hostfile's agents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swarm_star.engine.context import ActionContext
from swarm_star.models import Usage
from swarm_star.primitives.aggregators import failure_report
from swarm_star.primitives.patterns import scatter_gather
from swarm_star.primitives.pool import AgentPool, AgentReply, replies_usage
from swarm_star.spaces import LeafSpec

MAX_PROMPTS = 1000

SPEC = LeafSpec(
    name="hostfile_scatter",
    description="Process a batch of many small independent items (translate, classify, summarize each "
    "of a list) by dealing one prompt per item over the LLM endpoints in the swarm's hostfile. Needs a hostfile.",
    needs=("hostfile",),
)


class ScatterPlan(BaseModel):
    """One self-contained prompt per item of the batch."""

    prompts: list[str] = Field(description="one complete, self-contained prompt per item", max_length=MAX_PROMPTS)


async def run(ctx: ActionContext) -> list[Any]:
    pool = AgentPool.for_swarm(ctx.settings)
    plan = await ctx.ask_model(
        [
            {
                "role": "system",
                "content": "Split the batch task into one self-contained prompt per item. "
                "Each prompt must make sense on its own.",
            },
            {"role": "user", "content": f"Task: {ctx.node.directive}"},
        ],
        purpose="split batch",
        role="planner",
        schema=ScatterPlan,
    )
    prompts = [p for p in plan.prompts if p.strip()]
    if not prompts:
        return [ctx.fail("the batch could not be split into prompts")]

    async def work() -> tuple[dict[str, Any], Usage]:
        async with pool:
            replies = await scatter_gather(pool, prompts)
        return {"prompts": prompts, "replies": [r.to_json() for r in replies]}, replies_usage(replies)

    data = await ctx.run_primitive("scatter", "\n".join(prompts), len(prompts), work)
    replies = [AgentReply.from_json(r) for r in data["replies"]]
    if not any(r.ok for r in replies):
        return [ctx.fail(f"scatter: {failure_report(replies).summary()}")]
    lines = [
        f"{i + 1}. {prompt}\n   -> {' '.join(r.text.split()) if r.ok else 'FAILED: ' + str(r.error)}"
        for i, (prompt, r) in enumerate(zip(data["prompts"], replies, strict=True))
    ]
    return [ctx.terminate("\n".join(lines) + f"\n\n[scatter: {failure_report(replies).summary()}]")]
