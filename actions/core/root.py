"""The root node: remember the directive and context, hand it to a manager, report."""

from __future__ import annotations

from typing import Any

from swarm_star.engine.context import ActionContext
from swarm_star.models import NodeRole
from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(
    name="root",
    description="Start of every swarm: stores the directive and context, spawns the first manager.",
    routable=False,
)


async def run(ctx: ActionContext) -> list[Any]:
    children = ctx.children()
    if not children:
        ops: list[Any] = [ctx.save_memory("context", "Directive", ctx.node.directive)]
        for name, content in sorted(ctx.node.context.get("files", {}).items()):
            ops.append(ctx.save_memory("context", f"File {name}", content))
        ops.append(ctx.spawn(NodeRole.MANAGER, "planning.decompose_directive", ctx.node.directive, {"round": 1}))
        return ops
    last = children[-1]
    if last.report is not None:
        return [ctx.terminate(last.report)]
    return [ctx.fail(f"manager failed: {last.error}")]
