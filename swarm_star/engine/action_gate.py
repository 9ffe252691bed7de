"""Approvals before actions and steps: the engine's gate around one activation.

Rules (``--approve PATTERN=POLICY``, the MCP servers file's ``approvals``) match
action paths too (``code/write_code``, ``code/*``): before a node runs an action
a matching ``deny`` makes the node report that it was denied, and ``ask`` parks
only that node with a question naming the action and its directive. Without a
matching rule an action runs (tool leaves are decided per call, see
``tool_calls.py``). Inside an action, a step that needs the user's approval
(a ``--allow-exec`` command without ``--yes``) raises
:class:`~swarm_star.tools.approvals.ApprovalNeeded` (the node parks with its
question) or :class:`~swarm_star.tools.approvals.Denied` (the node reports it);
either way the node's manager sees a report and plans around it. The answer is
a question of the node, so it persists across restarts like any answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from swarm_star.models import SwarmNode
from swarm_star.tools.approvals import ApprovalNeeded, Denied, action_question, approved, match_rule

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext

__all__ = ["gated", "user_approval"]


def user_approval(node: SwarmNode, question: str) -> bool | None:
    """The user's answer to ``question`` on this node: True (yes), False (no), None (not answered)."""
    for asked in node.questions:
        if asked.text == question and asked.answer is not None:
            return approved(asked.answer)
    return None


def _action_verdict(ctx: ActionContext) -> list[Any] | None:
    """Operations instead of running the action (denied, or parked for approval); None: run it."""
    action_id = ctx.node.action_id
    host = ctx._host.tools
    if host is None or action_id.startswith("tools."):
        return None
    path = "/".join(action_id.split("."))
    chosen = match_rule(path, (host.config.approvals, host.settings.approvals))
    if chosen is None or chosen[0] == "allow":
        return None
    policy, why = chosen
    if policy == "deny":
        return [ctx.terminate(f"Not done: the action {path} was denied ({why}). Nothing was run.")]
    question = action_question(path, ctx.node.directive, why)
    answer = user_approval(ctx.node, question)
    if answer is None:
        return [ctx.ask(question)]
    if not answer:
        return [ctx.terminate(f"Not done: the action {path} was denied by the user. Nothing was run.")]
    return None


async def gated(ctx: ActionContext, run: Callable[[], Awaitable[list[Any]]]) -> list[Any]:
    """Run one activation behind the approval gate (see the module's docstring)."""
    verdict = _action_verdict(ctx)
    if verdict is not None:
        return verdict
    try:
        return await run()
    except ApprovalNeeded as need:
        return [ctx.ask(need.question)]
    except Denied as denied:
        return [ctx.terminate(f"Not done: {denied}")]
