"""Frames encoded once per server, shared by every client that follows a swarm.

Why: each client of the event stream used to read the store, decode and
re-encode every frame itself; with 50 clients the server spent a core on it
and a swarm it ran committed half as fast. An :class:`EncodedFrames` holds one
swarm's frames in one wire format (SSE events now; a WebSocket's messages can
be another instance with its own ``encode``), in blocks of ``block`` frames:
the first client to need a block reads and encodes it, the others get the
same bytes (lock-free, on the event loop). The blocks kept are bounded in
bytes (least recently used go first); a block still being written (the tail
of a running swarm) is extended as frames are committed, never re-encoded.
The store is read only for what is not encoded yet: for a swarm run here, by
its live tail once for every client (:mod:`swarm_star.serve.live`).

:meth:`EncodedFrames.chunk` blocks on the store: call it from a worker thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Chunk", "EncodedFrames"]

ReadBlock = Callable[[int, int], Iterator[dict[str, Any]]]
"""``read(first, block)``: stored frames from ``first`` to the end of its block, stopping at a gap
(:meth:`~swarm_star.api.SwarmReader.frame_block`)."""


@dataclass(frozen=True)
class Chunk:
    """Encoded frames ``first`` .. ``next - 1`` joined (empty when none is stored yet), and
    whether more are stored already (the caller asks again at once instead of waiting)."""

    next: int
    data: bytes
    more: bool


@dataclass
class _Block:
    events: list[bytes] = field(default_factory=list)
    size: int = 0


class EncodedFrames:
    """One swarm's frames in one wire format, encoded once for all of a server's clients (thread-safe)."""

    def __init__(
        self, read: ReadBlock, encode: Callable[[dict[str, Any]], bytes], *, block: int, keep_bytes: int
    ) -> None:
        self._read = read
        self._encode = encode
        self.block = block
        self.keep_bytes = keep_bytes
        self._blocks: OrderedDict[int, _Block] = OrderedDict()  # by first frame, least recently used first
        self._bytes = 0
        self._lock = threading.Lock()

    def chunk(self, first: int, max_bytes: int) -> Chunk:
        """Frames from ``first`` on, about ``max_bytes`` of them (at least one frame when one is
        stored), never past the end of ``first``'s block."""
        return self._take(first, self._block_events(first), max_bytes)

    def _take(self, first: int, events: list[bytes], max_bytes: int) -> Chunk:
        """The chunk of ``events`` (``first`` to the end of its block) that fits ``max_bytes``."""
        start = first - first % self.block
        taken, size = 0, 0
        for event in events:
            taken += 1
            size += len(event)
            if size >= max_bytes:
                break
        more = taken < len(events) or first - start + taken == self.block
        return Chunk(first + taken, b"".join(events[:taken]), more)

    def encoded_chunk(self, first: int, max_bytes: int) -> Chunk | None:
        """Frames from ``first`` on that are encoded already, about ``max_bytes`` of them, across
        blocks (call it on the event loop: no store read, no wait for the lock, so a client catching
        up costs no worker-thread hop); None when ``first`` itself is not encoded (read the store with
        :meth:`chunk` from a worker thread, or let the live tail read it for everyone).

        Lock-free: a block's list of events only grows (``extend``, one step under the GIL) and a
        block is replaced, never emptied, so a slice taken here is always a run of whole events.
        ``more`` says whether frames past the chunk may be stored already: at the end of a full
        block, or when the chunk was cut at ``max_bytes``."""
        taken: list[bytes] = []
        size, at = 0, first
        while not taken or size < max_bytes:  # at least one frame when one is encoded
            start = at - at % self.block
            blk = self._blocks.get(start)
            events = blk.events[at - start :] if blk is not None else []
            if not events:
                if not taken:
                    return None
                return Chunk(at, b"".join(taken), at % self.block == 0)
            for event in events:
                taken.append(event)
                size += len(event)
                at += 1
                if size >= max_bytes:
                    break
            if at - start < self.block:  # stopped inside the block: by size, or at its encoded end
                return Chunk(at, b"".join(taken), size >= max_bytes)
        return Chunk(at, b"".join(taken), True)

    def encoded_end(self) -> int:
        """One past the last frame encoded so far (0 when none is): no client that read the
        stored frames can be caught up past it."""
        with self._lock:
            return max((start + len(blk.events) for start, blk in self._blocks.items()), default=0)

    def events(self, first: int, max_bytes: int) -> list[bytes]:
        """Every stored frame from ``first`` on (across blocks), each encoded, stopping once
        ``max_bytes`` are taken: what the live tail reads once per gather for all clients."""
        out: list[bytes] = []
        size = 0
        while size < max_bytes:
            events = self._block_events(first + len(out))
            if not events:
                break
            out.extend(events)
            size += sum(map(len, events))
            if (first + len(out)) % self.block:  # the block is not full: nothing is stored past it
                break
        return out

    def _block_events(self, first: int) -> list[bytes]:
        """The encoded frames from ``first`` to the end of its block, read and encoded if need be."""
        start = first - first % self.block
        with self._lock:
            blk = self._blocks.get(start)
            if blk is None:
                blk = _Block()
            if first >= start + len(blk.events) and len(blk.events) < self.block:  # past what is encoded
                new = [self._encode(raw) for raw in self._read(start + len(blk.events), self.block)]
                added = sum(map(len, new))
                blk.events.extend(new)  # one step: a lock-free reader sees all of them or none
                blk.size += added
                self._bytes += added
            if blk.events:  # kept as the most recently used (an empty block is not kept)
                self._blocks[start] = blk
                self._blocks.move_to_end(start)
                self._trim()
            return blk.events[first - start :]

    def _trim(self) -> None:
        """Forget the least recently used blocks past ``keep_bytes`` (always keeping the newest)."""
        while self._bytes > self.keep_bytes and len(self._blocks) > 1:
            _, old = self._blocks.popitem(last=False)
            self._bytes -= old.size
