"""Reading one swarm's store: the key layout, the stored formats, and the frames decoded.

Key layout (inside one swarm's store)::

    swarm_state_record         the SwarmRecord (directive, settings, created)
    swarm_state_meta           frame counter, status, limits, usage totals
    swarm_state_node_{id}      each node's current projection
    swarm_history_{frame:09d}  one SwarmEvent per frame (zero-padded: scans sort)
    swarm_inbox_{question_id}  an answer queued for the engine to take in
    memory_space_{entry_id}    memory entries saved by the swarm
    action_space_installed     the installed actions/ tree's metadata (one record: its sha256 and entries)
    util_space_installed       the installed utils_space/ tree's metadata (the same shape)
    action_space_own.{name}    an action the swarm created: its leaf metadata and its code
    action_space_tools_{server}  an MCP server's tool list, as it was listed once

Reading is where formats meet: every stored record carries
``schema_version``. A version newer than :data:`SCHEMA_VERSION` is refused
with "written by a newer Swarm Star: upgrade" (never misread); older ones go
through :data:`MIGRATIONS`; a field this release does not know (added by a
later one) is dropped rather than making the swarm unreadable; and anything
else that does not fit becomes one :class:`StoreCorrupt` line naming the
record, never a validation traceback.

The keys and the formats' versions are named in :mod:`swarm_star.state.layout`, which the
read commands' plain path shares without importing the models.

:class:`SwarmReader` reads; :class:`~swarm_star.state.history.SwarmLog` (the
writer) is a reader that also appends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from swarm_star.errors import StoreCorrupt, StoreError, SwarmNotFound
from swarm_star.models import Limits, SwarmEvent, SwarmNode, SwarmRecord, SwarmStatus, Usage
from swarm_star.models.operations import SaveMemory
from swarm_star.models.stats import StatsBook
from swarm_star.state.clock import RunClock
from swarm_star.state.frame_codec import (
    FRAME_SCHEMA,
    NODE_SCHEMA,
    FrameCodec,
    memory_from_record,
    node_from_record,
    stored_node,
)
from swarm_star.state.layout import (
    HISTORY_PREFIX,
    INSTALLED_SPACE_KEYS,
    MEMORY_PREFIX,
    NODE_PREFIX,
    OWN_ACTION_PREFIX,
    RECORD_KEY,
    SCHEMA_VERSION,
    TOOL_LISTING_PREFIX,
)
from swarm_star.state.projection import SwarmState
from swarm_star.state.tree_view import read_meta, tree_order
from swarm_star.store.base import KVStore

__all__ = [
    "FRAME_BLOCK",
    "MIGRATIONS",
    "NODE_ID",
    "SwarmReader",
    "frame_key",
    "read_model",
    "tree_order",
]

FRAME_BLOCK = 1000
"""Frames per store read of a long scan: one key prefix of the history (its keys are zero-padded)."""
NODE_ID = re.compile(r"[0-9.]{1,200}")
"""What a node id looks like (with fullmatch: ``$`` would admit a trailing newline). A key is
built only from an id that fits, never from arbitrary text a client sent."""
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


def frame_key(frame: int) -> str:
    return f"{HISTORY_PREFIX}{frame:09d}"


class SwarmReader:
    """Reads one swarm's store: its record, meta, node records and history.

    Clients (the API, and through it the CLI and the HTTP server) read a swarm
    through this class only: it alone knows the keys and decodes the frames.
    A reader caches shared text it decoded (bounded); make one per task, over
    a store that may be shared.
    """

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self.codec = FrameCodec(store)  # schema-2 frames: shared prompt text stored once (frame_codec.py)

    def close(self) -> None:
        """Close the store (for a reader that owns it)."""
        self.store.close()

    def __enter__(self) -> SwarmReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reading

    def record(self) -> SwarmRecord:
        raw = self.store.get(RECORD_KEY)
        if raw is None:
            raise SwarmNotFound("no swarm record in this store")
        return read_model(SwarmRecord, raw, "the swarm record")

    def read_meta(self) -> dict[str, Any] | None:
        """The stored meta record; StoreError when a newer release wrote it."""
        return read_meta(self.store)

    def frame_count(self) -> int:
        """How many frames are committed, from the stored meta (no scan of the history)."""
        return int((self.read_meta() or {}).get("frame_count", 0))

    def node(self, node_id: str) -> SwarmNode | None:
        """One stored node record (its live projection as last committed); None when there
        is no such node, or ``node_id`` is not a node id (see :data:`NODE_ID`)."""
        if not NODE_ID.fullmatch(node_id):
            return None
        raw = self.store.get(NODE_PREFIX + node_id)
        return None if raw is None else self._node(raw, node_id)

    def _node(self, raw: Any, node_id: str) -> SwarmNode:
        """A node from its stored record: built directly when it is a record as this release
        writes them (:func:`stored_node`), else migrated and validated (one clear line if bad)."""
        node = stored_node(raw, node_id, self.codec)
        if node is not None:
            return node
        decoded = node_from_record(raw, node_id, self.codec)
        return _compact(read_model(SwarmNode, decoded, f"node record {node_id}", newest=NODE_SCHEMA))

    def frame(self, number: int) -> SwarmEvent | None:
        raw = self.store.get(frame_key(number))
        return (
            None
            if raw is None
            else read_model(SwarmEvent, self.codec.decode(raw, number), f"frame {number}", newest=FRAME_SCHEMA)
        )

    def frames(self, start: int = 0, end: int | None = None) -> Iterator[SwarmEvent]:
        """Frames ``start`` .. ``end`` inclusive (all remaining when ``end`` is None)."""
        for key, raw in self.store.scan(HISTORY_PREFIX, start=frame_key(start)):
            number = int(key[len(HISTORY_PREFIX) :])
            event = read_model(SwarmEvent, self.codec.decode(raw, number), f"frame {number}", newest=FRAME_SCHEMA)
            if end is not None and event.frame > end:
                break
            yield event

    def frame_block(self, first: int, block: int = FRAME_BLOCK) -> Generator[dict[str, Any], None, None]:
        """Frames from ``first`` to the end of its block (1,000, or 100 or 10), as stored and
        decoded to the schema-1 dict (not validated: they were when written), stopping at a gap.

        The block is a key prefix, so the store scans at most ``block`` rows however
        long the history is (a plain scan from ``first`` reads to the end). Lazy:
        a caller that stops early decodes no more than it used; each call decodes
        with its own cache of shared text, held no longer than the call.
        """
        prefix = frame_key(first)[: -len(str(block - 1))]
        codec = FrameCodec(self.store)
        expected = first
        for key, raw in self.store.scan(prefix, start=frame_key(first)):
            if key != frame_key(expected) or not isinstance(raw, (dict, list)):
                return  # never skip a frame: stop at a gap
            if isinstance(raw, dict) and raw.get("frame") != expected:
                return
            yield codec.decode(raw, expected)
            expected += 1

    def stored_frames(self, start: int = 0) -> Iterator[dict[str, Any]]:
        """Frames from ``start`` to the last committed one, as :meth:`frame_block` gives them,
        read block by block (a long history is never read at once)."""
        while True:
            block = list(self.frame_block(start))
            yield from block
            start += len(block)
            if not block or start % FRAME_BLOCK:
                return

    def nodes(self) -> dict[str, SwarmNode]:
        """The stored node records (the live projection as last committed), in key order."""
        start = len(NODE_PREFIX)
        nodes = (self._node(raw, key[start:]) for key, raw in self.store.scan(NODE_PREFIX))
        return {node.id: node for node in nodes}

    def ordered_nodes(self) -> dict[str, SwarmNode]:
        """:meth:`nodes` in the order a replay makes them: by creation time, then tree order."""
        nodes = self.nodes()
        keys = {node_id: (node.created_at, tree_order(node_id)) for node_id, node in nodes.items()}
        return {node_id: nodes[node_id] for node_id in sorted(nodes, key=keys.__getitem__)}

    def load(self, *, memory: bool = True) -> SwarmState:
        """The latest state from the stored projection (record, meta, node records),
        without reading the history: what read-only commands need, at a cost that does
        not grow with the number of frames. Recorded calls are not in it (the engine
        replays), nor the memory entries without ``memory``. Falls back to a replay if
        the projection is incomplete: no meta, or node records written before
        ``memory_mark`` existed (a replay fills it in, so both read the same)."""
        record = self.record()
        meta = self.read_meta()
        if not isinstance(meta, dict) or "frame_count" not in meta:
            return self.replay(journal=False)
        state = SwarmState.new(record)
        state.journal = False
        nodes = self.ordered_nodes()
        if any(node.memory_mark is None for node in nodes.values()):
            return self.replay(journal=False)
        state.nodes = nodes
        state.frame_count = int(meta["frame_count"])
        state.status = _stored_status(meta.get("status", state.status))
        state.stop_reason = meta.get("stop_reason")
        if meta.get("limits") is not None:
            state.limits = read_model(Limits, {"schema_version": SCHEMA_VERSION, **meta["limits"]}, "the stored limits")
        if meta.get("usage") is not None:
            state.usage = Usage.model_validate(meta["usage"])
        if isinstance(meta.get("endpoints"), dict):
            state.endpoints = StatsBook.model_validate(meta["endpoints"])
        clock = meta.get("clock")
        if isinstance(clock, dict):  # stored since issue 26; before, a loaded state's clock starts at 0
            state.clock = RunClock.from_json(clock)
        for key, stored in self.store.scan(MEMORY_PREFIX) if memory else ():
            raw = memory_from_record(stored, self.codec)
            entry = SaveMemory(
                node_id="",  # not kept in the memory record; the frame that saved it has it
                entry_id=str(raw.get("id", key[len(MEMORY_PREFIX) :])),
                folder=str(raw.get("folder", "")),
                title=str(raw.get("name", "")),
                content=str(raw.get("content", "")),
            )
            state.save_memory(entry)
        return state

    # the action and util spaces (see spaces/stored.py for what the records hold)

    def installed_space(self, kind: str) -> dict[str, Any] | None:
        """The installed tree of ``kind`` (``actions``/``utils``) as this swarm recorded it."""
        raw = self.store.get(INSTALLED_SPACE_KEYS[kind])
        return raw if isinstance(raw, dict) else None

    def own_actions(self) -> dict[str, dict[str, Any]]:
        """The actions this swarm created, by name: their leaf metadata and code."""
        return {
            key[len(OWN_ACTION_PREFIX) :]: raw
            for key, raw in self.store.scan(OWN_ACTION_PREFIX)
            if isinstance(raw, dict)
        }

    def tool_listings(self) -> dict[str, list[dict[str, Any]]]:
        """The MCP servers' tool lists this swarm recorded (server -> tools as JSON)."""
        return {
            key[len(TOOL_LISTING_PREFIX) :]: raw["tools"]
            for key, raw in self.store.scan(TOOL_LISTING_PREFIX)
            if isinstance(raw, dict) and isinstance(raw.get("tools"), list)
        }

    def replay(self, at_frame: int | None = None, *, journal: bool = True) -> SwarmState:
        """Rebuild the state as it was right after frame ``at_frame`` (default: latest), one
        frame at a time; ``journal=False`` drops each recorded call once applied (see
        :attr:`SwarmState.journal`), so memory holds the tree, not the history."""
        state = SwarmState.new(self.record())
        state.journal = journal
        for event in self.frames(0, at_frame):
            state.apply(event)
        return state


