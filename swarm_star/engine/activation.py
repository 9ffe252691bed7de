"""Running one activation's action: a leaf whose needs are not met refuses instead of running.

Routers never offer such a leaf (``spaces/router.py``), but a leaf can still be
reached without them: spawned directly by another action, or in a swarm
recorded before the leaf declared its needs. It used to run and fail ("creating
actions is off …"), and a failure can take the tree down; a refusal sends its
router to another option (issue 21). The engine and the Ray executor's workers
both call :func:`run_action`, so the rule holds wherever activations run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swarm_star.spaces.needs import missing_needs, needs_refusal

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext
    from swarm_star.spaces import Space

__all__ = ["run_action"]


async def run_action(actions: Space, ctx: ActionContext) -> list[Any]:
    """The operations of the node's action for this activation (a refusal if its needs are unmet)."""
    leaf = actions.leaf(ctx.node.action_id)
    missing = missing_needs(leaf.needs, ctx.settings, ctx.swarm_dir)
    if missing:
        return [ctx.refuse(needs_refusal(missing))]
    return list(await actions.module(ctx.node.action_id).run(ctx))
