"""How routing cost grows with the number of tools behind one MCP server (issue 23).

For a server of N tools (10, 100, 1,000; names with five prefixes, a short
description and a two-field input schema each, like typical MCP tools), it
builds the real action space (installed tree + ``tools/<server>/`` grouped by
``swarm_star/tools/catalog.py``) and walks the real routing requests
(``prompts.routing.route_messages`` with the real menu lines and choice schema)
from the root to every tool, counting per routed leaf: model calls (one per
level) and prompt tokens (``llm.client.estimate_tokens``, the upper bound the
budget reserves). Against that: one call that hands the model all N tool
schemas at once (the OpenAI ``tools`` list a flat agent would send).

No model is needed: the requests are built exactly as a run builds them, and
their sizes are what a provider would count (upper bound). Run:
``python -m benchmarks.tool_routing_bench``.
"""

from __future__ import annotations

import json
import statistics

from swarm_star.api import load_spaces
from swarm_star.llm.client import estimate_tokens, json_schema_of
from swarm_star.models import SpaceFolder, SpaceLeaf
from swarm_star.prompts import routing
from swarm_star.spaces import ROOT_FOLDER_ID, Space
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


def walk_cost(space: Space, leaf_id: str) -> tuple[int, int]:
    """(calls, prompt tokens) of the route from the root to ``leaf_id``, one request per level."""
    path = leaf_id.split(".")
    folders = [ROOT_FOLDER_ID] + [".".join(path[: i + 1]) for i in range(len(path) - 1)]
    calls = tokens = 0
    for folder_id in folders:
        folder = space.entries[folder_id]
        assert isinstance(folder, SpaceFolder)
        options = [space.entries[c] for c in folder.children]
        options = [o for o in options if not (isinstance(o, SpaceLeaf) and not o.routable)]
        menu = "\n".join(routing.menu_line(o.name, o.description, folder=isinstance(o, SpaceFolder)) for o in options)
        schema = routing.choice_schema(tuple(o.name for o in options))
        messages = routing.route_messages("actions", DIRECTIVE, "", folder.name, menu)
        calls += 1
        tokens += estimate_tokens(messages, {"response_format": json_schema_of(schema)})
    return calls, tokens


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
        "| tools | levels (calls) per routed leaf | prompt tokens per routed leaf (mean, max) | "
        "largest menu | one call with every schema |"
    )
    print("|---|---|---|---|---|")
    for count in (10, 100, 1000):
        actions, _ = load_spaces()
        listed = tools(count)
        paths = graft_server(actions, "tracker", listed, actions.modules["tools.call_tool"])
        costs = [walk_cost(actions, leaf) for leaf in paths]
        calls = sorted({c for c, _ in costs})
        tokens = [t for _, t in costs]
        widest = max(len(e.children) for e in actions.entries.values() if isinstance(e, SpaceFolder))
        print(
            f"| {count:,} | {'-'.join(map(str, calls))} | {statistics.mean(tokens):,.0f}, {max(tokens):,} | "
            f"{widest} | {flat_cost(listed):,} |"
        )
    print(json.dumps({"note": "tokens are the budget's upper bound (UTF-8 bytes + template overhead)"}))


if __name__ == "__main__":
    main()
