"""The scheduler: which nodes may start now (dependencies between parts, concurrency).

Runnable nodes are tracked incrementally (a spawn, an answer, or the last child
finishing makes a node runnable), in a heap ordered by tree position, so a loop
pass costs O(changes · log runnable), not O(tree): picking the next few never
re-sorts the thousands that wait for a free slot, and time per node stays flat
as the tree grows. The scheduler decides; the loop
writes what it decided (``RunAction`` frames, skipped parts' ``Fail``) before
any activation starts.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from swarm_star.engine.quality import report_junk
from swarm_star.models import AFTER_KEY, Fail, NodeStatus, RunAction, SwarmEvent, SwarmNode
from swarm_star.models.operations import Operation
from swarm_star.state.projection import SwarmState

__all__ = ["Scheduler", "blocked", "tree_order"]

Emit = Callable[[Operation], SwarmEvent]


class Scheduler:
    """The nodes that may be runnable, kept up to date as operations are applied."""

    def __init__(self) -> None:
        self.runnable: set[str] = set()
        self._heap: list[tuple[tuple[int, ...], str]] = []  # the runnable set in tree order

    def add(self, node_id: str) -> None:
        """``node_id`` may be runnable now (checked again when it is picked)."""
        if node_id not in self.runnable:
            self.runnable.add(node_id)
            heapq.heappush(self._heap, (tree_order(node_id), node_id))

    def reset(self, state: SwarmState) -> None:
        """At the start of a run: every pending or running node, and parents whose children are done."""
        self.runnable, self._heap = set(), []
        for node in state.nodes.values():
            if node.status in (NodeStatus.PENDING, NodeStatus.RUNNING):
                self.add(node.id)
        for node in state.nodes.values():
            self._check_parent_ready(state, node.id)

    def note(self, state: SwarmState, op: Operation) -> None:
        """``op`` was just applied to ``state``: which nodes it may have made runnable."""
        if op.kind == "spawn" or op.kind == "user_answer":  # op.kind (not a copy of it) narrows the union
            self.add(op.node_id)
        elif op.kind == "await_children":
            self._check_parent_ready(state, op.node_id)
        elif op.kind == "terminate" or op.kind == "fail":
            node = state.nodes[op.node_id]
            if node.parent_id is not None:
                self._wake_dependents(state, node.parent_id, node.id)
                self._check_parent_ready(state, node.parent_id)

    def _check_parent_ready(self, state: SwarmState, node_id: str) -> None:
        node = state.nodes[node_id]
        if node.status == NodeStatus.WAITING_CHILDREN and all(state.nodes[c].status.done for c in node.children):
            self.add(node_id)

    def _wake_dependents(self, state: SwarmState, parent_id: str, done_id: str) -> None:
        """A part finished: its siblings that wait for it may start (or be skipped)."""
        for sibling_id in state.nodes[parent_id].children:
            sibling = state.nodes[sibling_id]
            if sibling.status == NodeStatus.PENDING and done_id in sibling.context.get(AFTER_KEY, ()):
                self.add(sibling_id)

    def choose(self, state: SwarmState, running: int, emit: Emit) -> list[tuple[SwarmNode, str]]:
        """Pick the nodes to start now, at most ``state.limits.concurrency`` with ``running``.

        Each chosen node gets its ``RunAction`` frame through ``emit``; a part whose
        prerequisite can never deliver is failed (``Fail``) instead, which may make
        its parent or its own dependents runnable, so picking goes on until nothing
        changes. Returns ``(node, reason)`` per chosen node, in tree order.
        """
        chosen: list[tuple[SwarmNode, str]] = []
        progress = True
        while progress:  # a skipped part may make its parent or its own dependents runnable
            progress = False
            free = state.limits.concurrency - running - len(chosen)
            if free <= 0 or not self.runnable:
                break
            while free > 0 and self._heap:
                node_id = heapq.heappop(self._heap)[1]
                self.runnable.discard(node_id)
                node = state.nodes[node_id]
                if node.status == NodeStatus.PENDING:
                    waits, skip = blocked(state, node)
                    if skip is not None:
                        emit(Fail(node_id=node_id, error=skip))
                        progress = True
                        continue
                    if waits:
                        continue  # woken again when a prerequisite finishes
                    reason = "answered" if node.questions else "retry" if node.activations else "start"
                elif node.status == NodeStatus.RUNNING:
                    reason = "resumed"
                else:
                    reason = "children_done"
                emit(RunAction(node_id=node_id, activation=node.activations, reason=reason))
                chosen.append((node, reason))
                free -= 1
        return chosen


def blocked(state: SwarmState, node: SwarmNode) -> tuple[bool, str | None]:
    """(waits, skip reason) for a pending node that names prerequisites.

    Checked whenever such a node is about to start (also again if it is
    re-opened later), never for one resuming after a user's answer. A
    prerequisite that failed, reported junk or does not exist can never
    deliver what the node needs: the node is skipped with a reason naming
    it, so the run always ends and the manager's review sees why.
    """
    after = node.context.get(AFTER_KEY) if not node.questions else None
    if not after:
        return False, None
    waits = False
    for prereq_id in after:
        prereq = state.nodes.get(prereq_id)
        if prereq is None:
            return False, f"skipped: its prerequisite {prereq_id} does not exist"
        what = " ".join(prereq.directive.split())[:80]
        if prereq.status == NodeStatus.FAILED:
            why = " ".join((prereq.error or "").split())[:200]
            return False, f"skipped: its prerequisite {prereq_id} ({what!r}) failed: {why}"
        junk = report_junk(prereq.report) if prereq.status == NodeStatus.TERMINATED else None
        if junk is not None:
            return False, f"skipped: its prerequisite {prereq_id} ({what!r}) reported nothing usable ({junk})"
        waits = waits or not prereq.status.done
    return waits, None


def tree_order(node_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in node_id.split("."))
