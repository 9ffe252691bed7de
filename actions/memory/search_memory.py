"""Find something in the memory space with a memory router (one level at a time)."""

from __future__ import annotations

from typing import Any

from swarm_star.engine.context import ActionContext
from swarm_star.kit.briefing import directive_chain
from swarm_star.spaces import LeafSpec
from swarm_star.spaces.memory import memory_space
from swarm_star.spaces.router import route

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
        purpose="memory route",
        max_backtracks=ctx.limits.max_backtracks,
        context="Where the task comes from:\n" + "\n".join(chain) if len(chain) > 1 else "",
    )
    if result.leaf is None:
        return [ctx.terminate("nothing relevant in memory (" + "; ".join(result.trail) + ")")]
    return [ctx.terminate(f"from memory '{result.leaf.name}':\n{result.leaf.content}")]
