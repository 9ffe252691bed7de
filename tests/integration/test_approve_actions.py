"""Approvals on actions and on ``--allow-exec`` steps, through the real command (issue 23, item 2).

A swarm-written command asks before it runs unless the run has ``--yes``; the
question parks only that node (exit 3, nothing ran); ``answer … yes`` and a
resume run it once. ``--approve 'code/*=deny'`` denies the action: its node
reports the denial and the swarm finishes around it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from swarm_star.api import Swarm
from tests.integration.test_sandbox import _env, _execs, _prober, _swarm_id

PROBE = "print('probe ran')\n"


def _swarm_star(space: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "swarm_star", "--space", str(space), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=120)


def _run(space: Path, server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return _swarm_star(
        space, "run", "probe the sandbox", "--base-url", server.base_url, "--sandbox", "none", "--no-input", *args
    )


def test_an_exec_step_asks_without_yes_then_runs_once_approved(tmp_path: Path, model_server: Any) -> None:
    space = tmp_path / "space"
    server = model_server(_prober(PROBE))
    first = _run(space, server, "--allow-exec")
    assert first.returncode == 3, first.stdout + first.stderr  # a question is pending: the command
    swarm_id = _swarm_id(space)
    assert _execs(space, swarm_id) == []  # nothing ran before the answer
    with Swarm.open(swarm_id, space=space) as swarm:
        [(_node, question)] = swarm.approvals()
    assert question.text.startswith("Approve the command ") and "probe.py" in question.text
    answered = _swarm_star(space, "answer", swarm_id, question.id, "yes")
    assert answered.returncode == 0, answered.stderr
    again = _swarm_star(space, "resume", swarm_id, "--no-input", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    [ran] = _execs(space, swarm_id)
    assert "probe ran" in json.loads(ran.response)["output"]


def test_yes_runs_the_exec_step_without_asking(tmp_path: Path, model_server: Any) -> None:
    space = tmp_path / "space"
    server = model_server(_prober(PROBE))
    done = _run(space, server, "--allow-exec", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_execs(space, _swarm_id(space))) == 1


def test_an_action_rule_denies_the_action_and_the_swarm_goes_on(tmp_path: Path, model_server: Any) -> None:
    space = tmp_path / "space"
    server = model_server(_prober(PROBE))
    done = _run(space, server, "--approve", "code/*=deny")
    assert done.returncode == 0, done.stdout + done.stderr
    with Swarm.open(_swarm_id(space), space=space) as swarm:
        leaves = [n for n in swarm.state.nodes.values() if n.action_id == "code.write_python"]
        assert leaves and all("denied (rule code/*=deny)" in (n.report or "") for n in leaves)
        assert swarm.state.status == "finished"
    assert not list((space).rglob("probe.py"))  # the action never ran


def test_an_action_rule_asks_and_parks_only_that_node(tmp_path: Path, model_server: Any) -> None:
    space = tmp_path / "space"
    server = model_server(_prober(PROBE))
    first = _run(space, server, "--approve", "code/*=ask")
    assert first.returncode == 3, first.stdout + first.stderr
    swarm_id = _swarm_id(space)
    with Swarm.open(swarm_id, space=space) as swarm:
        [(node, question)] = swarm.approvals()
    assert question.text.startswith("Approve the action code/write_python for ")
    assert _swarm_star(space, "answer", swarm_id, question.id, "no").returncode == 0
    again = _swarm_star(space, "resume", swarm_id, "--no-input", "--approve", "code/*=ask")
    assert again.returncode == 0, again.stdout + again.stderr
    with Swarm.open(swarm_id, space=space) as swarm:
        assert "denied by the user" in (swarm.state.nodes[node.id].report or "")
