"""Frames told in the seeds' event vocabularies: Ai3's stream events and geepers' event types.

Frames stay the one record of what happened (property 1); these translators
only *name* what a frame means in words a seed's client already handles, so a
dashboard written for Ai3 (``plan``, ``task_start``, … ``final``, ``stats``) or
for geepers (``WORKFLOW_START``, ``AGENT_COMPLETE``, …) follows a swarm
unchanged. The shape of the tree gives the meaning:

* a **manager** plans (its parts are the tasks/agents) and, when its parts are
  done, reviews them (Ai3's assembly, geepers' synthesis);
* a **router** is one part of a plan: an Ai3 task, a geepers agent; the leaf it
  spawns is the routing decision;
* the **root** finishing is the final output.

A translator reads frames as stored (JSON dicts, in order from frame 0, or from
anywhere when given the tree's nodes to look roles up in) and returns zero or
more events per frame, each ``{"type": NAME, "frame": N, "time": T, ...}``.
``progress`` (percent) is given where it is knowable: parts settled out of
parts planned so far, 100 at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from swarm_star.errors import InputError
from swarm_star.models import ROOT_NODE_ID, NodeRole, SwarmEvent, SwarmNode, Usage

__all__ = [
    "AI3_EVENTS",
    "GEEPERS_EVENTS",
    "Ai3Events",
    "Dialect",
    "GeepersEvents",
    "SeedEvents",
    "seed_callback",
    "translator",
]

Dialect = Literal["ai3", "geepers"]
AI3_EVENTS = (
    "plan",
    "decision",
    "task_start",
    "task_artifact",
    "task_verified",
    "task_repaired",
    "task_failed",
    "assemble_start",
    "final",
    "stats",
    "stopped",
)
"""Ai3's stream events, and ``stopped`` (ours: the run paused on a question or a limit)."""
GEEPERS_EVENTS = (
    "WORKFLOW_START",
    "DECOMPOSITION_COMPLETE",
    "AGENT_START",
    "AGENT_COMPLETE",
    "AGENT_ERROR",
    "SYNTHESIS_START",
    "SYNTHESIS_COMPLETE",
    "WORKFLOW_COMPLETE",
    "WORKFLOW_ERROR",
    "WORKFLOW_STOPPED",
)
"""geepers' event types, and ``WORKFLOW_STOPPED`` (ours: the run paused on a question or a limit)."""


@dataclass
class _Known:
    role: str
    parent: str | None
    directive: str
    part: bool = False  # a plan's part (a router) or an orchestration pattern's subtask


