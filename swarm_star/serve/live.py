"""The live tail of a swarm: new frames gathered once per window for every client.

Why: with 50 clients following a swarm the server runs, each client woke on
every commit, read the frames through a worker thread and sent them itself:
the server spent more on the clients than on the swarm (one process, one GIL).
Here one task per swarm (the pump) waits for a commit, lets a gather window
pass (it grows with the number of clients), reads and encodes the new frames
once (:class:`~swarm_star.serve.fanout.EncodedFrames`, one worker-thread hop)
and joins them into one bytes object shared by every caught-up client: one
wakeup and one send per client per window, whatever the number of frames or
commits in it. A client behind the tail (a slow one, or one catching up) reads
bounded chunks from the encoded frames instead, so a slow client never holds
more than one delivery and never slows the others or the swarm. A swarm this
server does not run (a CLI run, a stored swarm) has a tail too, which reads
the store once per poll for all its clients instead of each client polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from swarm_star.serve.fanout import EncodedFrames

__all__ = ["Delivery", "LiveTail"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """Frames ``first`` .. ``end - 1`` encoded and joined once; ``offsets[i]`` is where frame
    ``first + i`` starts in ``data``."""

    first: int
    end: int
    data: bytes
    offsets: tuple[int, ...]

    def after(self, frame: int) -> bytes:
        """The frames from ``frame`` on (``first <= frame < end``): the shared bytes themselves
        for a client at ``first``, a slice for one that read some of them from the store."""
        return self.data if frame <= self.first else self.data[self.offsets[frame - self.first] :]


class _Slot:
    """The next delivery: every client waiting for it is woken by one ``set``."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.delivery: Delivery | None = None  # None once set: the tail has stopped (read the store)


class LiveTail:
    """One running swarm's new frames, delivered to all its caught-up clients at once.

    ``next_commit()`` is the run's frame waiter (set at the next commit; None once the run
    has ended), or for a swarm not run here an event never set (the tail reads the store
    every ``poll`` seconds; None once a run starts here); ``gather(clients)`` the seconds to
    wait after a commit; ``max_bytes`` bounds one delivery (the pump reads again at once when a
    delivery is full).
    """

    def __init__(
        self,
        frames: EncodedFrames,
        next_commit: Callable[[], asyncio.Event | None],
        gather: Callable[[int], float],
        *,
        max_bytes: int,
        poll: float,
    ) -> None:
        self._frames = frames
        self._next_commit = next_commit
        self._gather = gather
        self._max_bytes = max_bytes
        self._poll = poll
        self.end: int | None = None  # frames before it were delivered; None until a client is caught up
        self.clients = 0
        self.closed = False
        self._slot = _Slot()
        self._pump: asyncio.Task[None] | None = None

    async def after(self, frame: int) -> Delivery | None:
        """The next delivery that ends past ``frame``, for a client that has every frame before
        ``frame`` and found no more stored. None if the client is behind the tail (it reads the
        store until caught up) or the tail has stopped (the run ended: read the store, poll)."""
        if self.closed:
            return None
        if self.end is None:
            # The first caught-up client starts the tail where it is, but never past the frames
            # read so far: a client that asked for a frame not stored yet (``?from=`` far
            # ahead) would start the tail where nothing will be read for a long time, and every
            # client at the real end would be sent back to the store over and over.
            self.end = min(frame, self._frames.encoded_end())
        if frame < self.end:
            return None
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._run(), name="swarm-star live tail")
        while True:
            slot = self._slot
            await slot.ready.wait()
            delivery = slot.delivery
            if delivery is None or delivery.end > frame:
                return delivery

    async def _run(self) -> None:
        try:
            while self.clients > 0 and not self.closed:
                waiter = self._next_commit()  # taken before reading: a commit during the read wakes it
                if waiter is None:
                    self.closed = True  # the run has ended; the rest is read from the store
                    break
                assert self.end is not None
                events = await anyio.to_thread.run_sync(self._frames.events, self.end, self._max_bytes)
                if events:
                    self._deliver(events)
                    if sum(map(len, events)) >= self._max_bytes:
                        continue  # more is stored already
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiter.wait(), self._poll)
                await asyncio.sleep(self._gather(self.clients))
        except Exception as exc:  # a store error: the clients read the store themselves, as before the tail
            _log.warning("live tail stopped, its clients read the store: %s", exc)
        finally:
            self._pump = None
            if self.clients <= 0:
                self.end = None  # no one follows: the next caught-up client starts the tail again
            slot, self._slot = self._slot, _Slot()
            slot.ready.set()  # anyone still waiting reads the store

    def _deliver(self, events: list[bytes]) -> None:
        assert self.end is not None
        offsets, at = [], 0
        for event in events:
            offsets.append(at)
            at += len(event)
        delivery = Delivery(self.end, self.end + len(events), b"".join(events), tuple(offsets))
        self.end = delivery.end
        slot, self._slot = self._slot, _Slot()
        slot.delivery = delivery
        slot.ready.set()