_ALL_NODE_FIELDS = set(SwarmNode.model_fields)
_ALL_USAGE_FIELDS = set(Usage.model_fields)


def _compact(node: SwarmNode) -> SwarmNode:
    """``node`` sharing one set of field names with every node read that gave them all.

    Why: pydantic keeps, per instance, the set of fields the input gave (2.3 KB for a
    node's fields, 0.7 KB for its usage): at 10,000 nodes that was a third of what
    ``tree`` held. A stored record gives every field, so one set serves them all (it
    is only ever added to, with names it already has)."""
    if node.__pydantic_fields_set__ == _ALL_NODE_FIELDS:
        object.__setattr__(node, "__pydantic_fields_set__", _ALL_NODE_FIELDS)
    if node.usage.__pydantic_fields_set__ == _ALL_USAGE_FIELDS:
        object.__setattr__(node.usage, "__pydantic_fields_set__", _ALL_USAGE_FIELDS)
    return node


def _stored_status(raw: Any) -> SwarmStatus:
    """The swarm status stored in meta, or one :class:`StoreCorrupt` line naming what is there."""
    try:
        return SwarmStatus(raw)
    except ValueError:
        known = ", ".join(SwarmStatus)
        raise StoreCorrupt(f"the stored swarm status {str(raw)[:40]!r} is none of: {known}") from None
