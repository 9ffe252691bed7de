"""History frames and node records in the kv-store: the writer.

``SwarmLog.append`` writes frames together with the records they change in
one atomic batch; the engine adds the owner lease's check to that batch
(:mod:`swarm_star.state.lease`), so only the lease holder's batches commit.

The key layout, the stored formats and every read live in
:mod:`swarm_star.state.reader`; :class:`SwarmLog` is a
:class:`~swarm_star.state.reader.SwarmReader` that also writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from swarm_star.models import SwarmEvent, SwarmRecord
from swarm_star.state.frame_codec import FrameCodec, memory_record, node_record
from swarm_star.state.layout import (
    HISTORY_PREFIX,
    MEMORY_PREFIX,
    META_KEY,
    META_SCHEMA,
    NODE_PREFIX,
    RECORD_KEY,
    SCHEMA_VERSION,
)
from swarm_star.state.projection import SwarmState
from swarm_star.state.reader import MIGRATIONS, SwarmReader, frame_key, read_model
from swarm_star.store.base import ABSENT, Put, StoreOp

__all__ = [
    "HISTORY_PREFIX",
    "MEMORY_PREFIX",
    "META_KEY",
    "MIGRATIONS",
    "NODE_PREFIX",
    "RECORD_KEY",
    "SCHEMA_VERSION",
    "SwarmLog",
    "frame_key",
    "read_model",
]


def encode_frames(codec: FrameCodec, events: Iterable[SwarmEvent]) -> list[StoreOp]:
    """The stored rows of ``events``: each frame in schema 4, then the shared text they
    refer to that ``codec`` has not written before (see :mod:`swarm_star.state.frame_codec`)."""
    frames: list[StoreOp] = []
    shared: list[StoreOp] = []
    for event in events:
        frame, texts = codec.encode(event.model_dump(mode="json"))
        shared.extend(texts)
        frames.append(Put(frame_key(event.frame), frame))
    return [*frames, *shared]


class SwarmLog(SwarmReader):
    """Reads and appends one swarm's history; the only writer of state records."""

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
        (e.g. deleting inbox answers the frames consumed, the lease's check); they
        are committed even when no frame comes with them (a recorded tool list).
        """
        extra = list(extra)
        if not events and not extra:
            return
        ops, undo = self.prepare(events, state, touched, extra)
        try:
            self.store.commit(ops)
        except BaseException:
            undo()
            raise

    def prepare(
        self,
        events: list[SwarmEvent],
        state: SwarmState,
        touched: Iterable[str],
        extra: Iterable[StoreOp] = (),
    ) -> tuple[list[StoreOp], Callable[[], None]]:
        """The batch :meth:`append` commits, built now, and the undo to call if committing it fails.

        The batch is a snapshot: node records and totals as ``state`` has them at
        this instant, so it may be committed later (in another thread, as the
        engine does) while ``state`` moves on. The undo makes the frame codec
        forget the shared text this batch would have written first.
        """
        ops = self.batch(events, state, touched, extra, codec=self.codec)

        def undo() -> None:
            self.codec.forget([op for op in ops if isinstance(op, Put)])

        return ops, undo

    @classmethod
    def batch(
        cls,
        events: list[SwarmEvent],
        state: SwarmState,
        touched: Iterable[str],
        extra: Iterable[StoreOp] = (),
        *,
        codec: FrameCodec | None = None,
    ) -> list[StoreOp]:
        """The one atomic batch that persists ``events`` (see :meth:`append`), its records'
        shared text included unless ``codec`` (default: a new one) wrote it before."""
        codec = codec if codec is not None else FrameCodec(None)
        ops: list[StoreOp] = encode_frames(codec, events)
        texts: list[Put] = []
        for node_id in sorted(set(touched)):
            ops.append(Put(NODE_PREFIX + node_id, node_record(state.nodes[node_id], codec, texts)))
        for event in events:
            if event.op.kind == "save_memory":
                ops.append(Put(MEMORY_PREFIX + event.op.entry_id, memory_record(event.op, codec, texts)))
        ops.extend(texts)
        ops.append(Put(META_KEY, cls.meta(state)))
        ops.extend(extra)
        return ops

    @staticmethod
    def meta(state: SwarmState) -> dict[str, Any]:
        return {
            "schema_version": META_SCHEMA,
            "frame_count": state.frame_count,
            "status": str(state.status),
            "stop_reason": state.stop_reason,
            "partial": state.partial,
            "clock": state.clock.to_json(),
            "limits": state.limits.model_dump(mode="json"),
            "usage": state.usage.model_dump(mode="json"),
            "nodes": len(state.nodes),
            "endpoints": state.endpoints.model_dump(mode="json"),
        }
