"""MCP tools as leaves of the action space: ``tools/<server>/<tool>``, grouped so no menu is long.

A router shows one folder's children at a time. A server with more tools than
:data:`MAX_MENU` gets sub-folders: first by the tools' name prefix
(``file_read``, ``file_write`` -> ``file*``), and where prefixes do not split
them small enough, by alphabetical ranges (``add..fetch``), recursively, so
every menu of the walk holds at most :data:`MAX_MENU` options whatever the
number of tools (1,000 tools: three short menus, see ``benchmarks/``).

Leaf ids are ``tools.<server>[.<group>...].<tool>`` with characters other
than letters, digits, ``_`` and ``-`` replaced; the leaf's ``name`` is the
tool's own name (what the router shows and the model picks), its
``entry_point`` is ``mcp:<server>/<tool>`` and its ``input_schema`` the tool's.
"""

from __future__ import annotations

import re
from types import ModuleType

from swarm_star.models import SpaceFolder, SpaceLeaf
from swarm_star.spaces.loader import Space
from swarm_star.spaces.menus import MAX_MENU, Group, group_names
from swarm_star.tools.sessions import ToolInfo

__all__ = ["MAX_MENU", "TOOLS_FOLDER", "graft_server", "group_names", "server_folder", "tool_path"]

TOOLS_FOLDER = "tools"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tool_path(server: str, tool: str) -> str:
    """The path policies and frames name a tool by: ``tools/<server>/<tool>``."""
    return f"{TOOLS_FOLDER}/{server}/{tool}"


def _describe_group(group: Group) -> str:
    names = group.names()
    shown = ", ".join(names[:6]) + (", …" if len(names) > 6 else "")
    return f"{len(names)} tools: {shown}"


def server_folder(space: Space, server: str, description: str) -> str:
    """Make sure ``tools/<server>`` exists (empty until listed); returns its id."""
    tools = space.entries.get(TOOLS_FOLDER)
    if not isinstance(tools, SpaceFolder):
        tools = SpaceFolder(id=TOOLS_FOLDER, name=TOOLS_FOLDER, description="Tools: the web and MCP servers.")
        space.entries[TOOLS_FOLDER] = tools
        space.root.children.append(TOOLS_FOLDER)
    folder_id = f"{TOOLS_FOLDER}.{_UNSAFE.sub('_', server)}"
    if folder_id not in space.entries:
        space.entries[folder_id] = SpaceFolder(id=folder_id, name=server, description=description)
        tools.children.append(folder_id)
    return folder_id


def graft_server(space: Space, server: str, tools: list[ToolInfo], runner: ModuleType) -> dict[str, str]:
    """Put a server's listed tools under its folder (replacing what was there); returns leaf id -> tool path."""
    folder_id = server_folder(space, server, f"Tools of the MCP server {server}.")
    for entry_id in [e for e in space.entries if e.startswith(folder_id + ".")]:
        space.entries.pop(entry_id)
        space.modules.pop(entry_id, None)
    by_name = {t.name: t for t in tools}
    paths: dict[str, str] = {}

    def place(parent_id: str, members: list[str | Group]) -> list[str]:
        ids: list[str] = []
        used: set[str] = set()
        for member in members:
            label = member if isinstance(member, str) else member.label
            stem = _UNSAFE.sub("_", label.replace("..", "-").replace("*", "")) or "tool"
            child_id, n = f"{parent_id}.{stem}", 1
            while child_id in used or child_id in space.entries:
                n += 1
                child_id = f"{parent_id}.{stem}_{n}"
            used.add(child_id)
            if isinstance(member, str):
                tool = by_name[member]
                space.entries[child_id] = SpaceLeaf(
                    id=child_id,
                    name=tool.name,
                    description=(tool.description or f"The tool {tool.name} of {server}.")[:300],
                    entry_point=f"mcp:{server}/{tool.name}",
                    input_schema=tool.input_schema,
                )
                space.modules[child_id] = runner
                paths[child_id] = tool_path(server, tool.name)
            else:
                folder = SpaceFolder(id=child_id, name=member.label, description=_describe_group(member))
                space.entries[child_id] = folder
                folder.children = place(child_id, member.members)
            ids.append(child_id)
        return ids

    folder = space.entries[folder_id]
    assert isinstance(folder, SpaceFolder)
    folder.children = place(folder_id, group_names(list(by_name)))
    if not tools:
        folder.description += " (it lists no tools)"
    return paths
