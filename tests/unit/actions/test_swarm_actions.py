"""The primitives as routable actions inside a real swarm (engine, SQLite store, openai SDK)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm, load_spaces
from swarm_star.cli import main
from swarm_star.engine import Engine
from swarm_star.engine.context import ActionContext
from swarm_star.models import Limits, NodeStatus, SwarmSettings
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.agent_farm import AgentFarm
from tests.helpers.model import client_for

ROUTES = {
    "poll": "swarm/hostfile_broadcast",
    "hard": "swarm/fanout_synthesis",
    "batch": "swarm/hostfile_scatter",
    "survey": "swarm/hostfile_tree_reduce",
}


@pytest.fixture
def farm(tmp_path: Path) -> Any:
    with AgentFarm(6, faults={4: "500"}) as farm:
        farm.hostfile = farm.write_hostfile(tmp_path / "hosts")  # type: ignore[attr-defined]
        yield farm


async def _run(swarm: Swarm, server: Any, **kw: Any) -> Any:
    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm, **kw))
    finally:
        await llm.aclose()


def _node(swarm: Swarm, action: str) -> Any:
    return next(n for n in swarm.tree().nodes.values() if n.action_id == action)


async def test_every_primitive_action_in_one_swarm(tmp_path: Path, model_server: Any, farm: Any) -> None:
    script = ScriptedModel(
        plans={
            "research": [
                "poll the agents on tabs",
                "hard: design a cache",
                "batch: apple; pear; plum",
                "survey agents on naming",
            ]
        },
        routes=ROUTES,
    )
    server = model_server(script)
    settings = SwarmSettings(hostfile=str(farm.hostfile), fanout_candidates=3)
    swarm = Swarm.create("research everything", space=tmp_path, settings=settings)
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    state = swarm.tree()
    assert all(n.status == NodeStatus.TERMINATED for n in state.nodes.values())

    poll = _node(swarm, "swarm.hostfile_broadcast")
    record = state.calls[(poll.id, poll.calls[0])]
    stored = json.loads(record.response)
    assert [r["ok"] for r in stored["replies"]] == [True] * 4 + [False, True]
    assert stored["replies"][4]["error"].startswith("HTTP 500") and stored["reduced"]["ok"]
    assert poll.report.endswith("[broadcast: 1 of 6 replies failed (1× HTTP 500)]")
    assert record.usage.calls == 6 + 2 + 1  # one failing agent tried 3 times, plus the combining call

    hard = _node(swarm, "swarm.fanout_synthesis")
    purposes = [state.calls[(hard.id, k)].purpose for k in hard.calls]
    assert purposes == ["candidate"] * 3 + ["synthesis"]
    assert hard.report.endswith("[fan-out: 3/3 candidates]")

    batch = _node(swarm, "swarm.hostfile_scatter")
    assert "1. item: apple\n   -> agent 0: item: apple" in batch.report
    assert "3. item: plum\n   -> agent 2: item: plum" in batch.report

    survey = _node(swarm, "swarm.hostfile_tree_reduce")
    assert "[tree-reduce: 5 of 6 answers covered]" in survey.report
    assert survey.usage.calls >= 6

    # the stored candidates can be synthesized again later, with one new call and no sampling
    swarm.close()
    before = server.requests
    out, err = io.StringIO(), io.StringIO()
    argv = ["--space", str(tmp_path), "fanout", "--from-node", swarm.id, hard.id, "--base-url", server.base_url]
    assert await asyncio.to_thread(main, [*argv, "--json"], out, err) == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert server.requests == before + 1
    assert [c["text"] for c in doc["candidates"]] == [state.calls[(hard.id, k)].response for k in hard.calls[:3]]
    assert doc["meta"]["prompt"] == "hard: design a cache" and doc["final"]
    err = io.StringIO()
    assert await asyncio.to_thread(main, [*argv[:3], "--from-node", swarm.id, "0"], io.StringIO(), err) == 2
    assert "recorded no fan-out candidates" in err.getvalue()


async def test_a_rerun_activation_replays_the_stored_broadcast(tmp_path: Path, model_server: Any, farm: Any) -> None:
    """After a crash the activation runs again: it must get the stored result, not ask the agents again."""
    server = model_server(ScriptedModel(plans={"poll": ["poll the agents"]}, routes=ROUTES))
    swarm = Swarm.create("poll", space=tmp_path, settings=SwarmSettings(hostfile=str(farm.hostfile)))
    assert (await _run(swarm, server)).status == "finished"
    sent = sum(farm.requests.values())
    state = swarm.tree()
    node = _node(swarm, "swarm.hostfile_broadcast")
    actions, utils = load_spaces()
    engine = Engine(store=swarm.store, state=state, llm=None, actions=actions, utils=utils, swarm_dir=tmp_path)
    ops = await actions.module(node.action_id).run(ActionContext(engine, node, 0, "resumed"))
    assert [op.kind for op in ops] == ["terminate"] and ops[0].report == node.report
    assert sum(farm.requests.values()) == sent


async def test_without_a_hostfile_the_hostfile_actions_are_not_offered(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"poll": ["poll the agents"]}, routes=ROUTES), keep_log=True)
    swarm = Swarm.create("poll", space=tmp_path)
    outcome = await _run(swarm, server)
    assert not [n for n in swarm.tree().nodes.values() if n.action_id.startswith("swarm.hostfile")]
    menus = [json.dumps(r["messages"]) for r in server.log if "Options in" in json.dumps(r["messages"])]
    assert menus and not any("hostfile_" in m for m in menus)
    # the one part could not be routed in any round: the swarm fails and says why, it does not "finish"
    assert outcome.status == "failed" and "every part failed" in (outcome.reason or "")
    assert "no action fits" in (outcome.reason or "")


async def test_a_broadcast_larger_than_the_call_budget_stops_before_sending(
    tmp_path: Path, model_server: Any, farm: Any
) -> None:
    server = model_server(ScriptedModel(plans={"poll": ["poll the agents"]}, routes=ROUTES))
    settings = SwarmSettings(hostfile=str(farm.hostfile), limits=Limits(max_calls=6))
    swarm = Swarm.create("poll", space=tmp_path, settings=settings)
    outcome = await _run(swarm, server)
    assert outcome.status == "limit" and "broadcast needs 7 calls" in (outcome.reason or "")
    assert sum(farm.requests.values()) == 0


async def test_a_limit_during_fan_out_records_every_paid_candidate(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"hard": ["hard: design a cache"]}, routes=ROUTES), latency=0.05)
    # plan 1 + route 2 = 3 calls before the fan-out; the budget leaves room for 4 of 8 candidates
    settings = SwarmSettings(fanout_candidates=8, limits=Limits(max_calls=7))
    swarm = Swarm.create("hard", space=tmp_path, settings=settings)
    outcome = await _run(swarm, server)
    assert outcome.status == "limit" and "max_calls" in (outcome.reason or "")
    state = swarm.tree()
    recorded = sum(len(n.calls) for n in state.nodes.values())
    assert recorded == server.requests  # nothing paid for went unrecorded