@dataclass
class SeedEvents:
    """What both translators track: each node's role and parent, parts planned and settled, usage."""

    nodes: Mapping[str, SwarmNode] | None = None
    _known: dict[str, _Known] = field(default_factory=dict)
    _planned: set[str] = field(default_factory=set)
    _settled: set[str] = field(default_factory=set)
    usage: Usage = field(default_factory=Usage)

    def feed(self, frame: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The events one stored frame means (frames fed in order)."""
        op = frame["op"]
        kind = op["kind"]
        if kind == "spawn":
            part = op["role"] == NodeRole.ROUTER or "wave" in (op.get("context") or {})
            self._known[op["node_id"]] = _Known(op["role"], op.get("parent_id"), op.get("directive", ""), part)
        elif kind == "llm_call":
            self.usage = self.usage.plus(Usage.model_validate(op.get("usage") or {}))
        node = op.get("node_id")
        if kind == "spawn" and self.is_part(node):
            self._planned.add(node)
        if kind in ("terminate", "fail") and self.is_part(node):
            self._settled.add(node)
        made = self.events(kind, op, node)
        return [{"type": name, "frame": frame["frame"], "time": frame["time"], **body} for name, body in made]

    def events(self, kind: str, op: Mapping[str, Any], node: str | None) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError

    # the tree as far as it is known

    def _node(self, node_id: str | None) -> _Known | None:
        if node_id is None:
            return None
        known = self._known.get(node_id)
        if known is None and self.nodes is not None and node_id in self.nodes:
            n = self.nodes[node_id]
            part = n.role == NodeRole.ROUTER or "wave" in n.context
            known = self._known[node_id] = _Known(str(n.role), n.parent_id, n.directive, part)
        return known

    def is_part(self, node_id: str | None) -> bool:
        known = self._node(node_id)
        return known is not None and known.part

    def role(self, node_id: str | None) -> str | None:
        known = self._node(node_id)
        return known.role if known else None

    def parent(self, node_id: str | None) -> str | None:
        known = self._node(node_id)
        return known.parent if known else None

    def task_of(self, node_id: str | None) -> str | None:
        """The part (router, pattern subtask) a node works for: itself, or its nearest part above."""
        while node_id is not None and not self.is_part(node_id) and self.role(node_id) is not None:
            node_id = self.parent(node_id)
        return node_id

    def progress(self) -> float | None:
        """Percent of the parts planned so far that have settled; None before any plan."""
        if not self._planned:
            return None
        return round(100.0 * len(self._settled & self._planned) / len(self._planned), 1)

    def stats(self) -> dict[str, Any]:
        return {
            "task_count": len(self._planned),
            "tasks_done": len(self._settled),
            "calls": self.usage.calls,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "total_tokens": self.usage.tokens,
            "total_cost": round(self.usage.cost, 6),
        }

    def children_of(self, node_id: str) -> int:
        return sum(1 for k in self._known.values() if k.parent == node_id)


class Ai3Events(SeedEvents):
    """Frames as Ai3's stream: plan, decision, task_start, task_artifact, task_verified,
    task_repaired, task_failed, assemble_start, final, stats (and ``stopped``)."""

    def events(self, kind: str, op: Mapping[str, Any], node: str | None) -> list[tuple[str, dict[str, Any]]]:
        role = self.role(node)
        if kind == "run_action" and role == NodeRole.MANAGER:
            if op.get("reason") == "children_done":
                return [("assemble_start", {"task_id": node})]
            if op.get("reason") in ("start", "retry"):
                return [("plan", {"status": "started", "task_id": node})]
        if kind == "await_children" and role == NodeRole.MANAGER:
            return [("plan", {"status": "completed", "task_id": node, "task_count": self.children_of(node or "")})]
        if kind == "spawn" and self.is_part(node):
            return [("task_start", {"task_id": node, "description": op.get("directive", "")})]
        if kind == "spawn" and self.role(op.get("parent_id")) == NodeRole.ROUTER:
            return [("decision", {"task_id": op.get("parent_id"), "action": op.get("action_id")})]
        if kind == "llm_call" and op.get("route") and self.task_of(node):
            return [("decision", {"task_id": self.task_of(node), "model": op.get("model"), "route": op.get("route")})]
        if kind == "verdict":
            verification = {"status": "passed" if op.get("ok") else "failed", "stage": op.get("stage")}
            verification["reasons"] = list(op.get("reasons") or [])
            name = "task_repaired" if op.get("stage") == "repair" else "task_verified"
            return [(name, {"task_id": self.task_of(node), "verification": verification})]
        if kind == "terminate" and self.is_part(node):
            artifact = {"content": op.get("report", ""), "files": list(op.get("artifacts") or [])}
            return [("task_artifact", {"task_id": node, "artifact": artifact, "progress": self.progress()})]
        if kind == "fail" and self.is_part(node):
            return [("task_failed", {"task_id": node, "error": op.get("error"), "progress": self.progress()})]
        if kind == "terminate" and node == ROOT_NODE_ID:
            return [("final", {"output": op.get("report", "")}), ("stats", {"stats": self.stats()})]
        if kind == "fail" and node == ROOT_NODE_ID:
            return [("task_failed", {"task_id": node, "error": op.get("error")}), ("stats", {"stats": self.stats()})]
        if kind == "stop":
            return [
                ("stopped", {"reason": op.get("reason"), "limit": op.get("limit")}),
                ("stats", {"stats": self.stats()}),
            ]
        return []


class GeepersEvents(SeedEvents):
    """Frames as geepers' event types: WORKFLOW_START, DECOMPOSITION_COMPLETE, AGENT_START,
    AGENT_COMPLETE, AGENT_ERROR, SYNTHESIS_START, SYNTHESIS_COMPLETE, WORKFLOW_COMPLETE,
    WORKFLOW_ERROR (and ``WORKFLOW_STOPPED``)."""

    def events(self, kind: str, op: Mapping[str, Any], node: str | None) -> list[tuple[str, dict[str, Any]]]:
        role = self.role(node)
        if kind == "spawn" and node == ROOT_NODE_ID:
            return [("WORKFLOW_START", {"task": op.get("directive", ""), "progress": 0.0})]
        if kind == "await_children" and role == NodeRole.MANAGER:
            count = self.children_of(node or "")
            return [("DECOMPOSITION_COMPLETE", {"agent_id": node, "subtask_count": count, "progress": self.progress()})]
        if kind == "spawn" and self.is_part(node):
            return [
                ("AGENT_START", {"agent_id": node, "task": op.get("directive", ""), "parent_id": op.get("parent_id")})
            ]
        if kind == "terminate" and self.is_part(node):
            return [("AGENT_COMPLETE", {"agent_id": node, "result": op.get("report", ""), "progress": self.progress()})]
        if kind == "fail" and self.is_part(node):
            return [("AGENT_ERROR", {"agent_id": node, "error": op.get("error"), "progress": self.progress()})]
        if kind == "run_action" and role == NodeRole.MANAGER and op.get("reason") == "children_done":
            return [("SYNTHESIS_START", {"agent_id": node, "progress": self.progress()})]
        if kind == "terminate" and role == NodeRole.MANAGER:
            return [("SYNTHESIS_COMPLETE", {"agent_id": node, "result": op.get("report", "")})]
        if kind == "terminate" and node == ROOT_NODE_ID:
            return [("WORKFLOW_COMPLETE", {"result": op.get("report", ""), "progress": 100.0, "stats": self.stats()})]
        if kind == "fail" and node == ROOT_NODE_ID:
            return [("WORKFLOW_ERROR", {"error": op.get("error"), "stats": self.stats()})]
        if kind == "stop":
            return [
                (
                    "WORKFLOW_STOPPED",
                    {"reason": op.get("reason"), "limit": op.get("limit"), "progress": self.progress()},
                )
            ]
        return []


def translator(dialect: str, nodes: Mapping[str, SwarmNode] | None = None) -> SeedEvents:
    """A fresh translator for ``dialect`` (``ai3`` or ``geepers``)."""
    if dialect == "ai3":
        return Ai3Events(nodes)
    if dialect == "geepers":
        return GeepersEvents(nodes)
    raise InputError(f"unknown event names {dialect!r}: ai3 or geepers")


def seed_callback(
    callback: Callable[[dict[str, Any]], None], dialect: str = "geepers", nodes: Mapping[str, SwarmNode] | None = None
) -> Callable[[SwarmEvent], None]:
    """A ``RunHandle.subscribe`` callback that calls ``callback`` with each seed event
    (``handle.subscribe(seed_callback(print))``); ``nodes`` (``handle.state.nodes``) lets a
    resumed run's translator know the nodes spawned before it."""
    words = translator(dialect, nodes)

    def on_frame(event: SwarmEvent) -> None:
        for seed_event in words.feed(event.model_dump(mode="json")):
            callback(seed_event)

    return on_frame
