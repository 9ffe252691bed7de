"""What is in flight now: the model calls, journaled steps (command runs, broadcasts) and
tool calls an engine has started and not yet recorded, with when each started and, for a streamed
reply, how many pieces of it have arrived.

Why in memory and not in the store: a call in flight is not a fact of the swarm's
history (its frame comes when it ends), and writing one row per call start would cost
a commit per call. So only the process that runs the swarm knows; the API hands it out
(``RunHandle.in_flight``) and ``serve`` shows it for the swarms it runs.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from swarm_star.llm.streaming import STREAM_PROGRESS

__all__ = ["Flight", "InFlight"]


@dataclass
class Flight:
    """One call or step in flight. ``kind``: ``call`` (a model call), ``step`` (a journaled
    step: a command run, a broadcast, the workspace's start) or ``tool`` (a tool call;
    ``purpose`` is the tool's path). ``model``: the model being asked
    (each model of a role a call tries is its own flight). ``received``: streamed reply pieces so far
    (about one token each); 0 when the reply is not streamed or has not begun."""

    node_id: str
    key: str
    purpose: str
    kind: str
    started: float
    model: str | None = None
    received: int = 0

    def elapsed(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.started)


class InFlight:
    """The calls one engine's journal has in flight (the writer's; a Ray worker's stay there)."""

    def __init__(self) -> None:
        self._open: dict[int, Flight] = {}
        self._ids = itertools.count()

    @contextlib.contextmanager
    def track(self, node_id: str, key: str, purpose: str, kind: str, model: str | None = None) -> Iterator[Flight]:
        """Hold a :class:`Flight` while the body runs; streamed pieces of a reply asked for in
        the body (in this task) are counted on it."""
        flight = Flight(node_id, key, str(purpose), kind, time.time(), model)
        number = next(self._ids)
        self._open[number] = flight

        def arrived(pieces: int) -> None:
            flight.received = pieces

        token = STREAM_PROGRESS.set(arrived)
        try:
            yield flight
        finally:
            STREAM_PROGRESS.reset(token)
            self._open.pop(number, None)

    def snapshot(self) -> list[Flight]:
        """Copies of what is in flight, oldest first."""
        return sorted((replace(f) for f in self._open.values()), key=lambda f: f.started)
