"""Tools through the API: the MCP servers file, the action space with its tools, approvals.

``--mcp FILE`` is read here (:func:`load_mcp`) for ``run``, ``resume``, ``serve``
and ``spaces``; :func:`action_space` lists every configured server's tools for
``swarm-star spaces action --mcp FILE`` (starting each server once, stopping it
after); :func:`approval_rules` reads ``--approve PATTERN=POLICY`` flags.
Approving or denying a pending call is answering its question (the words are
in :mod:`swarm_star.tools.approvals`), so the CLI's ``answer``, the inline
prompt, ``POST .../questions/{id}/answer`` and ``POST .../approvals/{id}`` all work.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from swarm_star.engine.tool_calls import recorded_listings
from swarm_star.errors import InputError, SwarmStarError
from swarm_star.models import Question, SwarmNode, ToolSettings
from swarm_star.spaces import Space
from swarm_star.state.reader import SwarmReader
from swarm_star.tools.approvals import Policy, is_approval, parse_rule
from swarm_star.tools.catalog import graft_server
from swarm_star.tools.host import RUNNER, ToolHost
from swarm_star.tools.mcp_config import McpConfig, load_mcp_config

__all__ = ["action_space", "approval_rules", "graft_recorded_tools", "is_approval", "load_mcp", "split_questions"]


def load_mcp(path: str | Path | None) -> McpConfig | None:
    """The MCP servers file at ``path`` (None: no servers); InputError names what is wrong."""
    return None if path is None else load_mcp_config(path)


def approval_rules(flags: Iterable[str]) -> dict[str, Policy]:
    """``--approve PATTERN=POLICY`` flags as rules (a later flag for the same pattern wins)."""
    rules: dict[str, Policy] = {}
    for flag in flags:
        try:
            pattern, policy = parse_rule(flag)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        rules.pop(pattern, None)
        rules[pattern] = policy
    return rules


async def action_space(mcp: str | Path | None, settings: ToolSettings | None = None) -> Space:
    """The installed action space with every configured server's tools listed under ``tools/``.
    A server that cannot list its tools keeps an empty folder saying why."""
    from swarm_star.spaces.installed import load_spaces

    actions, _ = load_spaces()
    host = ToolHost(load_mcp(mcp), settings or ToolSettings())
    host.graft(actions)
    try:
        for folder_id in list(actions.expanders):
            try:
                await actions.expand(folder_id)
            except SwarmStarError as exc:
                actions.expanders.pop(folder_id, None)
                entry = actions.entries[folder_id]
                entry.description += f" (unavailable: {exc})"
    finally:
        await host.aclose()
    return actions


def graft_recorded_tools(actions: Space, reader: SwarmReader) -> None:
    """Put every tool list the swarm recorded under ``tools/<server>`` (as its runs show them)."""
    runner = actions.modules.get(RUNNER)
    if runner is not None:
        for name, tools in sorted(recorded_listings(reader).items()):
            graft_server(actions, name, tools, runner)


def split_questions(
    pending: list[tuple[SwarmNode, Question]],
) -> tuple[list[tuple[SwarmNode, Question]], list[tuple[SwarmNode, Question]]]:
    """(questions, approvals) among pending questions: an approval asks for one exact tool call."""
    approvals = [(n, q) for n, q in pending if is_approval(q.text)]
    return [(n, q) for n, q in pending if not is_approval(q.text)], approvals
