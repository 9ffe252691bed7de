"""The action every MCP tool leaf runs (``tools/<server>/<tool>``): the kit's bounded tool loop.

Not routable itself: the MCP servers' tools are grafted into the action space as
leaves whose module is this one (see ``swarm_star/tools/catalog.py``); the leaf
the router picked names the tool.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, use_tool

SPEC = LeafSpec(
    name="call_tool",
    description="Runs the tool of an MCP tool leaf (a model proposes calls, the engine runs them).",
    routable=False,
)


async def run(ctx: ActionContext) -> list[Any]:
    return await use_tool(ctx, ctx.tool_path(ctx.node.action_id))
