"""One elapsed-time definition: the run clock kept from frame times (``RunClock``)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from swarm_star.cli import main
from swarm_star.models import NodeRole, ResumeSwarm, StopSwarm, SwarmEvent, SwarmRecord, Terminate
from swarm_star.models.operations import Spawn
from swarm_star.state.projection import SwarmState
from swarm_star.testing.scripted import ScriptedModel


def _at(state: SwarmState, time: float, op: object) -> None:
    state.apply(SwarmEvent(frame=state.frame_count, time=time, op=op, nodes=[]))


def test_time_between_runs_is_not_counted() -> None:
    state = SwarmState.new(SwarmRecord(swarm_id="c", directive="d", created_at=100.0))
    _at(state, 100.0, Spawn(node_id="0", parent_id=None, role=NodeRole.ROOT, action_id="core.root", directive="d"))
    _at(state, 110.0, StopSwarm(reason="stopped by the user"))
    assert state.clock.elapsed() == 10.0 and state.clock.elapsed(now=5000.0) == 10.0  # stopped: not running on
    _at(state, 1000.0, ResumeSwarm(limits=state.limits))  # days later, from the frames alone
    assert state.clock.elapsed(now=1004.0) == 14.0  # running here: counts up to now
    _at(state, 1020.0, Terminate(node_id="0", report="done"))
    assert state.clock.elapsed() == 30.0 and state.clock.elapsed(now=9999.0) == 30.0
    assert state.clock.to_json() == {"run_s": 30.0, "since": None, "last": 1020.0}


def test_run_and_watch_show_the_same_elapsed_time(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"menu": ["soup", "bread"]}), latency=0.4)
    out = io.StringIO()
    code = main(["--space", str(tmp_path), "run", "plan a menu", "--swarm-id", "m", "--base-url", server.base_url,
                 "--no-input"], out=out, err=io.StringIO())  # fmt: skip
    assert code == 0, out.getvalue()
    took = re.compile(r"nodes · \d+ calls · \d+ tokens · \S+ · (\d+ s|\d+ min \d+ s)")
    ran = took.findall(out.getvalue())  # the last one: the line after the run
    watched = io.StringIO()
    assert main(["--space", str(tmp_path), "watch", "m", "--once"], out=watched) == 0
    seen = took.findall(watched.getvalue())
    assert ran and seen, (out.getvalue(), watched.getvalue())
    assert ran[-1] == seen[-1] != "0 s"
