"""Route the util space to a helper function, fill its arguments, and call it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swarm_star.engine.context import ActionContext
from swarm_star.errors import SwarmStarError
from swarm_star.kit.briefing import brief
from swarm_star.spaces import LeafSpec
from swarm_star.spaces.router import route

SPEC = LeafSpec(
    name="use_util",
    description="Inspect the workspace (list or read files, git log) or measure text with a helper function.",
)


class UtilArgs(BaseModel):
    args: dict[str, str] = Field(default_factory=dict)


async def run(ctx: ActionContext) -> list[Any]:
    limits = ctx.limits
    briefing = await brief(ctx)
    result = await route(
        ctx,
        ctx.utils,
        ctx.node.directive,
        purpose="util route",
        max_backtracks=limits.max_backtracks,
        context=briefing,
    )
    if result.leaf is None:
        return [ctx.fail("no util fits this directive (" + "; ".join(result.trail) + ")")]
    leaf = result.leaf
    filled = await ctx.ask_model(
        [
            {
                "role": "user",
                "content": f"Task: {ctx.node.directive}\nFill the arguments {leaf.input_schema} for {leaf.name}."
                + (f"\n\n{briefing}" if briefing else ""),
            }
        ],
        purpose="util args",
        schema=UtilArgs,
    )
    func = ctx.utils.module(leaf.id).call
    allowed = set(leaf.input_schema)
    try:
        output = func(ctx.workspace, **{k: v for k, v in filled.args.items() if k in allowed})
    except (SwarmStarError, OSError, TypeError, ValueError) as exc:
        return [ctx.fail(f"util {leaf.name} failed: {exc}")]
    return [ctx.terminate(f"{leaf.name}: {output}")]
