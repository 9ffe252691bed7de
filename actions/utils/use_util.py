"""Route the util space to a helper function, fill its arguments, and call it."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, Purpose, SwarmStarError, brief, prompts, route

SPEC = LeafSpec(
    name="use_util",
    description="Inspect the workspace (list or read files, git log) or measure text with a helper function.",
)


async def run(ctx: ActionContext) -> list[Any]:
    limits = ctx.limits
    briefing = await brief(ctx)
    result = await route(
        ctx,
        ctx.utils,
        ctx.node.directive,
        purpose=Purpose.UTIL_ROUTE,
        max_backtracks=limits.max_backtracks,
        context=briefing,
    )
    if result.leaf is None:
        return [ctx.fail("no util fits this directive (" + "; ".join(result.trail) + ")")]
    leaf = result.leaf
    filled = await ctx.ask_model(
        prompts.worker.util_args_messages(ctx.node.directive, leaf.name, leaf.input_schema, briefing),
        purpose=Purpose.UTIL_ARGS,
        schema=prompts.worker.UtilArgs,
    )
    func = ctx.utils.module(leaf.id).call
    allowed = set(leaf.input_schema)
    try:
        output = func(ctx.workspace, **{k: v for k, v in filled.args.items() if k in allowed})
    except (SwarmStarError, OSError, TypeError, ValueError) as exc:
        return [ctx.fail(f"util {leaf.name} failed: {exc}")]
    return [ctx.terminate(f"{leaf.name}: {output}")]
