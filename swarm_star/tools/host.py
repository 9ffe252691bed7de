"""Everything a run needs to use tools: the servers, the built-in web tools, the policy.

One :class:`ToolHost` per run (the API builds it; the engine binds it, see
``engine/tool_calls.py``; the API closes it when the run ends, which stops
every server the run started). It

* grafts ``tools/<server>`` folders into the run's action space: a server whose
  tool list this swarm recorded before gets its leaves at once, any other a
  lazy folder that lists (starting the server) when a router first enters it;
  ``on_listed`` lets the engine record each new listing in the swarm's store,
  so a resumed swarm routes through the same menus without starting anything;
* executes calls: ``tools/web/fetch`` here, ``tools/web/search`` through the
  configured search server, anything else through :class:`McpSessions`;
* decides each call's policy (:mod:`swarm_star.tools.approvals`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from swarm_star.errors import ToolError
from swarm_star.models import ToolSettings
from swarm_star.spaces.loader import Space
from swarm_star.tools.approvals import Policy, decide
from swarm_star.tools.catalog import TOOLS_FOLDER, graft_server, server_folder, tool_path
from swarm_star.tools.mcp_config import McpConfig
from swarm_star.tools.sessions import McpSessions, ToolInfo, ToolResult
from swarm_star.tools.web import FETCH_SCHEMA, fetch_text

__all__ = ["FETCH", "RUNNER", "SEARCH", "ToolHost"]

FETCH = "tools/web/fetch"
SEARCH = "tools/web/search"
RUNNER = "tools.call_tool"
"""The installed, non-routable action every MCP tool leaf runs (``actions/tools/call_tool.py``)."""
BUILT_IN = {
    FETCH: ToolInfo(
        "fetch",
        "Read a web page or file over HTTP(S): GET the URL and return its text.",
        FETCH_SCHEMA,
        read_only=True,
    ),
}


class ToolHost:
    """The tools of one run."""

    def __init__(
        self,
        config: McpConfig | None,
        settings: ToolSettings,
        *,
        recorded: Mapping[str, list[ToolInfo]] | None = None,
    ) -> None:
        self.config = config or McpConfig()
        self.settings = settings
        self.sessions = McpSessions(self.config, call_timeout=settings.call_timeout)
        self.listed: dict[str, list[ToolInfo]] = dict(recorded or {})
        self.paths: dict[str, str] = {}  # leaf id -> tool path
        self.on_listed: Callable[[str, list[ToolInfo]], None] | None = None
        self.exec_yes = False  # this run's --yes: --allow-exec steps run without asking
        self._locks: dict[str, asyncio.Lock] = {}

    # the action space

    def graft(self, actions: Space) -> None:
        """Add a folder per configured server under ``tools/`` (leaves now if recorded, else lazy)."""
        runner = actions.modules.get(RUNNER)
        if runner is None:
            return  # an action tree without the tools folder (an old install): no MCP leaves
        for name, server in sorted(self.config.servers.items()):
            if name in self.listed:
                self.paths.update(graft_server(actions, name, self.listed[name], runner))
                continue
            folder_id = server_folder(actions, name, server.description or f"Tools of the MCP server {name}.")
            actions.expanders[folder_id] = self._expander(actions, name, runner)

    def _expander(self, actions: Space, name: str, runner: ModuleType) -> Callable[[], Any]:
        async def expand() -> None:
            await self.list_server(name)
            self.paths.update(graft_server(actions, name, self.listed[name], runner))

        return expand

    async def list_server(self, name: str) -> list[ToolInfo]:
        """The server's tools: recorded or listed once per run (started now if need be)."""
        async with self._locks.setdefault(name, asyncio.Lock()):
            if name not in self.listed:
                tools = await self.sessions.list_tools(name)
                self.listed[name] = tools
                if self.on_listed is not None:
                    self.on_listed(name, tools)
            return self.listed[name]

    # tools

    def path_of(self, leaf_id: str, entry_point: str | None) -> str:
        """A leaf's tool path: ``mcp:<server>/<tool>`` leaves, or the built-in's own id."""
        if entry_point and entry_point.startswith("mcp:"):
            server, _, tool = entry_point[4:].partition("/")
            return tool_path(server, tool)
        return "/".join(leaf_id.split("."))

    async def info(self, path: str) -> ToolInfo | None:
        """What a tool is (schema, annotations); None for web/search when no search server is set up."""
        if path in BUILT_IN:
            return BUILT_IN[path]
        if path == SEARCH:
            found = await self.search_tool()
            return None if found is None else found[1]
        server, tool = self._split(path)
        return next((t for t in await self.list_server(server) if t.name == tool), None)

    async def search_tool(self) -> tuple[str, ToolInfo] | None:
        """The configured search server's search tool: the server named ``search*`` (or whose
        name contains ``search``) and its first tool whose name says search."""
        names = [n for n in sorted(self.config.servers) if "search" in n.lower()]
        if not names:
            return None
        tools = await self.list_server(names[0])
        tool = next((t for t in tools if "search" in t.name.lower()), tools[0] if tools else None)
        return None if tool is None else (names[0], tool)

    def policy(self, path: str, info: ToolInfo | None) -> tuple[Policy, str]:
        """allow / ask / deny, and why (the file's rules, then the swarm's, then the annotations)."""
        return decide(
            path,
            read_only=None if info is None else info.read_only,
            destructive=None if info is None else info.destructive,
            rules=(self.config.approvals, self.settings.approvals),
            built_in=path in (FETCH, SEARCH),
        )

    async def call(self, path: str, arguments: dict[str, Any]) -> ToolResult:
        """Run one call (ToolError with the reason if it fails)."""
        if path == FETCH:
            url = arguments.get("url")
            return ToolResult(await fetch_text(str(url or ""), allow_private=self.settings.web_private))
        if path == SEARCH:
            found = await self.search_tool()
            if found is None:
                raise ToolError("web/search is not configured: add a search MCP server (e.g. one named 'search')")
            return await self.sessions.call(found[0], found[1].name, arguments)
        server, tool = self._split(path)
        return await self.sessions.call(server, tool, arguments)

    def _split(self, path: str) -> tuple[str, str]:
        head, server, tool = [*path.split("/", 2), "", ""][:3]
        if head != TOOLS_FOLDER or not server or not tool:
            raise ToolError(f"not a tool path: {path!r}")
        return server, tool

    async def aclose(self) -> None:
        """Stop every server this run started."""
        await self.sessions.aclose()
