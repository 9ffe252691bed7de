"""History frames and node records in the kv-store, and replay.

Key layout (inside one swarm's store)::

    swarm_state_record         the SwarmRecord (directive, settings, created)
    swarm_state_meta           frame counter, status, limits, usage totals
    swarm_state_node_{id}      each node's current projection
    swarm_history_{frame:09d}  one SwarmEvent per frame (zero-padded: scans sort)
    memory_space_{entry_id}    memory entries saved by the swarm

``SwarmLog.append`` writes frames together with the records they change in
one atomic batch; the engine adds the owner lease's check to that batch
(:mod:`swarm_star.state.lease`), so only the lease holder's batches commit.

Reading is where formats meet: every stored record carries
``schema_version``. A version newer than :data:`SCHEMA_VERSION` is refused
with "written by a newer Swarm Star: upgrade" (never misread); older ones go
through :data:`MIGRATIONS`; a field this release does not know (added by a
later one) is dropped rather than making the swarm unreadable; and anything
else that does not fit becomes one :class:`StoreCorrupt` line naming the
record, never a validation traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from swarm_star.errors import StoreCorrupt, StoreError, SwarmNotFound
from swarm_star.models import Limits, SpaceLeaf, SwarmEvent, SwarmNode, SwarmRecord, SwarmStatus, Usage
from swarm_star.models.operations import SaveMemory
from swarm_star.state.frame_codec import FRAME_SCHEMA, FrameCodec
from swarm_star.state.projection import SwarmState
from swarm_star.store.base import ABSENT, KVStore, Put, StoreOp
from swarm_star.store.locator import RECORD_KEY

__all__ = [
    "HISTORY_PREFIX",
    "META_KEY",
    "MIGRATIONS",
    "NODE_PREFIX",
    "RECORD_KEY",
    "SCHEMA_VERSION",
    "SwarmLog",
    "frame_key",
    "read_model",
]

META_KEY = "swarm_state_meta"
NODE_PREFIX = "swarm_state_node_"
HISTORY_PREFIX = "swarm_history_"
MEMORY_PREFIX = "memory_space_"
SCHEMA_VERSION = 1
"""The newest format this release writes and reads."""

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: lambda raw: {**raw, "schema_version": 1},  # records from before the field existed
}
"""``{version: upgrade}``: turns a record of ``version`` into one of ``version + 1``."""

M = TypeVar("M", bound=BaseModel)


def _without(raw: Any, loc: tuple[Any, ...]) -> None:
    """Remove the item at path ``loc`` from nested dicts/lists (if still there)."""
    for part in loc[:-1]:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(raw, dict):
        raw.pop(loc[-1], None)


def _stored_status(raw: Any) -> SwarmStatus:
    """The swarm status stored in meta, or one :class:`StoreCorrupt` line naming what is there."""
    try:
        return SwarmStatus(raw)
    except ValueError:
        known = ", ".join(SwarmStatus)
        raise StoreCorrupt(f"the stored swarm status {str(raw)[:40]!r} is none of: {known}") from None


def read_model(model: type[M], raw: Any, what: str, *, newest: int = SCHEMA_VERSION) -> M:
    """Validate a stored record of any supported version, or raise one clear line.

    ``newest``: the newest format of this kind of record that this release reads
    (history frames: :data:`~swarm_star.state.frame_codec.FRAME_SCHEMA`, decoded first).
    """
    if not isinstance(raw, dict):
        raise StoreCorrupt(f"{what} is not a record")
    version = raw.get("schema_version", 0)
    if not isinstance(version, int):
        raise StoreCorrupt(f"{what} has an invalid schema_version {version!r}")
    if version > newest:
        raise StoreError(
            f"{what} was written by a newer Swarm Star (format {version}, this one reads up to {newest}): upgrade"
        )
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version += 1
    for _ in range(20):  # each round drops the fields a later release added
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors()
            extras = [e["loc"] for e in errors if e["type"] == "extra_forbidden"]
            if len(extras) < len(errors) or not extras:
                first = errors[0]
                where = ".".join(str(p) for p in first["loc"]) or "record"
                detail = f"{first['msg']} at {where}"
                if first["type"] == "union_tag_invalid":
                    detail = f"unknown operation kind {raw.get('op', {}).get('kind')!r}"
                raise StoreCorrupt(f"{what} is unreadable: {detail}") from None
            raw = _copy(raw)
            for loc in extras:
                _without(raw, loc)
    raise StoreCorrupt(f"{what} is unreadable")


def _copy(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {k: _copy(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_copy(v) for v in raw]
    return raw


def encode_frames(codec: FrameCodec, events: Iterable[SwarmEvent]) -> list[StoreOp]:
    """The stored rows of ``events``: each frame in schema 2, then the shared text they
    refer to that ``codec`` has not written before (see :mod:`swarm_star.state.frame_codec`)."""
    frames: list[StoreOp] = []
    shared: list[StoreOp] = []
    for event in events:
        frame, texts = codec.encode(event.model_dump(mode="json"))
        shared.extend(texts)
        frames.append(Put(frame_key(event.frame), frame))
    return [*frames, *shared]


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
        (e.g. deleting inbox answers the frames consumed, the lease's check).
        """
        if not events:
            return
        frames = encode_frames(self.codec, events)
        try:
            self.store.commit(self.batch(events, state, touched, extra, frames=frames))
        except BaseException:
            self.codec.forget([op for op in frames if isinstance(op, Put)])
            raise

    @classmethod
    def batch(
        cls,
        events: list[SwarmEvent],
        state: SwarmState,
        touched: Iterable[str],
        extra: Iterable[StoreOp] = (),
        *,
        frames: list[StoreOp] | None = None,
    ) -> list[StoreOp]:
        """The one atomic batch that persists ``events`` (see :meth:`append`); ``frames``
        are the encoded frame rows and their shared text (default: encoded here)."""
        ops: list[StoreOp] = list(frames if frames is not None else encode_frames(FrameCodec(None), events))
        for node_id in sorted(set(touched)):
            ops.append(Put(NODE_PREFIX + node_id, state.nodes[node_id].model_dump(mode="json")))
        for event in events:
            if event.op.kind == "save_memory":
                op = event.op
                leaf = SpaceLeaf(id=op.entry_id, name=op.title, description=op.title, content=op.content)
                ops.append(Put(MEMORY_PREFIX + op.entry_id, {"folder": op.folder, **leaf.model_dump()}))
        ops.append(Put(META_KEY, cls.meta(state)))
        ops.extend(extra)
        return ops

    @staticmethod
    def meta(state: SwarmState) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "frame_count": state.frame_count,
            "status": str(state.status),
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
        return read_model(SwarmRecord, raw, "the swarm record")

    def read_meta(self) -> dict[str, Any] | None:
        meta = self.store.get(META_KEY)
        if isinstance(meta, dict) and int(meta.get("schema_version", 1)) > SCHEMA_VERSION:
            raise StoreError(
                f"the swarm was written by a newer Swarm Star (format {meta['schema_version']}, "
                f"this one reads up to {SCHEMA_VERSION}): upgrade"
            )
        return meta

    def frame(self, number: int) -> SwarmEvent | None:
        raw = self.store.get(frame_key(number))
        return (
            None
            if raw is None
            else read_model(SwarmEvent, self.codec.decode(raw), f"frame {number}", newest=FRAME_SCHEMA)
        )

    def frames(self, start: int = 0, end: int | None = None) -> Iterator[SwarmEvent]:
        """Frames ``start`` .. ``end`` inclusive (all remaining when ``end`` is None)."""
        for key, raw in self.store.scan(HISTORY_PREFIX, start=frame_key(start)):
            what = f"frame {int(key[len(HISTORY_PREFIX) :])}"
            event = read_model(SwarmEvent, self.codec.decode(raw), what, newest=FRAME_SCHEMA)
            if end is not None and event.frame > end:
                break
            yield event

    def nodes(self) -> dict[str, SwarmNode]:
        """The stored node records (the live projection as last committed)."""
        nodes = (
            read_model(SwarmNode, raw, f"node record {key[len(NODE_PREFIX) :]}")
            for key, raw in self.store.scan(NODE_PREFIX)
        )
        return {node.id: node for node in nodes}

    def load(self) -> SwarmState:
        """The latest state from the stored projection (record, meta, node records),
        without reading the history: what read-only commands need, at a cost that does
        not grow with the number of frames. Recorded calls and memory are not in it
        (the engine replays). Falls back to a replay if the projection is incomplete."""
        record = self.record()
        meta = self.read_meta()
        if not isinstance(meta, dict) or "frame_count" not in meta:
            return self.replay()
        state = SwarmState.new(record)
        nodes = self.nodes()
        order = sorted(
            nodes.values(), key=lambda n: (n.created_at, [int(p) if p.isdigit() else 0 for p in n.id.split(".")])
        )
        state.nodes = {n.id: n for n in order}
        state.frame_count = int(meta["frame_count"])
        state.status = _stored_status(meta.get("status", state.status))
        state.stop_reason = meta.get("stop_reason")
        if meta.get("limits") is not None:
            state.limits = read_model(Limits, {"schema_version": SCHEMA_VERSION, **meta["limits"]}, "the stored limits")
        if meta.get("usage") is not None:
            state.usage = Usage.model_validate(meta["usage"])
        for key, raw in self.store.scan(MEMORY_PREFIX):
            entry = SaveMemory(
                node_id="",  # not kept in the memory record; the frame that saved it has it
                entry_id=str(raw.get("id", key[len(MEMORY_PREFIX) :])),
                folder=str(raw.get("folder", "")),
                title=str(raw.get("name", "")),
                content=str(raw.get("content", "")),
            )
            state.memory[entry.entry_id] = entry
        return state

    def replay(self, at_frame: int | None = None) -> SwarmState:
        """Rebuild the state as it was right after frame ``at_frame`` (default: latest)."""
        state = SwarmState.new(self.record())
        for event in self.frames(0, at_frame):
            state.apply(event)
        return state
