"""History frames and node records in the kv-store, and replay.

Key layout (inside one swarm's store)::

    swarm_state_record         the SwarmRecord (directive, settings, created)
    swarm_state_meta           frame counter, status, limits, usage totals
    swarm_state_node_{id}      each node's current projection
    swarm_history_{frame:09d}  one SwarmEvent per frame (zero-padded: scans sort)
    memory_space_{entry_id}    memory entries saved by the swarm

``SwarmLog.append`` writes frames together with the records they change in
one atomic batch. It takes no per-frame condition (that keeps a commit to one
SQLite statement); a second writer is kept out by the owner lease instead
(:mod:`swarm_star.state.lease`), acquired with compare-and-set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from swarm_star.errors import StoreCorrupt, SwarmNotFound
from swarm_star.models import SpaceLeaf, SwarmEvent, SwarmNode, SwarmRecord
from swarm_star.state.frame_codec import FrameCodec
from swarm_star.state.projection import SwarmState
from swarm_star.store.base import ABSENT, KVStore, Put, StoreOp

__all__ = [
    "HISTORY_PREFIX",
    "META_KEY",
    "NODE_PREFIX",
    "RECORD_KEY",
    "SwarmLog",
    "frame_key",
]

RECORD_KEY = "swarm_state_record"
META_KEY = "swarm_state_meta"
NODE_PREFIX = "swarm_state_node_"
HISTORY_PREFIX = "swarm_history_"
MEMORY_PREFIX = "memory_space_"


def frame_key(frame: int) -> str:
    return f"{HISTORY_PREFIX}{frame:09d}"


class SwarmLog:
    """Reads and appends one swarm's history; the only writer of state records."""

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self.codec = FrameCodec(store)  # schema-2 frames: shared prompt text stored once (frame_codec.py)

    # writing

    @staticmethod
    def creation(record: SwarmRecord) -> list[StoreOp]:
        """The create-only write of a new swarm's record, to ride with its frame 0."""
        return [Put(RECORD_KEY, record.model_dump(mode="json"), if_version=ABSENT)]

    def append(
        self,
        events: list[SwarmEvent],
        state: SwarmState,
        touched: Iterable[str],
        extra: Iterable[StoreOp] = (),
    ) -> None:
        """Persist ``events`` and the state they produced, atomically.

        ``state`` must already have the events applied; ``touched`` names the
        nodes whose records changed; ``extra`` rides along in the same batch
        (e.g. deleting inbox answers the frames consumed).
        """
        if not events:
            return
        ops: list[StoreOp] = []
        shared: list[Put] = []
        for event in events:
            frame, texts = self.codec.encode(event.model_dump(mode="json"))
            shared.extend(texts)
            ops.append(Put(frame_key(event.frame), frame))
        ops.extend(shared)
        for node_id in sorted(set(touched)):
            ops.append(Put(NODE_PREFIX + node_id, state.nodes[node_id].model_dump(mode="json")))
        for event in events:
            if event.op.kind == "save_memory":
                op = event.op
                leaf = SpaceLeaf(id=op.entry_id, name=op.title, description=op.title, content=op.content)
                ops.append(Put(MEMORY_PREFIX + op.entry_id, {"folder": op.folder, **leaf.model_dump()}))
        ops.append(Put(META_KEY, self.meta(state)))
        ops.extend(extra)
        try:
            self.store.commit(ops)
        except BaseException:
            self.codec.forget(shared)
            raise

    @staticmethod
    def meta(state: SwarmState) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "frame_count": state.frame_count,
            "status": state.status,
            "stop_reason": state.stop_reason,
            "limits": state.limits.model_dump(mode="json"),
            "usage": state.usage.model_dump(mode="json"),
            "nodes": len(state.nodes),
        }

    # reading

    def record(self) -> SwarmRecord:
        raw = self.store.get(RECORD_KEY)
        if raw is None:
            raise SwarmNotFound("no swarm record in this store")
        try:
            return SwarmRecord.model_validate(raw)
        except ValidationError as exc:
            raise StoreCorrupt(f"swarm record unreadable: {exc.errors()[0]['msg']}") from exc

    def read_meta(self) -> dict[str, Any] | None:
        return self.store.get(META_KEY)

    def frame(self, number: int) -> SwarmEvent | None:
        raw = self.store.get(frame_key(number))
        return None if raw is None else SwarmEvent.model_validate(self.codec.decode(raw))

    def frames(self, start: int = 0, end: int | None = None) -> Iterator[SwarmEvent]:
        """Frames ``start`` .. ``end`` inclusive (all remaining when ``end`` is None)."""
        for _, raw in self.store.scan(HISTORY_PREFIX, start=frame_key(start)):
            event = SwarmEvent.model_validate(self.codec.decode(raw))
            if end is not None and event.frame > end:
                break
            yield event

    def nodes(self) -> dict[str, SwarmNode]:
        """The stored node records (the live projection as last committed)."""
        return {raw["id"]: SwarmNode.model_validate(raw) for _, raw in self.store.scan(NODE_PREFIX)}

    def replay(self, at_frame: int | None = None) -> SwarmState:
        """Rebuild the state as it was right after frame ``at_frame`` (default: latest)."""
        state = SwarmState.new(self.record())
        for event in self.frames(0, at_frame):
            state.apply(event)
        return state
