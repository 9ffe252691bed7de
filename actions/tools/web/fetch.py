"""Built-in: read a web page (HTTP GET to text), within size, time and address limits."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, use_tool

SPEC = LeafSpec(
    name="fetch",
    description="Read a web page or document by its URL (HTTP GET, returned as text).",
)


async def run(ctx: ActionContext) -> list[Any]:
    return await use_tool(ctx, "tools/web/fetch")
