"""The Ray executor on a local Ray instance: same tree as in-process, and a worker killed
mid-activation is retried without paying again for the calls it had streamed back."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.models import NodeStatus
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for

pytestmark = pytest.mark.ray

PLAN = {"tidy": ["sort the books", "dust the shelves", "water the plants"]}


@pytest.fixture(scope="session")
def ray_executor():  # type: ignore[no-untyped-def]
    try:
        import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("ray is not installed (pip install -e '.[ray]'); CI=true makes the ray tier required")
        pytest.skip("ray is not installed (pip install -e '.[ray]')")
    from swarm_star.engine.ray_executor import RayExecutor

    executor = RayExecutor(num_cpus=2)
    executor.start()
    yield executor
    ray.shutdown()


def shape(swarm: Swarm) -> dict[str, tuple]:
    return {
        n.id: (n.action_id, n.status, n.directive, n.parent_id, sorted(n.calls), n.report, n.children)
        for n in swarm.tree().nodes.values()
    }


async def run(swarm: Swarm, server, on_event=None, **kw):  # type: ignore[no-untyped-def]
    llm = client_for(server)
    try:
        handle = swarm.run(RunOptions(llm=llm, poll_interval=0.02, **kw))
        if on_event is not None:
            handle.subscribe(on_event)
        return await handle
    finally:
        await llm.aclose()


async def test_ray_runs_the_same_tree_as_in_process(tmp_path: Path, model_server, ray_executor) -> None:
    server = model_server(ScriptedModel(plans=PLAN))
    local = Swarm.create("tidy the study room", space=tmp_path / "local")
    remote = Swarm.create("tidy the study room", space=tmp_path / "ray")
    assert (await run(local, server)).status == "finished"
    before = server.requests
    outcome = await run(remote, server, executor=ray_executor)
    assert outcome.status == "finished", outcome
    assert shape(remote) == shape(local)
    assert server.requests - before == remote.tree().usage.calls  # every call made once, all journaled
    assert remote.log.nodes() == remote.tree().nodes  # the engine wrote what the workers streamed


async def test_a_worker_killed_mid_activation_is_retried(tmp_path: Path, model_server, ray_executor) -> None:
    """Routers make two calls per activation: the worker process is killed (SIGKILL) right
    after the first call of node 0.0.0 is journaled. Ray restarts the actor; the engine
    re-submits the lost activations, which replay their journaled calls from the frames."""
    server = model_server(ScriptedModel(plans=PLAN), latency=0.4)
    swarm = Swarm.create("tidy the study room", space=tmp_path)
    killed: list[int] = []

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        op = event.op
        if op.kind == "llm_call" and op.node_id == "0.0.0" and not killed:
            pid = ray_executor.running.get("0.0.0")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    lost_before = ray_executor.lost
    outcome = await run(swarm, server, executor=ray_executor, on_event=on_event)
    assert killed, "the worker was not running when its first call was journaled"
    assert outcome.status == "finished", outcome
    lost = ray_executor.lost - lost_before
    assert lost >= 1  # 0.0.0 and any activation sharing its worker process
    tree = swarm.tree()
    assert all(n.status == NodeStatus.TERMINATED for n in tree.nodes.values())
    keys = [e.op.call_key for e in swarm.history() if e.op.kind == "llm_call" and e.op.node_id == "0.0.0"]
    assert keys == sorted(set(keys)) and len(keys) == 2  # the journaled first call was not made again
    # paid twice: at most the calls that were in flight when the worker died (one per lost activation)
    assert tree.usage.calls <= server.requests <= tree.usage.calls + lost


def test_cli_run_with_the_ray_executor(tmp_path: Path, model_server, ray_executor) -> None:
    """``swarm-star run … --executor ray`` (the session's Ray instance is reused)."""
    import io
    import json

    from swarm_star.cli import main

    server = model_server(ScriptedModel(plans=PLAN))
    out = io.StringIO()
    argv = ["--space", str(tmp_path), "run", "tidy the study room", "--base-url", server.base_url]
    code = main([*argv, "--model-concurrency", "16", "--executor", "ray", "--json", "--swarm-id", "r1"], out=out)
    assert code == 0, out.getvalue()
    data = json.loads(out.getvalue())
    assert data["status"] == "finished" and data["nodes"] == 8 and data["usage"]["calls"] == server.requests
