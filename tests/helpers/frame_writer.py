"""A child process that appends history frames forever, to be killed with SIGKILL.

Usage: python -m tests.helpers.frame_writer STORE_PATH [--second-handle]
Each loop commits a few frames (spawn, run, llm call, terminate) plus the node
records they change, exactly as the engine does, and prints the frame count.
With ``--second-handle`` each loop also opens, reads and closes another handle
on the same store in this process, as ``serve`` does for a read request while
it runs the swarm.
"""

from __future__ import annotations

import sys
import time

from swarm_star.models import (
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
from swarm_star.store import SqliteStore


def main(path: str, second_handle: bool = False) -> None:
    store = SqliteStore(path)
    log = SwarmLog(store)
    if store.get("swarm_state_record") is None:
        store.commit(SwarmLog.creation(SwarmRecord(swarm_id="kill", directive="write frames", created_at=time.time())))
    state = log.replay()
    i = state.frame_count
    while True:
        node = f"n{i}"
        parent = None if not state.nodes else next(iter(state.nodes))
        ops = [
            Spawn(
                node_id=node,
                parent_id=parent,
                role=NodeRole.ACTION,
                action_id="x",
                directive=f"d{i}",
            ),
            RunAction(node_id=node, activation=0),
            LLMCall(
                node_id=node,
                call_key="0:0",
                model="m",
                purpose="p",
                request=[{"role": "user", "content": "q" * 200}],
                response="r" * 500,
                usage=Usage(calls=1, prompt_tokens=3),
            ),
            Terminate(node_id=node, report=f"report {i}"),
        ]
        events = []
        for op in ops[: 1 + i % 4]:
            event = SwarmEvent(frame=state.frame_count, time=time.time(), op=op, nodes=[node])
            state.apply(event)
            events.append(event)
        touched = {node} | ({parent} if parent else set())
        log.append(events, state, touched)
        if second_handle:
            with SqliteStore(path) as other:
                SwarmLog(other).read_meta()
        i += 1
        print(state.frame_count, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], second_handle="--second-handle" in sys.argv[2:])
