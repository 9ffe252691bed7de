"""A swarm's own actions run out of process, in the sandbox: the orchestrator never imports them.

A module that reads a relative file, or hangs, fails its own node with the
reason; the swarm goes on and its ``resume`` is unaffected (before: the first
bricked every resume of the swarm, the second ignored ``--max-time``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.models import CodeSettings, Limits, NodeStatus, SwarmSettings
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for

pytestmark = pytest.mark.sandbox

HEAD = 'from swarm_star.spaces import LeafSpec\n\nSPEC = LeafSpec(name="shout", description="Say it loudly.")\n'
READS_README = HEAD + 'NOTES = open("README.md").read()\n\n\nasync def run(ctx):\n    return [ctx.terminate(NOTES)]\n'
HANGS = HEAD + "import time\n\n\nasync def run(ctx):\n    time.sleep(1000)\n    return [ctx.terminate('never')]\n"
ASKS = HEAD + (
    "\n\nasync def run(ctx):\n"
    "    ask = [{'role': 'user', 'content': 'Task: say ' + ctx.node.directive}]\n"
    "    reply = await ctx.ask_model(ask, purpose='shout')\n"
    "    print('this goes to stderr, not into the channel')\n"
    "    return [ctx.terminate(reply.upper())]\n"
)


class Grower(ScriptedModel):
    """Round 1 creates the action; the review asks for a round that uses it."""

    code: str = ""

    def _newaction(self, request, directive, schema):  # type: ignore[no-untyped-def]
        return {"name": "shout", "description": "Say it loudly", "code": self.code}

    def _review(self, request, directive, schema):  # type: ignore[no-untyped-def]
        if directive.startswith("grow") and "created action" in str(request["messages"][-1]["content"]):
            return {"directive_met": False, "report": "made it", "next_directive": "shout hello there"}
        return super()._review(request, directive, schema)


def _grower(code: str) -> Grower:
    script = Grower(
        plans={"grow": ["grow an action that shouts"]},
        routes={"shout hello": "own/shout", "grow": "code/create_action"},
    )
    script.code = code
    return script


def _settings(timeout: float = 120.0) -> SwarmSettings:
    return SwarmSettings(allow_exec=True, code=CodeSettings(create_actions=True, timeout=timeout))


async def _run(swarm: Swarm, server: Any, limits: Limits | None = None) -> Any:
    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm, limits=limits, yes=True))
    finally:
        await llm.aclose()


def _node(swarm: Swarm, action_id: str) -> Any:
    return next(n for n in swarm.tree().nodes.values() if n.action_id == action_id)


def _own_modules(swarm_dir: Path) -> list[str]:
    folder = str(swarm_dir / "actions")
    return [name for name, m in list(sys.modules.items()) if str(getattr(m, "__file__", "") or "").startswith(folder)]


async def test_an_own_action_runs_out_of_process(tmp_path: Path, model_server: Any) -> None:
    """It asks the model through the parent (journaled with its node) and returns its report;
    nothing of it is imported here, and what it prints does not disturb the channel."""
    server = model_server(_grower(ASKS))
    swarm = Swarm.create("grow a shouting action", space=tmp_path, settings=_settings())
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    used = _node(swarm, "own.shout")
    assert used.status == NodeStatus.TERMINATED and used.report == "ANSWER TO: SAY SHOUT HELLO THERE"
    state = swarm.tree()
    assert [state.calls[(used.id, k)].purpose for k in used.calls] == ["shout"]
    assert _own_modules(tmp_path / swarm.id) == []


async def test_an_action_reading_a_relative_file_fails_its_node_only(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the import check ran in the own-actions folder (which has a README.md), then the
    engine imported the module from its own working directory, failed, and every resume
    exited 1. Now it loads in the sandbox, in the workspace, as it would run: refused there."""
    monkeypatch.chdir(tmp_path)  # the orchestrator's working directory has no README.md
    server = model_server(_grower(READS_README))
    swarm = Swarm.create("grow a shouting action", space=tmp_path / "space", settings=_settings())
    outcome = await _run(swarm, server)  # the run ends normally; its only part failed, and says why
    assert outcome.status == "failed" and "code.create_action failed" in outcome.reason, outcome.reason
    maker = _node(swarm, "code.create_action")
    assert maker.status == NodeStatus.FAILED
    assert "import failed: FileNotFoundError" in maker.error and "README.md" in maker.error
    assert _own_modules(tmp_path / "space" / swarm.id) == []

    # a module already in the folder (e.g. written by an older version) cannot stop a start either:
    # the graft reads its SPEC from the source and imports nothing
    folder = tmp_path / "space" / swarm.id / "actions"
    (folder / "shout.py").write_text(READS_README)
    again = Swarm.open(swarm.id, space=tmp_path / "space")
    llm = client_for(server)
    try:
        retried = await again.retry(options=RunOptions(llm=llm, yes=True))
    finally:
        await llm.aclose()
    assert retried.status == "finished", retried.reason  # the swarm starts and goes on
    assert _own_modules(tmp_path / "space" / swarm.id) == []


async def test_an_action_that_fails_to_load_fails_its_own_node(tmp_path: Path, model_server: Any) -> None:
    """A module in the swarm's folder that cannot load where it runs (the workspace) fails
    the node that uses it, with the reason; the run ends as any run whose part failed."""
    swarm = Swarm.create("grow a shouting action", space=tmp_path, settings=_settings())
    folder = tmp_path / swarm.id / "actions"
    folder.mkdir(parents=True)
    (folder / "shout.py").write_text(READS_README)  # there already: install keeps it (a re-run)
    server = model_server(_grower(READS_README))
    outcome = await _run(swarm, server)
    assert outcome.status in ("finished", "failed"), outcome.reason  # the run ends as usual
    shout = _node(swarm, "own.shout")
    assert shout.status == NodeStatus.FAILED and "import failed: FileNotFoundError" in (shout.error or "")
    assert _own_modules(tmp_path / swarm.id) == []


@pytest.mark.slow  # seconds each (a timeout or a kill waited out): .ci/run runs it
async def test_a_hanging_action_fails_its_node_and_max_time_stops_it(tmp_path: Path, model_server: Any) -> None:
    """``run`` blocks (a sleep, not an await): it is a child process, so its timeout fails its
    node; and ``--max-time`` stops a run while it hangs, resumably (before: the event loop
    was blocked, the lease held, the process killed by hand)."""
    server = model_server(_grower(HANGS))
    swarm = Swarm.create("grow a shouting action", space=tmp_path, settings=_settings(timeout=2))
    started = time.monotonic()
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert time.monotonic() - started < 30
    hung = _node(swarm, "own.shout")
    assert hung.status == NodeStatus.FAILED and "did not finish within 2 s" in hung.error

    other = Swarm.create("grow a shouting action", space=tmp_path, settings=_settings(timeout=600))
    started = time.monotonic()
    stopped = await _run(other, server, Limits(max_time=4))
    assert stopped.status == "limit" and time.monotonic() - started < 10
    resumed = Swarm.open(other.id, space=tmp_path)
    started = time.monotonic()
    again = await _run(resumed, server, Limits(max_time=4))
    assert again.status == "limit" and time.monotonic() - started < 10  # the resume runs, and stops again
    hanging = _node(resumed, "own.shout")
    runs = [e for e in resumed.history(hanging.id) if e.op.kind == "run_action"]
    assert len(runs) == 2 and not hanging.status.done  # run once per run, stopped each time
