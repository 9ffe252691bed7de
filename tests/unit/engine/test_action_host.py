"""The ActionHost an activation runs against (engine/host.py): the writer, or a worker's host.

A Ray worker's host is exercised here in this process (Ray itself: ``test_ray.py``):
it runs a real action over a snapshot of the state, with the same journal and budget
as the writer, streams each finished call back, and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm, load_spaces
from swarm_star.engine import ActionContext
from swarm_star.engine.ray_executor import WorkerHost
from swarm_star.errors import LimitReached
from swarm_star.models import Limits, LLMCall, Spawn
from swarm_star.spaces import ids
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for


async def _finished(tmp_path: Path, server: Any) -> Swarm:
    swarm = Swarm.create("plan a city", space=tmp_path)
    llm = client_for(server)
    try:
        assert (await swarm.run(RunOptions(llm=llm))).status == "finished"
    finally:
        await llm.aclose()
    return swarm


async def test_a_worker_host_streams_its_calls_back_and_writes_nothing(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"city": ["north", "south", "east"]}))
    swarm = await _finished(tmp_path, server)
    state = swarm.tree()
    frames, asked = state.frame_count, server.requests
    manager = next(n for n in state.nodes.values() if n.action_id == ids.MANAGER)
    actions, utils = load_spaces()
    streamed: list[tuple[str, Any]] = []
    llm = client_for(server)
    host = WorkerHost(state, actions, utils, swarm.locator.swarm_dir(swarm.id), llm, streamed.append)
    try:  # an activation with no recorded calls: it asks the model afresh
        fresh = manager.model_copy(update={"children": []})
        ops = await actions.module(ids.MANAGER).run(ActionContext(host, fresh, 7, "start"))
    finally:
        await llm.aclose()
    assert [op.directive for op in ops if isinstance(op, Spawn)] == ["north", "south", "east"]
    calls = [value for kind, value in streamed if kind == "call"]
    assert calls and all(isinstance(c, LLMCall) and c.call_key.startswith("7:") for c in calls)
    assert server.requests - asked == len(calls)  # every request sent came back as a record
    assert swarm.tree().frame_count == frames  # the worker wrote nothing; the writer journals what it streamed
    assert ("0", "7:0") not in state.calls  # nor did it change the snapshot it was given


async def test_a_worker_host_reserves_against_the_limits_of_its_snapshot(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"city": ["north", "south", "east"]}))
    swarm = await _finished(tmp_path, server)
    state = swarm.tree()
    state.limits = Limits(max_calls=state.usage.calls)  # spent to the last call
    manager = next(n for n in state.nodes.values() if n.action_id == ids.MANAGER)
    actions, utils = load_spaces()
    llm = client_for(server)
    asked = server.requests
    host = WorkerHost(state, actions, utils, swarm.locator.swarm_dir(swarm.id), llm, lambda item: None)
    try:
        with pytest.raises(LimitReached, match="max_calls"):
            await actions.module(ids.MANAGER).run(
                ActionContext(host, manager.model_copy(update={"children": []}), 7, "start")
            )
    finally:
        await llm.aclose()
    assert server.requests == asked  # refused before anything was sent
