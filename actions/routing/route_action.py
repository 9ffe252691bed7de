"""The router: walk the action space to a leaf that fits the directive and run it.

The walk's prompts carry the node's briefing (where the directive comes from,
the reports of the parts it builds on, relevant memory). Only actions whose
needs the swarm meets are offered. When the manager's plan named this part's
action, the walk starts there: a usable leaf is spawned without a model call
(and without building a briefing), a folder is walked from. An action that refuses the directive
(``ctx.refuse``: "not for me") sends the router back to the space without that
action, at most ``limits.max_backtracks`` times; a real failure is reported.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import PLANNED_ACTION, ActionContext, LeafSpec, NodeRole, Purpose, brief, is_refusal, route

SPEC = LeafSpec(
    name="route_action",
    description="Router: picks the action for a sub-directive (the whole menu at once where it fits).",
    routable=False,
)


async def run(ctx: ActionContext) -> list[Any]:
    children = ctx.children()
    if children and not is_refusal(children[-1]):
        child = children[-1]
        if child.report is not None:
            return [ctx.terminate(child.report)]
        return [ctx.fail(f"{child.action_id} failed: {child.error}")]
    refused = [c for c in children if is_refusal(c)]
    refusals = "; ".join(f"{c.action_id} refused ({(c.error or '').split(': ', 1)[-1]})" for c in refused)
    if len(refused) > ctx.limits.max_backtracks:
        return [ctx.fail(f"every action tried refused this directive: {refusals}")]
    planned = "" if refused else str(ctx.node.context.get(PLANNED_ACTION) or "")
    result = await route(
        ctx,
        ctx.actions,
        ctx.node.directive,
        purpose=Purpose.ROUTE if not refused else Purpose.ROUTE_AGAIN,
        max_backtracks=ctx.limits.max_backtracks,
        context=lambda: brief(ctx),
        exclude=frozenset(c.action_id for c in refused),
        planned=planned,
    )
    if result.leaf is None:
        tried = "; ".join([*result.trail, *([refusals] if refusals else [])])
        return [ctx.fail(f"no action fits this directive ({tried})")]
    return [ctx.spawn(NodeRole.ACTION, result.leaf.id, ctx.node.directive, {"route": result.trail})]
