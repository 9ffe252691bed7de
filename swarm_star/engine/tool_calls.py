"""Tool calls as journaled steps, and approvals before them: the engine's side of ``swarm_star.tools``.

A tool call is journaled like a model call: the n-th step of activation k of a
node has the key ``"k:n"`` (one sequence with its model calls), and its
:class:`~swarm_star.models.ToolCall` frame holds the request digest, the result,
the error and the latency. Once that frame is committed, a re-run of the
activation (after a crash, a resume, an approval) gets the recorded result and
the tool is not called again: a committed tool call is never repeated. A call
that was in flight when the process died was never committed, so it is made
again (the server may have seen it once).

Before a call runs, the policy decides (:mod:`swarm_star.tools.approvals`):
``deny`` records a denied call; ``ask`` looks for the user's answer to the
question naming this exact call among the node's questions and, without one,
raises :class:`~swarm_star.tools.approvals.ApprovalNeeded` so the activation
parks its node (only that node) with the question. A "no" records a denied call.

Each server's tool list, once listed, is recorded in the swarm's store under
``action_space_tools_<server>`` (committed with the next frames, fenced by the
lease), so a resumed swarm (on this machine or another, from Cosmos DB) offers
the same leaves without starting the server to route.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from swarm_star.engine.journal import redact_error
from swarm_star.errors import ToolError
from swarm_star.models import SwarmNode, ToolCall
from swarm_star.state.layout import TOOL_LISTING_PREFIX
from swarm_star.state.reader import SwarmReader
from swarm_star.store.base import Put
from swarm_star.tools.approvals import ApprovalNeeded, approval_question, approved
from swarm_star.tools.sessions import ToolInfo

if TYPE_CHECKING:
    from swarm_star.engine.host import ActionHost
    from swarm_star.engine.loop import Engine
    from swarm_star.tools.host import ToolHost

__all__ = ["bind_tools", "make_tool_call", "recorded_listings", "tool_digest"]


def tool_digest(path: str, arguments: dict[str, Any]) -> str:
    """What a call asked, as a short digest: the tool and its arguments."""
    body = json.dumps([path, arguments], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def recorded_listings(reader: SwarmReader) -> dict[str, list[ToolInfo]]:
    """The tool lists this swarm recorded (server -> tools)."""
    return {name: [ToolInfo.from_json(t) for t in tools] for name, tools in reader.tool_listings().items()}


def bind_tools(engine: Engine, host: ToolHost) -> None:
    """Give the run's tools to the engine: recorded listings first, new ones recorded with the next commit."""
    for name, tools in recorded_listings(engine.log).items():
        host.listed.setdefault(name, tools)

    def on_listed(name: str, tools: list[ToolInfo]) -> None:
        value = {"server": name, "listed_at": time.time(), "tools": [t.to_json() for t in tools]}
        engine._extra_ops.append(Put(TOOL_LISTING_PREFIX + name, value))
        engine._wake.set()

    host.on_listed = on_listed
    host.graft(engine.actions)


def _approval(node: SwarmNode, question: str) -> bool | None:
    """The user's answer to ``question`` on this node: True (yes), False (no), None (not answered)."""
    for asked in node.questions:
        if asked.text == question and asked.answer is not None:
            return approved(asked.answer)
    return None


async def make_tool_call(
    where: ActionHost, node_id: str, key: str, path: str, arguments: dict[str, Any], digest: str, replaces: str | None
) -> ToolCall:
    """Decide, run and journal one tool call (see the module's docstring)."""
    from swarm_star.engine.loop import Engine  # the writer: tool calls are not made from Ray workers

    if not isinstance(where, Engine):
        raise ToolError(
            "tools are reached only from activations run by the writer (tool leaves and, with MCP servers, "
            "routers run there under an executor too); this one ran on a worker"
        )
    engine = where
    host = engine.tools
    if host is None:
        raise ToolError("this run has no tools")
    engine.budget.check(engine.state)  # a stopping run starts no tool call either
    settings = host.settings
    node = engine.state.nodes[node_id]

    def record(**fields: Any) -> ToolCall:
        call = ToolCall(node_id=node_id, call_key=key, tool=path, arguments=arguments, digest=digest, **fields)
        engine.emit(call)
        engine._wake.set()
        return call

    try:
        info = await host.info(path)
    except ToolError as exc:
        return record(error=redact_error(engine.llm, exc), replaces=replaces)
    policy, why = host.policy(path, info)
    if policy == "deny":
        return record(error=f"denied by policy ({why})", denied=True, policy=f"deny: {why}", replaces=replaces)
    if policy == "ask":
        question = approval_question(path, arguments, why)
        answer = _approval(node, question)
        if answer is None:
            raise ApprovalNeeded(question)
        if not answer:
            return record(error="denied by the user", denied=True, policy=f"ask: {why}; denied", replaces=replaces)
        why += "; approved by the user"
    started = time.monotonic()
    try:
        with engine.journal.flight.track(node_id, key, path, "tool"):
            result = await host.call(path, arguments)
    except ToolError as exc:
        return record(
            error=redact_error(engine.llm, exc),
            policy=f"{policy}: {why}",
            latency_s=round(time.monotonic() - started, 4),
            replaces=replaces,
        )
    text = result.text
    return record(
        result=text[: settings.result_cap],
        result_chars=len(text),
        is_error=result.is_error,
        policy=f"{policy}: {why}",
        latency_s=round(time.monotonic() - started, 4),
        replaces=replaces,
    )
