"""``Swarm.fork`` and ``swarm-star fork``: a new swarm from any frame of one.

The demo swarm runs against the scripted local model (real engine, SQLite
store, git workspace); forks of it are resumed against the same server, whose
request count shows which calls were made again.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli import main
from swarm_star.cli.demo import DEMO_ANSWER, DIRECTIVE, demo_model
from swarm_star.errors import InputError
from swarm_star.kit.workspace import Workspace
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.testing import LocalOpenAIServer
from tests.helpers.demo import finished_demo

OTHER_ANSWER = "3 people, in Porto, budget 400 EUR"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Swarm, LocalOpenAIServer]]:
    """The demo swarm, finished (its question answered, a script committed), and its model server.
    Shared by the tests of this module: forks never change it (each test checks what it needs)."""
    server = LocalOpenAIServer(demo_model())
    server.start()
    try:
        with finished_demo(tmp_path_factory.mktemp("space"), server.base_url) as swarm:
            yield swarm, server
    finally:
        server.stop()


def frame_of(swarm: Swarm, kind: str, node: str | None = None) -> int:
    return next(e.frame for e in swarm.history() if e.op.kind == kind and (node is None or node in e.nodes))


def dumped(swarm: Swarm, frame: int) -> dict[str, Any]:
    return {k: n.model_dump(mode="json") for k, n in swarm.tree(frame).nodes.items()}


def test_a_fork_before_the_answer_takes_another_answer_and_leaves_the_original_alone(demo: Any) -> None:
    swarm, _ = demo
    frames_before = swarm.reader.frame_count()
    answered = frame_of(swarm, "user_answer")
    at = answered - 1
    with swarm.fork(at, "other") as fork:
        # its history is the original's frames 0..N, then one stop that says where it came from
        assert [e.model_dump() for e in fork.history()][: at + 1] == [e.model_dump() for e in swarm.history()][: at + 1]
        assert dumped(fork, at) == dumped(swarm, at)
        last = fork.frame(at + 1)
        assert last is not None and last.op.kind == "stop" and last.op.reason == f"forked from demo@{at}"
        assert fork.reader.frame_count() == at + 2
        assert fork.reader.record().forked_from == f"demo@{at}"
        assert fork.owner().pid is None  # no lease came along
        # the question is pending again; answered differently, the fork finishes its own way
        (node, question), *_ = fork.questions()
        fork.answer(question.id, OTHER_ANSWER)
        assert fork.run_sync(RunOptions(env={})).status == "finished"
        asker = fork.tree().nodes[node.id]
        assert OTHER_ANSWER in (asker.report or "") and DEMO_ANSWER not in (asker.report or "")
    assert swarm.reader.frame_count() == frames_before
    assert DEMO_ANSWER in (swarm.tree().nodes[node.id].report or "")


def test_calls_recorded_by_the_fork_frame_are_reused_not_paid_again(demo: Any) -> None:
    swarm, server = demo
    planned = frame_of(swarm, "llm_call", "0.0")  # the manager's plan is recorded; its activation has not settled
    with swarm.fork(planned, "replan") as fork:
        assert fork.tree().nodes["0.0"].status == "running"
        sent = server.requests
        assert fork.run_sync(RunOptions(env={})).status == "questions"
        assert server.requests == sent  # the plan came from the fork's own frames
        plans = [e for e in fork.history() if e.op.kind == "llm_call" and e.op.node_id == "0.0"]
        assert len(plans) == 1 and plans[0].frame == planned
        assert dumped(fork, planned) == dumped(swarm, planned)


def test_the_workspace_of_a_fork_is_as_it_was_at_its_frame(demo: Any) -> None:
    swarm, _ = demo
    original = Workspace(swarm.workspace)
    wrote = frame_of(swarm, "llm_call", "0.0.3.0")  # the workspace's start, before the code is asked for
    code = next(e.frame for e in swarm.history() if e.op.kind == "llm_call" and e.op.purpose == "write code")
    assert wrote < code
    with swarm.fork(code - 1, "before-code") as early:
        assert not (early.workspace / ".git").exists()  # no change was known yet
        assert early.run_sync(RunOptions(env={})).status == "finished"
        assert (early.workspace / ".git").exists()  # the fork made the change again, in its own workspace
        assert Workspace(early.workspace).files() == original.files()
    last = swarm.reader.frame_count() - 1
    with swarm.fork(last, "whole") as whole:
        copy = Workspace(whole.workspace)
        assert copy.head() == original.head() and copy.files() == original.files()
        assert not copy.repo.remotes  # the original is not its remote
        (whole.workspace / "x.txt").write_text("fork only")
        assert not (swarm.workspace / "x.txt").exists()


def test_a_queued_answer_is_not_carried_into_a_fork(tmp_path: Path, model_server: Any) -> None:
    server = model_server(demo_model())
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    with Swarm.create(DIRECTIVE, space=tmp_path, swarm_id="asks", settings=settings) as swarm:
        assert swarm.run_sync(RunOptions(env={})).status == "questions"
        swarm.answer(swarm.questions()[0][1].id, DEMO_ANSWER)  # queued in the inbox, not yet a frame
        assert swarm.questions() == []
        with swarm.fork(swarm.reader.frame_count() - 1, "fresh") as fork:
            assert len(fork.questions()) == 1


def test_a_fork_inside_an_activations_outcome_keeps_the_whole_outcome(demo: Any) -> None:
    swarm, server = demo
    spawned = frame_of(swarm, "spawn", "0.0.0")  # the manager's plan: a spawn, then its await_children
    assert swarm.frame(spawned + 1).op.kind == "await_children"  # type: ignore[union-attr]
    with swarm.fork(spawned, "mid") as fork:
        assert fork.reader.record().forked_from == f"demo@{spawned + 1}"
        assert dumped(fork, spawned + 1) == dumped(swarm, spawned + 1)
        sent = server.requests
        assert fork.run_sync(RunOptions(env={})).status == "questions"
        assert fork.tree().nodes["0.0"].children == ["0.0.0"]  # before: ["0.0.0", "0.0.1"], the plan emitted twice
        assert server.requests == sent


def test_a_fork_refuses_a_missing_frame_and_a_taken_id(demo: Any) -> None:
    swarm, _ = demo
    with pytest.raises(InputError, match="does not exist"):
        swarm.fork(swarm.reader.frame_count())
    with pytest.raises(InputError, match="already exists"):
        swarm.fork(3, "demo")


def test_fork_command_then_resume_the_fork(demo: Any) -> None:
    swarm, server = demo
    space = swarm.locator.space
    at = frame_of(swarm, "user_answer") - 1
    out, err = io.StringIO(), io.StringIO()
    code = main(["--space", str(space), "fork", "demo", "--frame", str(at), "--swarm-id", "f1"], out=out, err=err)
    assert code == 0, err.getvalue()
    assert f"forked demo@{at} as f1" in out.getvalue() and "resume f1" in out.getvalue()
    assert "1 question(s) wait" in out.getvalue()
    out = io.StringIO()
    assert main(["--space", str(space), "questions", "f1", "--json"], out=out, err=err) == 0
    question = json.loads(out.getvalue())[0]["id"]
    assert main(["--space", str(space), "answer", "f1", question, OTHER_ANSWER], out=io.StringIO(), err=err) == 0
    out = io.StringIO()
    code = main(
        ["--space", str(space), "resume", "f1", "--base-url", server.base_url, "--max-calls", "500", "--json"],
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    assert json.loads(out.getvalue())["status"] == "finished"
    code = main(["--space", str(space), "fork", "demo", "--frame", "99999"], out=io.StringIO(), err=err)
    assert code == 2 and "does not exist" in err.getvalue()
