"""Built-in: search the web through the configured search MCP server (refuses when there is none)."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, use_tool

SPEC = LeafSpec(
    name="search",
    description="Search the web for pages about a topic (needs a search MCP server, e.g. Brave, Tavily, Exa).",
)


async def run(ctx: ActionContext) -> list[Any]:
    return await use_tool(ctx, "tools/web/search")
