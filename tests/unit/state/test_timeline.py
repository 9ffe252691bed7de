"""The timeline built from frames: activations, calls, what overlapped, what was slow."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from swarm_star.cli import main
from swarm_star.models import (
    AwaitChildren,
    LLMCall,
    NodeRole,
    RunAction,
    Spawn,
    StopSwarm,
    SwarmEvent,
    Terminate,
    Usage,
)
from swarm_star.render.timeline import timeline_lines
from swarm_star.state.timeline import build_timeline


def call(node: str, key: str, latency: float, error: str | None = None) -> LLMCall:
    return LLMCall(
        node_id=node, call_key=key, model="m", purpose="plan", request=[], response="", usage=Usage(calls=1),
        latency_s=latency, error=error,
    )  # fmt: skip


def spawn(node: str, parent: str | None) -> Spawn:
    return Spawn(node_id=node, parent_id=parent, role=NodeRole.ACTION, action_id="core.answer", directive=node)


def frames(ops: list[tuple[float, Any]]) -> list[SwarmEvent]:
    t0 = 1024.0
    return [SwarmEvent(frame=i, time=t0 + t, op=op) for i, (t, op) in enumerate(ops)]


HISTORY = frames(
    [
        (0.0, spawn("0", None)),
        (0.1, RunAction(node_id="0", activation=0)),
        (1.1, call("0", "0:0", 1.0)),
        (1.2, spawn("0.0", "0")),
        (1.2, spawn("0.1", "0")),
        (1.3, AwaitChildren(node_id="0")),
        (1.4, RunAction(node_id="0.0", activation=0)),
        (1.4, RunAction(node_id="0.1", activation=0)),
        (2.4, call("0.0", "0:0", 0.9)),
        (2.5, call("0.1", "0:0", 1.0)),
        (9.5, call("0.1", "0:1", 6.9, error="timed out")),  # the slow one
        (9.6, Terminate(node_id="0.0", report="done")),
        (9.7, StopSwarm(reason="interrupted")),  # 0.1 was still running
        (12.0, RunAction(node_id="0.1", activation=0, reason="resumed")),
    ]
)


def test_bars_from_frames() -> None:
    line = build_timeline(HISTORY)
    nodes = [b for b in line.bars if b.kind == "node"]
    calls = line.calls()
    assert len(nodes) == 4 and len(calls) == 4  # 0, 0.0, 0.1 (stopped), 0.1 again (open)
    outcomes = {(b.node_id, b.outcome) for b in nodes}
    assert outcomes == {
        ("0", "waiting for its parts"), ("0.0", "finished"), ("0.1", "stopped"), ("0.1", "running"),
    }  # fmt: skip
    still = next(b for b in nodes if b.open)
    assert still.node_id == "0.1" and round(still.start, 6) == round(still.end, 6) == 12.0
    assert round(line.seconds, 6) == 12.0 and line.started == HISTORY[0].time
    first = next(b for b in calls if b.node_id == "0")
    assert (round(first.start, 3), round(first.end, 3)) == (0.1, 1.1)
    assert [b.slow for b in calls if b.node_id == "0.1"] == [False, True]
    assert line.peak("call") == 2 and line.peak("node") == 2
    assert line.slowest(1)[0].outcome == "error"
    assert json.loads(json.dumps(line.to_json()))["peak_calls"] == 2


def test_text_chart_rows_and_summary() -> None:
    lines = timeline_lines(build_timeline(HISTORY), width=100)
    assert all(len(line) <= 100 for line in lines)
    rows = [line for line in lines if "|" in line][1:]
    assert len(rows) == 3 + 4  # one row per node, one per call
    slow = next(line for line in rows if "!" in line)
    assert slow.lstrip().startswith("· plan m")
    assert lines[-7] == "12.0 s from the first frame to the last"
    assert lines[-6] == "4 activations (at most 2 at once) · 4 calls (at most 2 at once) · 1 slow"
    assert lines[-5] == "slowest calls:" and "node 0.1 plan m" in lines[-4] and "! slow" in lines[-4]


def test_timeline_command(tmp_path: Path) -> None:
    from tests.helpers.big_tree import write_big_tree

    write_big_tree(tmp_path, "big", (3, 2))
    out = io.StringIO()
    assert main(["--space", str(tmp_path), "timeline", "big", "--json"], out=out, err=io.StringIO()) == 0
    data = json.loads(out.getvalue())
    nodes = [b for b in data["bars"] if b["kind"] == "node"]
    assert data["swarm_id"] == "big" and nodes and data["bars"]
    out = io.StringIO()
    assert main(["--space", str(tmp_path), "timeline", "big", "--nodes-only"], out=out, err=io.StringIO()) == 0
    text = out.getvalue()
    assert text.startswith("timeline of swarm big") and "  · answer" not in text
    assert "6 calls (at most 1 at once)" in text
    assert f"{len(nodes)} activations" in text
