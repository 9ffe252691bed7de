"""create_action: a valid module becomes routable for its own swarm only; an invalid one is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm, load_spaces
from swarm_star.engine import Engine
from swarm_star.errors import SpaceError
from swarm_star.kit.own_actions import install_action
from swarm_star.models import CodeSettings, NodeStatus, SwarmSettings
from swarm_star.spaces import find_space_dir
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for

SHOUT = """from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(name="shout", description="Say the directive loudly.")


async def run(ctx):
    words = ctx.utils.module("text.word_count").call(ctx.workspace, text=ctx.node.directive)
    return [ctx.terminate(ctx.node.directive.upper() + " / " + words)]
"""

INVALID = {
    "syntax": ("shout", "def run(:\n", "syntax error line 1"),
    "no spec": ("shout", "async def run(ctx):\n    return []\n", "no module-level SPEC"),
    "sync run": (
        "shout",
        "from swarm_star.spaces import LeafSpec\nSPEC = LeafSpec(name='s', description='d')\ndef run(ctx):\n    pass\n",
        "no module-level 'async def run(ctx)'",
    ),
    "import fails": (
        "shout",
        "import no_such_module_here\nSPEC = 1\nasync def run(ctx):\n    return []\n",
        "import failed: ModuleNotFoundError",
    ),
    "spec type": ("shout", "SPEC = 'not a spec'\nasync def run(ctx):\n    return []\n", "SPEC is not a LeafSpec"),
    "bad name": ("../Shout", SHOUT, "must be a lowercase identifier"),
}


class Grower(ScriptedModel):
    """Round 1 creates the action; the review asks for a round that uses it."""

    code: str = SHOUT

    def _newaction(self, request, directive, schema):  # type: ignore[no-untyped-def]
        return {"name": "shout", "description": "Say it loudly", "code": self.code}

    def _review(self, request, directive, schema):  # type: ignore[no-untyped-def]
        if "grow" in directive and "shout" not in str(request["messages"][-1]["content"]).split("Reports:", 1)[1]:
            return {"directive_met": True, "report": "nothing made", "next_directive": ""}
        if directive.startswith("grow"):
            return {"directive_met": False, "report": "made it", "next_directive": "shout hello there"}
        return super()._review(request, directive, schema)


def _settings(**kw: Any) -> SwarmSettings:
    return SwarmSettings(allow_exec=True, code=CodeSettings(create_actions=True), **kw)


async def _run(swarm: Swarm, server: Any) -> Any:
    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm, yes=True))
    finally:
        await llm.aclose()


async def test_a_valid_action_becomes_routable_for_that_swarm_only(tmp_path: Path, model_server: Any) -> None:
    routes = {"shout hello": "own/shout", "grow": "code/create_action"}
    server = model_server(Grower(plans={"grow": ["grow an action that shouts"]}, routes=routes))
    swarm = Swarm.create("grow a shouting action", space=tmp_path, settings=_settings())
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    nodes = swarm.tree().nodes.values()
    maker = next(n for n in nodes if n.action_id == "code.create_action")
    assert maker.status == NodeStatus.TERMINATED and maker.report.startswith("created action own.shout")
    used = next(n for n in nodes if n.action_id == "own.shout")
    assert used.status == NodeStatus.TERMINATED and used.report.startswith("SHOUT HELLO THERE / 3 words")
    created = [e.op for e in swarm.history() if e.op.kind == "action_created"]
    assert [(c.action_id, c.path) for c in created] == [("own.shout", "actions/shout.py")]
    assert (tmp_path / swarm.id / "actions" / "shout.py").read_text() == SHOUT
    assert not list(find_space_dir("actions").rglob("shout.py"))  # never into the installed tree

    stored = swarm.store.get("action_space_own.shout")  # recorded with its frame, code included
    assert stored["code"] == SHOUT and stored["leaf"]["id"] == "own.shout"

    # a later run of the same swarm (resume) loads it again, from the store
    (tmp_path / swarm.id / "actions" / "shout.py").unlink()
    actions, utils = load_spaces()
    Engine(store=swarm.store, state=swarm.tree(), llm=None, actions=actions, utils=utils, swarm_dir=tmp_path / swarm.id)
    assert actions.leaf("own.shout").routable and "own" in actions.root.children
    assert (tmp_path / swarm.id / "actions" / "shout.py").read_text() == SHOUT  # written back from the store

    # another swarm in the same space does not see it, even with the opt-in
    other = Swarm.create("shout hello there", space=tmp_path, settings=_settings())
    server2 = model_server(ScriptedModel(plans={"shout": ["shout hello there"]}, routes={"shout": "own/shout"}))
    await _run(other, server2)
    router = next(n for n in other.tree().nodes.values() if n.action_id == "routing.route_action")
    assert router.status == NodeStatus.FAILED and "no action fits" in router.error
    assert "own.shout" not in load_spaces()[0].entries


async def test_the_opt_in_is_required(tmp_path: Path, model_server: Any) -> None:
    """Without both opt-ins the leaf is not offered (it declares them as needs, issue 21), so
    no node runs it; before, it was offered and failed ("creating actions is off")."""
    server = model_server(Grower(plans={"grow": ["grow an action that shouts"]}, routes={"": "code/create_action"}))
    for settings in (SwarmSettings(), SwarmSettings(allow_exec=True)):
        swarm = Swarm.create("grow it", space=tmp_path, settings=settings)
        await _run(swarm, server)
        assert not [n for n in swarm.tree().nodes.values() if n.action_id == "code.create_action"]
        assert not (tmp_path / swarm.id / "actions").exists()


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_action_is_refused_with_the_reason(tmp_path: Path, case: str) -> None:
    name, code, reason = INVALID[case]
    with pytest.raises(SpaceError, match="invalid") as caught:
        asyncio.run(install_action(tmp_path, name, code, allowed=True))
    assert reason in str(caught.value)
    folder = tmp_path / "actions"
    assert not folder.exists() or [p.name for p in folder.iterdir()] == ["README.md"]


async def test_an_invalid_action_in_a_swarm_fails_its_node(tmp_path: Path, model_server: Any) -> None:
    script = Grower(plans={"grow": ["grow an action that shouts"]}, routes={"": "code/create_action"})
    script.code = "SPEC = 1\n"
    server = model_server(script)
    swarm = Swarm.create("grow it", space=tmp_path, settings=_settings())
    await _run(swarm, server)
    node = next(n for n in swarm.tree().nodes.values() if n.action_id == "code.create_action")
    assert node.status == NodeStatus.FAILED
    assert node.error == "the new action is invalid: no module-level 'async def run(ctx)'"
    assert not [e for e in swarm.history() if e.op.kind == "action_created"]


def test_the_cli_opt_in(tmp_path: Path, model_server: Any) -> None:
    import io
    import json

    from swarm_star.cli import main

    server = model_server(Grower(plans={"grow": ["grow an action that shouts"]}, routes={"": "code/create_action"}))
    base = ["--space", str(tmp_path), "run", "grow it", "--base-url", server.base_url, "--json"]
    err = io.StringIO()
    assert main([*base, "--create-actions"], io.StringIO(), err) == 2
    assert "--create-actions needs --allow-exec" in err.getvalue() and not any(tmp_path.iterdir())
    out = io.StringIO()
    assert main([*base, "--create-actions", "--allow-exec"], out, io.StringIO()) == 0
    swarm_id = json.loads(out.getvalue())["swarm_id"]
    assert (tmp_path / swarm_id / "actions" / "shout.py").read_text() == SHOUT
