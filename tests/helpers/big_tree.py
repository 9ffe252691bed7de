"""Write a large, finished swarm straight into a real store: the frames the engine would write.

Used to try the views at 1,000+ nodes without running a model for minutes.
Every frame goes through ``SwarmState.apply`` and ``SwarmLog.append``, so the
store is exactly what a run leaves (replay gives the same tree).
"""

from __future__ import annotations

import time
from pathlib import Path

from swarm_star.models import (
    AwaitChildren,
    LLMCall,
    NodeRole,
    RunAction,
    Spawn,
    SwarmEvent,
    SwarmRecord,
    Terminate,
)
from swarm_star.models.node import Usage
from swarm_star.state.history import SwarmLog
from swarm_star.state.projection import SwarmState
from swarm_star.store import StoreLocator


class TreeWriter:
    """Appends frames for a tree, one batch per :meth:`commit`."""

    def __init__(self, space: Path, swarm_id: str, directive: str = "grow a big tree") -> None:
        self.store = StoreLocator(space).open(swarm_id, create=True)
        self.log = SwarmLog(self.store)
        record = SwarmRecord(swarm_id=swarm_id, directive=directive, created_at=time.time())
        self.state = SwarmState.new(record)
        self._events: list[SwarmEvent] = []
        self._touched: set[str] = set()
        self._extra = SwarmLog.creation(record)

    def emit(self, op: object, nodes: list[str]) -> None:
        event = SwarmEvent(frame=self.state.frame_count, time=time.time(), op=op, nodes=nodes)
        self.state.apply(event)
        self._events.append(event)
        self._touched.update(nodes)

    def commit(self) -> None:
        self.log.append(self._events, self.state, self._touched, self._extra)
        self._events, self._touched, self._extra = [], set(), []

    def node(self, node_id: str, parent: str | None, role: NodeRole, directive: str) -> None:
        self.emit(
            Spawn(node_id=node_id, parent_id=parent, role=role, action_id="core.answer", directive=directive),
            [node_id] + ([parent] if parent else []),
        )
        self.emit(RunAction(node_id=node_id, activation=0), [node_id])

    def call(self, node_id: str) -> None:
        usage = Usage(calls=1, prompt_tokens=40, completion_tokens=10, cost=0.0001)
        key = f"0:{len(self.state.nodes[node_id].calls)}"
        call = LLMCall(
            node_id=node_id,
            call_key=key,
            model="m",
            purpose="answer",
            request=[{"role": "user", "content": "Directive: " + self.state.nodes[node_id].directive}],
            response="ok",
            usage=usage,
        )
        self.emit(call, [node_id])

    def close(self) -> None:
        self.store.close()


def write_big_tree(space: Path, swarm_id: str, fanout: tuple[int, ...] = (10, 10, 10)) -> SwarmState:
    """A finished swarm: root > fanout[0] managers > … > leaves, each leaf with one call."""
    w = TreeWriter(space, swarm_id)
    w.node("0", None, NodeRole.ROOT, "grow a big tree")
    w.commit()

    def grow(parent: str, level: int) -> None:
        if level == len(fanout):
            return
        kids = [f"{parent}.{i}" for i in range(fanout[level])]
        for kid in kids:
            leaf = level == len(fanout) - 1
            w.node(kid, parent, NodeRole.ACTION if leaf else NodeRole.MANAGER, f"part {kid}")
        w.emit(AwaitChildren(node_id=parent), [parent])
        w.commit()
        for kid in kids:
            grow(kid, level + 1)
            if level == len(fanout) - 1:
                w.call(kid)
            w.emit(Terminate(node_id=kid, report=f"report of {kid}"), [kid])
        w.commit()

    grow("0", 0)
    w.emit(Terminate(node_id="0", report="the big tree is grown"), ["0"])
    w.commit()
    state = w.state
    w.close()
    return state
