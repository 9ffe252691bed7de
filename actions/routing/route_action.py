"""The router: walk the action space to a leaf that fits the directive and run it."""

from __future__ import annotations

from typing import Any

from swarm_star.engine.context import ActionContext
from swarm_star.models import NodeRole
from swarm_star.spaces import LeafSpec
from swarm_star.spaces.router import route

SPEC = LeafSpec(
    name="route_action",
    description="Router: picks the action for a sub-directive, one folder level at a time.",
    routable=False,
)


async def run(ctx: ActionContext) -> list[Any]:
    children = ctx.children()
    if children:
        child = children[-1]
        if child.report is not None:
            return [ctx.terminate(child.report)]
        return [ctx.fail(f"{child.action_id} failed: {child.error}")]
    result = await route(
        ctx,
        ctx.actions,
        ctx.node.directive,
        purpose="route",
        max_backtracks=ctx.limits.max_backtracks,
    )
    if result.leaf is None:
        return [ctx.fail("no action fits this directive (" + "; ".join(result.trail) + ")")]
    return [ctx.spawn(NodeRole.ACTION, result.leaf.id, ctx.node.directive, {"route": result.trail})]
