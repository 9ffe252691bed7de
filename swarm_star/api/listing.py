"""The swarms of a swarm space, one typed row each: what ``list`` and ``GET /api/swarms`` show.

Each row is read from the swarm's stored projection (record, meta, owner
lease), never by replaying its history, so listing a space costs a few reads
per swarm. A swarm whose store cannot be read gets a ``damaged`` row naming
the error: one broken swarm never breaks the list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from swarm_star.api.rules import owner
from swarm_star.errors import SwarmStarError
from swarm_star.models.basics import SwarmStatus
from swarm_star.state.lease import OwnerStatus
from swarm_star.state.tree_view import read_meta, record_summary
from swarm_star.store import KVStore, StoreLocator

__all__ = ["SwarmRow", "list_swarms"]

DAMAGED = "damaged"


@dataclass(frozen=True)
class SwarmRow:
    """One swarm of a space. ``status`` is the stored one (``damaged``: unreadable, see
    ``error``); ``owner`` is its lease holder, alive or not (None when never held)."""

    swarm_id: str
    status: str
    directive: str
    created_at: float
    cost: float
    unpriced_calls: int
    nodes: int
    frames: int
    owner: OwnerStatus | None
    error: str | None = None
    partial: str | None = None  # a finished swarm that falls short: why ('1 of 3 parts failed')
    stop_reason: str | None = None  # a stopped swarm: why ('max_calls reached', 'stopped by the user')

    @classmethod
    def damaged(cls, swarm_id: str, error: str) -> SwarmRow:
        """The row of a swarm whose store cannot be read: the error stands where the directive would."""
        return cls(swarm_id, DAMAGED, error, time.time(), 0.0, 0, 0, 0, None, error)

    @property
    def shown(self) -> str:
        """The status as ``list`` shows it: ``running (pid P on H)`` while a live process
        holds the swarm, ``stopped (owner gone)`` when its record says running but the
        process that ran it is gone; ``finished (partial: 1 of 3 parts failed)`` when it fell short."""
        if self.status == SwarmStatus.FINISHED and self.partial:
            return f"finished (partial: {self.partial})"
        if self.status == SwarmStatus.STOPPED and self.stop_reason:
            return f"stopped ({self.stop_reason})"
        if self.status != SwarmStatus.RUNNING or self.owner is None:
            return self.status
        if self.owner.alive:
            return f"running (pid {self.owner.pid} on {self.owner.host})"
        return "stopped (owner gone)"

    def to_json(self) -> dict[str, Any]:
        """The row as JSON (``owner``: ``{"alive", "pid", "host"}``; ``error`` only when damaged)."""
        held = self.owner
        row: dict[str, Any] = {
            "swarm_id": self.swarm_id,
            "status": self.status,
            "partial": self.partial,
            "stop_reason": self.stop_reason,
            "owner": None if held is None else {"alive": held.alive, "pid": held.pid, "host": held.host},
            "directive": self.directive,
            "created_at": self.created_at,
            "cost": self.cost,
            "unpriced_calls": self.unpriced_calls,
            "nodes": self.nodes,
            "frames": self.frames,
        }
        if self.error is not None:
            row["error"] = self.error
        return row


class HasStore(Protocol):
    """What a row is read from: a swarm's store (a :class:`SwarmReader` has one)."""

    @property
    def store(self) -> KVStore: ...


Reader = Callable[[str], AbstractContextManager[HasStore]]


def list_swarms(where: StoreLocator, *, reader: Reader | None = None) -> list[SwarmRow]:
    """Every swarm ``where`` holds, by id. ``reader(swarm_id)`` lends a reader of the swarm
    (default: its store opened for the row and closed again)."""
    read: Reader = reader or (lambda swarm_id: _opened(where, swarm_id))
    rows = []
    for swarm_id in where.list_swarm_ids():
        try:  # one damaged swarm is reported in its own row, never breaks the list
            with read(swarm_id) as log:
                rows.append(_row(swarm_id, log))
        except SwarmStarError as exc:
            rows.append(SwarmRow.damaged(swarm_id, str(exc)))
    return rows


@dataclass
class _Opened:
    store: KVStore


@contextmanager
def _opened(where: StoreLocator, swarm_id: str) -> Iterator[HasStore]:
    opened = _Opened(where.open(swarm_id))
    try:
        yield opened
    finally:
        opened.store.close()


def _row(swarm_id: str, log: HasStore) -> SwarmRow:
    """The swarm's row. Its record is read plainly when it is one this release writes (no pydantic:
    ``list`` imported the models only for this), else validated: a bad one makes the row damaged."""
    summary = record_summary(log.store)
    if summary is None:
        from swarm_star.state.reader import SwarmReader

        record = SwarmReader(log.store).record()  # the one clear line of what is wrong (or a migration)
        summary = record.directive, record.created_at
    directive, created_at = summary
    meta = read_meta(log.store) or {}
    usage = meta.get("usage") or {}
    return SwarmRow(
        swarm_id=swarm_id,
        status=meta.get("status", SwarmStatus.CREATED),
        directive=directive,
        created_at=created_at,
        cost=usage.get("cost", 0.0),
        unpriced_calls=usage.get("unpriced_calls", 0),
        nodes=meta.get("nodes", 0),
        frames=meta.get("frame_count", 0),
        owner=owner(log.store),
        partial=meta.get("partial"),
        stop_reason=meta.get("stop_reason"),
    )
