"""Leaves declare what they need; routers offer only what can run, and a leaf run anyway refuses.

Bug (issue 21): ``code/create_action`` was offered with creating actions off; the
leaf then failed ("creating actions is off …") instead of refusing, and in one
run that took the whole swarm down. It now declares ``allow_exec`` and
``create_actions``; routers leave it out unless both are met, and every leaf
whose needs are unmet refuses (``not for me: unmet needs: …``) wherever it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm, load_spaces
from swarm_star.engine import Engine
from swarm_star.engine.activation import run_action
from swarm_star.engine.context import REFUSAL_PREFIX, ActionContext
from swarm_star.models import CodeSettings, NodeRole, SwarmEvent, SwarmSettings
from swarm_star.models.operations import Spawn
from swarm_star.spaces.needs import met_needs
from swarm_star.testing.openai_server import request_schema
from swarm_star.testing.scripted import ScriptedModel, plan_menu
from tests.helpers.model import client_for

OFF = (SwarmSettings(), SwarmSettings(allow_exec=True))
ON = SwarmSettings(allow_exec=True, code=CodeSettings(create_actions=True))


def code_menus(server: Any) -> list[list[str]]:
    """The options of every routing step and every plan that showed the code folder's leaves."""
    menus = []
    for body in server.log:
        name, schema = request_schema(body)
        if name == "RouteChoice" and schema:
            menus.append(schema["properties"]["choice"]["enum"])
        elif name == "Plan":
            menus.append(plan_menu(body))
    return [m for m in menus if any(o.endswith("write_python") for o in m)]


@pytest.mark.parametrize("settings", [*OFF, ON], ids=["nothing", "exec only", "exec and create-actions"])
async def test_routers_offer_create_action_only_when_it_can_run(
    tmp_path: Path, model_server: Any, settings: SwarmSettings
) -> None:
    server = model_server(ScriptedModel(routes={"": "code/write_python"}), keep_log=True)
    swarm = Swarm.create("write a tiny module", space=tmp_path, settings=settings)
    llm = client_for(server)
    try:
        await swarm.run(RunOptions(llm=llm))
    finally:
        await llm.aclose()
    menus = code_menus(server)
    assert menus, "the code folder was never shown"
    offered = any(o.endswith("create_action") for menu in menus for o in menu)
    assert offered == (settings is ON)
    assert load_spaces()[0].leaf("code.create_action").needs == ["allow_exec", "create_actions"]
    assert ("create_actions" in met_needs(settings, tmp_path)) == (settings is ON)


@pytest.mark.parametrize(
    ("action", "settings", "said"),
    [
        ("code.create_action", OFF[0], "(--allow-exec); the user let the swarm add actions"),
        ("code.create_action", OFF[1], "unmet needs: the user let the swarm add actions to its own action space"),
        ("swarm.hostfile_broadcast", SwarmSettings(), "a hostfile of LLM agents is configured (--hostfile)"),
    ],
)
async def test_a_leaf_run_without_its_needs_refuses(
    tmp_path: Path, model_server: Any, action: str, settings: SwarmSettings, said: str
) -> None:
    """As if spawned directly (or recorded before the leaf declared its needs): the engine's
    activation refuses, without calling a model, where the leaf used to run and fail."""
    server = model_server(ScriptedModel(), keep_log=True)
    swarm = Swarm.create("grow an action", space=tmp_path, settings=settings)
    llm = client_for(server)
    try:
        await swarm.run(RunOptions(llm=llm))
        state = swarm.tree()
        leaf = Spawn(node_id="0.9", parent_id="0", role=NodeRole.ACTION, action_id=action, directive="grow it")
        state.apply(SwarmEvent(frame=state.frame_count, time=0.0, op=leaf))  # in memory only
        actions, utils = load_spaces()
        engine = Engine(store=swarm.store, state=state, llm=llm, actions=actions, utils=utils, swarm_dir=tmp_path)
        before = server.requests
        [op] = await run_action(actions, ActionContext(engine, state.nodes["0.9"], 1, "start"))
    finally:
        await llm.aclose()
    assert op.kind == "fail" and op.error.startswith(REFUSAL_PREFIX + "unmet needs: ")
    assert said in op.error
    assert server.requests == before  # refused before any model call
