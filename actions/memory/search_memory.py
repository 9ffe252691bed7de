"""Find something in the memory space with a memory router (one level at a time)."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, Purpose, directive_chain, memory_space, prompts, route

SPEC = LeafSpec(
    name="search_memory",
    description="Look up what the user provided (directive, context files) or what the swarm already found.",
)


async def run(ctx: ActionContext) -> list[Any]:
    space = memory_space(ctx.memory(), ctx.nodes)
    chain = directive_chain(ctx)
    result = await route(
        ctx,
        space,
        ctx.node.directive,
        purpose=Purpose.MEMORY_ROUTE,
        max_backtracks=ctx.limits.max_backtracks,
        context=prompts.briefing.chain_context(chain) if len(chain) > 1 else "",
    )
    if result.leaf is None:
        return [ctx.terminate("nothing relevant in memory (" + "; ".join(result.trail) + ")")]
    return [ctx.terminate(f"from memory '{result.leaf.name}':\n{result.leaf.content}")]
