"""The tree as a projection of history frames.

``SwarmState.apply`` is the single definition of what each operation does to
the state. The engine uses it live, and replay uses it on stored frames, so
"rebuild the tree at frame N" is exact by construction rather than by care.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from swarm_star.models import (
    Check,
    Limits,
    NodeStatus,
    Question,
    SwarmEvent,
    SwarmNode,
    SwarmRecord,
    SwarmStatus,
    Usage,
)
from swarm_star.models.basics import is_pending
from swarm_star.models.operations import LLMCall, SaveMemory, ToolCall
from swarm_star.models.stats import StatsBook
from swarm_star.state.clock import RunClock

# SwarmStatus lives in models (below the API, so the CLI can name it); re-exported here for the engine.
__all__ = ["RunClock", "SwarmState", "SwarmStatus"]


@dataclass
class SwarmState:
    """Everything the engine knows about a swarm, rebuilt from frames alone."""

    record: SwarmRecord
    limits: Limits
    nodes: dict[str, SwarmNode] = field(default_factory=dict)
    frame_count: int = 0
    status: SwarmStatus = SwarmStatus.CREATED
    stop_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    calls: dict[tuple[str, str], LLMCall] = field(default_factory=dict)
    memory: dict[str, SaveMemory] = field(default_factory=dict)
    tool_calls: dict[tuple[str, str], ToolCall] = field(default_factory=dict)
    endpoints: StatsBook = field(default_factory=StatsBook)  # figures per model reference, from the call frames
    clock: RunClock = field(default_factory=lambda: RunClock())  # how long the swarm has run, from frame times
    journal: bool = True
    """Keep each recorded model and tool call (``calls``, ``tool_calls``): the engine needs them to
    skip paid calls on a resume; a read-only replay (``tree --frame``) does not, and at 10,000
    nodes they are most of its memory."""
    _memory_order: list[SaveMemory] = field(default_factory=list, repr=False, compare=False)
    """``memory`` in the order it was saved, so a window of it is a slice (a dict has no index:
    every briefing walked it from the start, ~5,000 entries at 10,000 nodes)."""
    _memory_at: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _memory_folders: dict[str, list[int]] = field(default_factory=dict, repr=False, compare=False)
    """Positions in ``_memory_order`` of each folder's entries, ascending."""

    @classmethod
    def new(cls, record: SwarmRecord) -> SwarmState:
        return cls(record=record, limits=record.settings.limits)

    @property
    def root(self) -> SwarmNode | None:
        return next((n for n in self.nodes.values() if n.parent_id is None), None)

    def apply(self, event: SwarmEvent) -> None:
        """Apply one frame. Frames must arrive in order with no gaps."""
        if event.frame != self.frame_count:
            raise ValueError(f"frame {event.frame} applied at position {self.frame_count}")
        self.frame_count += 1
        op, now = event.op, event.time
        self.clock.tick(now, op.kind)
        if op.kind == "stop":
            self.status, self.stop_reason = SwarmStatus.STOPPED, op.reason
            return
        if op.kind == "resume":
            self.status, self.stop_reason, self.limits = SwarmStatus.RUNNING, None, op.limits
            return
        if op.kind == "spawn":
            parent = self.nodes.get(op.parent_id) if op.parent_id else None
            self.nodes[op.node_id] = SwarmNode(
                id=op.node_id,
                parent_id=op.parent_id,
                role=op.role,
                action_id=op.action_id,
                directive=op.directive,
                context=op.context,
                depth=parent.depth + 1 if parent else 0,
                created_at=now,
                updated_at=now,
                memory_mark=len(self.memory),
            )
            if parent:
                parent.children.append(op.node_id)
                parent.updated_at = now
            if self.status == SwarmStatus.CREATED:
                self.status = SwarmStatus.RUNNING
            return
        if op.kind == "save_memory":
            self.save_memory(op)
            return
        node = self.nodes[op.node_id]
        node.updated_at = now
        if op.kind == "run_action":
            node.status = NodeStatus.RUNNING
        elif op.kind == "llm_call":
            node.usage = node.usage.plus(op.usage)
            self.usage = self.usage.plus(op.usage)
            node.calls.append(op.call_key)
            if self.journal:
                self.calls[(node.id, op.call_key)] = op
            self.endpoints.observe(op)
        elif op.kind == "tool_call" and self.journal:
            self.tool_calls[(node.id, op.call_key)] = op
        elif op.kind == "verdict":
            node.checks.append(Check(stage=op.stage, model=op.model, ok=op.ok, reasons=op.reasons))
        elif op.kind == "ask_user":
            node.questions.append(Question(id=op.question_id, text=op.question))
            node.status = NodeStatus.WAITING_USER
            node.activations += 1
        elif op.kind == "user_answer":
            for question in node.questions:
                if question.id == op.question_id:
                    question.answer = op.answer
            node.status = NodeStatus.PENDING
        elif op.kind == "await_children":
            node.status = NodeStatus.WAITING_CHILDREN
            node.activations += 1
        elif op.kind == "terminate":
            node.status, node.report, node.partial = NodeStatus.TERMINATED, op.report, op.partial
            node.activations += 1
            if node.parent_id is None:
                self.status = SwarmStatus.FINISHED
                self.clock.pause(now)
        elif op.kind == "fail":
            node.status, node.error = NodeStatus.FAILED, op.error
            node.activations += 1
            if node.parent_id is None:
                self.status = SwarmStatus.FAILED
                self.clock.pause(now)
        elif op.kind == "retry":  # swarm-star retry: re-run a failed node; done managers above re-review
            node.status = NodeStatus.WAITING_CHILDREN if node.children else NodeStatus.PENDING
            node.error = None
            parent = self.nodes.get(node.parent_id) if node.parent_id else None
            while parent is not None and parent.status.done:
                parent.status, parent.error, parent.updated_at = NodeStatus.WAITING_CHILDREN, None, now
                parent = self.nodes.get(parent.parent_id) if parent.parent_id else None
            self.status, self.stop_reason = SwarmStatus.RUNNING, None

    def save_memory(self, entry: SaveMemory) -> None:
        """File ``entry`` in ``memory`` (a saved id keeps its place, as in a dict) and its index."""
        self._memory_index()
        at = self._memory_at.get(entry.entry_id)
        self.memory[entry.entry_id] = entry
        if at is None:
            at = self._memory_at[entry.entry_id] = len(self._memory_order)
            self._memory_order.append(entry)
            self._memory_folders.setdefault(entry.folder, []).append(at)
        elif self._memory_order[at].folder != entry.folder:
            self._memory_order[at] = entry
            self._memory_folders.clear()  # rare (an id saved again under another folder): rebuilt when read
        else:
            self._memory_order[at] = entry

    def _memory_index(self) -> list[SaveMemory]:
        """The ordered index of ``memory``, rebuilt if ``memory`` was filled without it."""
        if len(self._memory_order) != len(self.memory) or (self.memory and not self._memory_folders):
            self._memory_order = list(self.memory.values())
            self._memory_at = {e.entry_id: i for i, e in enumerate(self._memory_order)}
            self._memory_folders = {}
            for i, e in enumerate(self._memory_order):
                self._memory_folders.setdefault(e.folder, []).append(i)
        return self._memory_order

    def memory_between(self, start: int, stop: int) -> list[SaveMemory]:
        """Memory entries ``start`` to ``stop`` in the order they were saved (a slice, not a walk)."""
        return self._memory_index()[start:stop]

    def memory_in(self, folder: str, stop: int | None = None) -> list[SaveMemory]:
        """The entries of ``folder`` among the first ``stop`` (all if None), in the order saved."""
        order = self._memory_index()
        at = self._memory_folders.get(folder, [])
        return [order[i] for i in (at if stop is None else at[: bisect.bisect_left(at, stop)])]

    @property
    def partial(self) -> str | None:
        """Why a finished swarm falls short of its directive (the root's word), else None."""
        root = self.root
        return root.partial if root is not None and self.status == SwarmStatus.FINISHED else None

    def subtree_usage(self, node_id: str) -> Usage:
        """A node's own usage plus all its descendants' (the roll-up shown by ``tree``)."""
        total = Usage()
        stack = [node_id]
        while stack:
            node = self.nodes[stack.pop()]
            total = total.plus(node.usage)
            stack.extend(node.children)
        return total

    def pending_questions(self) -> list[tuple[SwarmNode, Question]]:
        return [(node, q) for node in self.nodes.values() for q in node.questions if is_pending(node.status, q.answer)]
