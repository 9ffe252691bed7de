"""Hand a sub-directive that is still too large to a nested manager (recursion)."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, NodeRole, ids, normalize_directive

SPEC = LeafSpec(
    name="delegate",
    description="The task is still large or has several distinct parts: give it to a nested "
    "manager that splits it further.",
)


async def run(ctx: ActionContext) -> list[Any]:
    children = ctx.children()
    if children:
        last = children[-1]
        return (
            [ctx.terminate(last.report)]
            if last.report is not None
            else [ctx.fail(f"nested manager failed: {last.error}")]
        )
    key = normalize_directive(ctx.node.directive)
    for ancestor in ctx.ancestors():
        if ancestor.action_id == ids.MANAGER and normalize_directive(ancestor.directive) == key:
            # not a failure of the work: the router should pick a doing action instead
            return [ctx.refuse("this directive already has its own manager; it cannot be split further")]
    return [ctx.spawn(NodeRole.MANAGER, ids.MANAGER, ctx.node.directive, {"round": 1})]
