"""The timeline of a swarm: what ran when, from the frames' timestamps alone.

Why from the frames: they are the one record every client can read (a swarm
run by another process, a finished one, a fork), and each carries the time it
was made. A node's *activation* runs from its ``run_action`` frame to the frame
that settles it (a report, a failure, a question, waiting for its parts) or to
a stop; a model call (or a journaled step: a command run, a broadcast) ends at
its ``llm_call`` frame and began ``latency_s`` before; a tool call likewise.
An activation still open at the last frame is drawn up to it, marked open.

A call is *slow* when it took at least :data:`SLOW_FACTOR` times the median
call and at least :data:`SLOW_MIN_S` seconds: the calls worth a look.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from swarm_star.models import SwarmEvent

__all__ = ["SLOW_FACTOR", "SLOW_MIN_S", "Bar", "Timeline", "build_timeline"]

SLOW_FACTOR = 3.0
SLOW_MIN_S = 1.0
SETTLED_AS = {
    "terminate": "finished",
    "fail": "failed",
    "ask_user": "asked the user",
    "await_children": "waiting for its parts",
}
"""How an activation ended, by the kind of the frame that settled it."""


@dataclass
class Bar:
    """One span of the timeline, in seconds from the swarm's first frame.

    ``kind``: ``node`` (an activation), ``call`` (a model call or journaled step) or
    ``tool`` (a tool call). ``label``: the node's action, the call's purpose, the tool.
    ``outcome``: how an activation ended (``running`` if still open), ``ok`` or
    ``error`` for a call. ``frame``: the frame that ended it (or started an open one).
    """

    kind: Literal["node", "call", "tool"]
    node_id: str
    label: str
    start: float
    end: float
    outcome: str
    frame: int
    model: str | None = None
    slow: bool = False
    open: bool = False

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class Timeline:
    """The bars of one swarm, and what they add up to. ``started``: the first frame's time
    (epoch seconds); ``seconds``: from the first frame to the last."""

    started: float = 0.0
    seconds: float = 0.0
    bars: list[Bar] = field(default_factory=list)

    def calls(self) -> list[Bar]:
        return [b for b in self.bars if b.kind != "node"]

    def peak(self, kind: str = "call") -> int:
        """The most bars of ``kind`` (``call`` includes tool calls) that overlapped at one instant."""
        edges: list[tuple[float, int]] = []
        for bar in self.bars:
            if (bar.kind == kind) or (kind == "call" and bar.kind == "tool"):
                edges += [(bar.start, 1), (max(bar.end, bar.start + 1e-9), -1)]  # an instant counts too
        most = now = 0
        for _, step in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start at one instant
            now += step
            most = max(most, now)
        return most

    def slowest(self, count: int = 5) -> list[Bar]:
        return sorted(self.calls(), key=lambda b: -b.seconds)[:count]

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "seconds": round(self.seconds, 4),
            "peak_calls": self.peak("call"),
            "peak_nodes": self.peak("node"),
            "bars": [asdict(b) for b in self.bars],
        }


def build_timeline(frames: Iterable[SwarmEvent]) -> Timeline:
    """The timeline of ``frames`` (a whole history, in order; read once, as it streams)."""
    line = Timeline()
    actions: dict[str, str] = {}
    running: dict[str, tuple[float, int]] = {}  # node -> (start, frame) of its open activation
    first: float | None = None
    last = 0.0
    for event in frames:
        if first is None:
            first = line.started = event.time
        at, op = event.time - first, event.op
        last = max(last, at)
        if op.kind == "spawn":
            actions[op.node_id] = op.action_id
        elif op.kind == "run_action":
            running[op.node_id] = (at, event.frame)
        elif op.kind in SETTLED_AS and (node_id := getattr(op, "node_id", "")) in running:
            start, _ = running.pop(node_id)
            line.bars.append(_activation(node_id, actions, start, at, SETTLED_AS[op.kind], event.frame))
        elif op.kind == "stop":
            for node_id, (start, _) in sorted(running.items()):
                line.bars.append(_activation(node_id, actions, start, at, "stopped", event.frame))
            running.clear()
        elif op.kind in ("llm_call", "tool_call"):
            kind: Literal["call", "tool"] = "call" if op.kind == "llm_call" else "tool"
            label = op.purpose if op.kind == "llm_call" else op.tool
            model = op.model if op.kind == "llm_call" and op.model != op.purpose else None
            line.bars.append(
                Bar(
                    kind,
                    op.node_id,
                    label,
                    max(0.0, at - op.latency_s),
                    at,
                    "error" if op.error else "ok",
                    event.frame,
                    model=model,
                )
            )
    for node_id, (start, frame) in sorted(running.items()):
        bar = _activation(node_id, actions, start, last, "running", frame)
        bar.open = True
        line.bars.append(bar)
    line.seconds = last
    _mark_slow(line.calls())
    line.bars.sort(key=lambda b: (b.start, b.kind != "node", b.end))
    return line


def _activation(node_id: str, actions: dict[str, str], start: float, end: float, outcome: str, frame: int) -> Bar:
    return Bar("node", node_id, actions.get(node_id, "?"), start, end, outcome, frame)


def _mark_slow(calls: list[Bar]) -> None:
    if not calls:
        return
    median = statistics.median(b.seconds for b in calls)
    for bar in calls:
        bar.slow = bar.seconds >= max(SLOW_MIN_S, SLOW_FACTOR * median)
