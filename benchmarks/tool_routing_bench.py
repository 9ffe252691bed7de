"""How routing cost grows with the number of tools behind one MCP server (issue 23).

For a server of N tools (10, 100, 1,000; names with five prefixes, a short
description and a two-field input schema each, like typical MCP tools), it
builds the real action space (installed tree + ``tools/<server>/`` grouped by
``swarm_star/tools/catalog.py``) and builds the real routing requests
(``prompts.routing.route_messages`` with the real menus and choice schemas)
from the root to every tool, counting per routed leaf: model calls and prompt
tokens (``llm.client.estimate_tokens``, the upper bound the budget reserves),
side by side for the two ways the router can walk (issue 25): one level at a
time, and menus with folders opened in place up to ``kit.router.FLAT_MENU``
options (what it does now). Against both: one call that hands the model all N
tool schemas at once (the OpenAI ``tools`` list a flat agent would send).

No model is needed: the requests are built exactly as a run builds them, and
their sizes are what a provider would count (upper bound). Run:
``python -m benchmarks.tool_routing_bench``.
"""

from __future__ import annotations

import json
import statistics

from swarm_star.api import load_spaces
from swarm_star.kit.router import FLAT_MENU, menu, menu_text
from swarm_star.llm.client import estimate_tokens, json_schema_of
from swarm_star.models import SpaceFolder, SpaceLeaf
from swarm_star.prompts import routing
from swarm_star.spaces import ROOT_FOLDER_ID, Space
from swarm_star.spaces.needs import NEEDS
from swarm_star.tools.catalog import graft_server
from swarm_star.tools.sessions import ToolInfo

PREFIXES = ("get", "list", "create", "update", "delete")
DIRECTIVE = "Find the open issues assigned to me in the tracker and summarise them"


def tools(count: int) -> list[ToolInfo]:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string", "description": "the record's id"}, "limit": {"type": "integer"}},
        "required": ["id"],
    }
    return [
        ToolInfo(
            f"{PREFIXES[i % 5]}_record_{i:04d}", f"{PREFIXES[i % 5].title()} record kind {i} of the tracker.", schema
        )
        for i in range(count)
    ]


def walk_cost(space: Space, leaf_id: str, limit: int | None = None) -> tuple[int, int]:
    """(calls, prompt tokens) of the route from the root to ``leaf_id`` as the router makes it:
    one request per menu, each menu the folder's options opened in place up to ``limit``
    (the router's :data:`FLAT_MENU` by default; 1 is the walk one level at a time)."""
    met = frozenset(NEEDS)
    folder_id, calls, tokens = ROOT_FOLDER_ID, 0, 0
    while True:
        folder = space.entries[folder_id]
        assert isinstance(folder, SpaceFolder)
        options = menu(space, folder_id, met, limit=limit)
        schema = routing.choice_schema(tuple(options))
        messages = routing.route_messages("actions", DIRECTIVE, "", folder.name, menu_text(options))
        calls += 1
        tokens += estimate_tokens(messages, {"response_format": json_schema_of(schema)})
        picked = next(e for e in options.values() if leaf_id == e.id or leaf_id.startswith(e.id + "."))
        if isinstance(picked, SpaceLeaf):
            return calls, tokens
        folder_id = picked.id


def flat_cost(listed: list[ToolInfo]) -> int:
    """Prompt tokens of one call that carries every tool's schema (OpenAI ``tools`` format)."""
    specs = [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}
        for t in listed
    ]
    messages = [{"role": "user", "content": DIRECTIVE}]
    return estimate_tokens(messages, {"response_format": specs})  # the tools list is sent as prompt too


def main() -> None:
    print(
        f"| tools | walk by level: calls per routed leaf | tokens (mean, max) | menus of up to {FLAT_MENU}: calls | "
        "tokens (mean, max) | calls, walk ÷ menus | one call with every schema: tokens |"
    )
    print("|---|---|---|---|---|---:|---:|")
    for count in (10, 100, 1000):
        actions, _ = load_spaces()
        listed = tools(count)
        paths = graft_server(actions, "tracker", listed, actions.modules["tools.call_tool"])
        by_level = [walk_cost(actions, leaf, limit=1) for leaf in paths]
        by_menu = [walk_cost(actions, leaf) for leaf in paths]
        cells = []
        for costs in (by_level, by_menu):
            calls = sorted({c for c, _ in costs})
            tokens = [t for _, t in costs]
            cells += ["-".join(map(str, calls)), f"{statistics.mean(tokens):,.0f}, {max(tokens):,}"]
        ratio = statistics.mean(c for c, _ in by_level) / statistics.mean(c for c, _ in by_menu)
        print(f"| {count:,} | {' | '.join(cells)} | {ratio:.2f} | {flat_cost(listed):,} |")
    print(json.dumps({"note": "tokens are the budget's upper bound (UTF-8 bytes + template overhead)"}))


if __name__ == "__main__":
    main()
