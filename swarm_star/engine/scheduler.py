"""The scheduler: which nodes may start now (dependencies between parts, concurrency)."""

from __future__ import annotations

import asyncio
from typing import Any

from swarm_star.engine.context import ActionContext
from swarm_star.engine.quality import report_junk
from swarm_star.models import (
    AFTER_KEY,
    Fail,
    NodeStatus,
    RunAction,
    SwarmNode,
)
from swarm_star.models.operations import Operation


class Scheduler:
    """Part of :class:`~swarm_star.engine.loop.Engine`: runnable nodes, prerequisites, starting activations."""

    def _note_runnable(self, op: Operation) -> None:
        if op.kind == "spawn" or op.kind == "user_answer":  # op.kind (not a copy of it) narrows the union
            self._runnable.add(op.node_id)
        elif op.kind == "await_children":
            self._check_parent_ready(op.node_id)
        elif op.kind == "terminate" or op.kind == "fail":
            node = self.state.nodes[op.node_id]
            if op.kind == "terminate":
                self._remember_result(node, op.artifacts)
            if node.parent_id is not None:
                self._wake_dependents(node.parent_id, node.id)
                self._check_parent_ready(node.parent_id)

    def _check_parent_ready(self, node_id: str) -> None:
        node = self.state.nodes[node_id]
        if node.status == NodeStatus.WAITING_CHILDREN and all(self.state.nodes[c].status.done for c in node.children):
            self._runnable.add(node_id)

    def _wake_dependents(self, parent_id: str, done_id: str) -> None:
        """A part finished: its siblings that wait for it may start (or be skipped)."""
        for sibling_id in self.state.nodes[parent_id].children:
            sibling = self.state.nodes[sibling_id]
            if sibling.status == NodeStatus.PENDING and done_id in sibling.context.get(AFTER_KEY, ()):
                self._runnable.add(sibling_id)

    def _blocked(self, node: SwarmNode) -> tuple[bool, str | None]:
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
            prereq = self.state.nodes.get(prereq_id)
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

    def _ancestors(self, node_id: str) -> list[str]:
        out, parent = [], self.state.nodes[node_id].parent_id
        while parent is not None:
            out.append(parent)
            parent = self.state.nodes[parent].parent_id
        return out

    def _start_runnable(self) -> None:
        chosen: list[tuple[SwarmNode, str]] = []
        progress = True
        while progress:  # a skipped part may make its parent or its own dependents runnable
            progress = False
            free = self.state.limits.concurrency - len(self._tasks) - len(chosen)
            if free <= 0 or not self._runnable:
                break
            for node_id in sorted(self._runnable, key=_tree_order):
                if free <= 0:
                    break
                self._runnable.discard(node_id)
                node = self.state.nodes[node_id]
                if node.status == NodeStatus.PENDING:
                    waits, skip = self._blocked(node)
                    if skip is not None:
                        self.emit(Fail(node_id=node_id, error=skip))
                        progress = True
                        continue
                    if waits:
                        continue  # woken again when a prerequisite finishes
                    reason = "answered" if node.questions else "retry" if node.activations else "start"
                elif node.status == NodeStatus.RUNNING:
                    reason = "resumed"
                else:
                    reason = "children_done"
                self.emit(RunAction(node_id=node_id, activation=node.activations, reason=reason))
                chosen.append((node, reason))
                free -= 1
        self.flush()  # write before you act
        for node, reason in chosen:
            ctx = ActionContext(self, node, node.activations, reason)
            task = asyncio.create_task(self._activate(ctx))
            self._tasks[task] = node.id

    async def _activate(self, ctx: ActionContext) -> list[Any]:
        if self.executor is not None:
            return await self.executor.activate(self, ctx)
        module = self.actions.module(ctx.node.action_id)
        return list(await module.run(ctx))


def _tree_order(node_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in node_id.split("."))
