"""How long a swarm has run (:class:`RunClock`), without the models: the read commands'
plain path (``tree_view.py``) shows it too. :mod:`swarm_star.state.projection` re-exports it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunClock"]


@dataclass
class RunClock:
    """How long a swarm has run: the one definition of its elapsed time, from frame times.

    A span starts at the first frame after a pause (the first frame of all, a
    resume, a retry) and ends at a ``stop`` frame or when the root settles; the
    time between runs (stopped, waiting days for an answer) is not counted.
    Every view (``run``, ``watch``, the web page, the report) shows
    :meth:`elapsed`; the web page reads the same three fields from the tree.
    """

    run_s: float = 0.0  # closed spans
    since: float | None = None  # start of the open span (None: not running)
    last: float | None = None  # time of the last frame

    def tick(self, now: float, kind: str) -> None:
        if self.since is None and kind != "stop":
            self.since = now
        elif kind == "stop":
            self.pause(now)
        self.last = now

    def pause(self, now: float) -> None:
        if self.since is not None:
            self.run_s += max(0.0, now - self.since)
            self.since = None

    def elapsed(self, now: float | None = None) -> float:
        """Seconds run so far; an open span counts up to ``now`` while someone runs the
        swarm, else up to its last frame (a crashed run's clock does not run on)."""
        end = now if now is not None else self.last
        open_span = max(0.0, end - self.since) if self.since is not None and end is not None else 0.0
        return self.run_s + open_span

    def to_json(self) -> dict[str, float | None]:
        return {"run_s": round(self.run_s, 3), "since": self.since, "last": self.last}

    @classmethod
    def from_json(cls, stored: dict[str, float | None]) -> RunClock:
        """The clock a meta stored (:meth:`to_json`), as every reader takes it."""
        return cls(float(stored.get("run_s") or 0.0), stored.get("since"), stored.get("last"))
