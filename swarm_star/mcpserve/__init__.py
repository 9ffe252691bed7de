"""``swarm-star mcp``: Swarm Star as an MCP server (official SDK), driving swarms through ``api`` only."""

from swarm_star.mcpserve.server import SwarmRuns, build_server

__all__ = ["SwarmRuns", "build_server"]
