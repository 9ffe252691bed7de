"""The coding loop in real swarms: write → test → fix within the bound, opt-in execution,
and verification with one repair then a fallback model (all of it in frames)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import git
import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.kit.workspace import Workspace
from swarm_star.models import CodeSettings, ModelSettings, NodeStatus, SwarmSettings, VerifySettings
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for

TEST_FILE = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
BUGGY = "def add(a, b):\n    return a - b\n"
MARKER = "import pathlib\npathlib.Path('RAN').write_text('yes')\n"
MARKER_TEST = "def test_marker():\n    import marker  # noqa: F401\n"


def _users(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in request["messages"] if m.get("role") == "user")


class Coder(ScriptedModel):
    """Writes a buggy ``calc.py``; fixes it when shown failing tests, unless ``stubborn``."""

    stubborn: bool = False

    def _pythonfile(self, request, directive, schema):  # type: ignore[no-untyped-def]
        text = _users(request)
        if "The tests fail:" in text and not self.stubborn:
            return {"path": "calc.py", "edits": [{"old": "a - b", "new": "a + b"}], "commit_message": "Fix add"}
        if "The tests fail:" in text:
            return {"path": "calc.py", "code": BUGGY.replace("-", "*"), "commit_message": "Try multiply"}
        return {"path": "calc.py", "code": BUGGY, "commit_message": "Add calc"}


async def _run(swarm: Swarm, server: Any, **settings: Any) -> Any:
    llm = client_for(server, **settings)
    try:
        return await swarm.run(RunOptions(llm=llm, yes=True))
    finally:
        await llm.aclose()


def _writer(swarm: Swarm) -> Any:
    return next(n for n in swarm.tree().nodes.values() if n.action_id == "code.write_python")


def _seeded(tmp_path: Path, settings: SwarmSettings, files: dict[str, str]) -> Swarm:
    swarm = Swarm.create("code the calculator", space=tmp_path, settings=settings)
    ws = Workspace(tmp_path / swarm.id / "workspace")
    for path, text in files.items():
        ws.write(path, text, f"Seed {path}")
    return swarm


async def test_a_failing_test_is_fixed_within_the_bound(tmp_path: Path, model_server: Any) -> None:
    script = Coder(plans={"calculator": ["write calc.py with add"]}, routes={"": "code/write_python"})
    server = model_server(script)
    swarm = _seeded(tmp_path, SwarmSettings(allow_exec=True), {"test_calc.py": TEST_FILE})
    assert (await _run(swarm, server)).status == "finished"
    node = _writer(swarm)
    assert node.status == NodeStatus.TERMINATED, node.error
    assert "tests passed after 1 fix round(s)" in node.report and "1 passed" in node.report
    assert "wrote calc.py: created (+2 -0)" in node.report and "wrote calc.py: changed (+1 -1)" in node.report
    assert node.report.endswith("[verified]")
    repo = git.Repo(tmp_path / swarm.id / "workspace")
    assert [c.summary for c in repo.iter_commits()] == ["Fix add", "Add calc", "Seed test_calc.py"]
    state = swarm.tree()
    purposes = [state.calls[(node.id, k)].purpose for k in node.calls]
    assert purposes == ["workspace start", "write code", "run tests", "fix code", "run tests", "verify"]
    assert [(c.stage, c.ok) for c in node.checks] == [("first", True)]
    kinds = [e.op.kind for e in swarm.history(node.id)]
    assert "verdict" in kinds and kinds.index("verdict") < kinds.index("terminate")


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
async def test_fix_rounds_are_bounded_and_failure_is_reported(tmp_path: Path, model_server: Any) -> None:
    script = Coder(plans={"calculator": ["write calc.py with add"]}, routes={"": "code/write_python"})
    script.stubborn = True
    server = model_server(script)
    settings = SwarmSettings(allow_exec=True, code=CodeSettings(fix_rounds=2), verify=VerifySettings(actions=[]))
    swarm = _seeded(tmp_path, settings, {"test_calc.py": TEST_FILE})
    await _run(swarm, server)
    node = _writer(swarm)
    assert node.status == NodeStatus.FAILED
    assert node.error.startswith("tests still fail after 2 fix round(s) (exit 1)")
    state = swarm.tree()
    purposes = [state.calls[(node.id, k)].purpose for k in node.calls]
    assert purposes.count("fix code") == 2 and purposes.count("run tests") == 3 and "verify" not in purposes


async def test_without_allow_exec_nothing_runs(tmp_path: Path, model_server: Any) -> None:
    class Marker(ScriptedModel):
        def _pythonfile(self, request, directive, schema):  # type: ignore[no-untyped-def]
            return {"path": "marker.py", "code": MARKER, "commit_message": "Add marker"}

    script = Marker(
        plans={"calculator": ["write the marker", "run the tests"]},
        routes={"run the": "code/run_tests", "": "code/write_python"},
    )
    server = model_server(script)
    swarm = _seeded(tmp_path, SwarmSettings(), {"test_marker.py": MARKER_TEST})
    assert (await _run(swarm, server)).status == "finished"
    workspace = tmp_path / swarm.id / "workspace"
    assert not (workspace / "RAN").exists()
    node = _writer(swarm)
    assert "not executed (execution is off unless the user opts in with --allow-exec)" in node.report
    assert "```python\n" + MARKER.rstrip() + "\n```" in node.report  # the report carries the code
    tests = next(n for n in swarm.tree().nodes.values() if n.action_id == "code.run_tests")
    assert tests.report.startswith("tests not run") and not tests.calls

    # the same swarm shape with --allow-exec really runs it (so the check above can fail)
    swarm2 = _seeded(tmp_path, SwarmSettings(allow_exec=True), {"test_marker.py": MARKER_TEST})
    assert (await _run(swarm2, server)).status == "finished"
    assert (tmp_path / swarm2.id / "workspace" / "RAN").read_text() == "yes"
    ran = next(n for n in swarm2.tree().nodes.values() if n.action_id == "code.run_tests")
    assert ran.report.startswith(("tests passed", "tests FAILED")) and len(ran.calls) == 1


class Graded(ScriptedModel):
    """The primary model writes wrong code; the fallback model writes right code; the verifier
    only accepts the right one."""

    def _pythonfile(self, request, directive, schema):  # type: ignore[no-untyped-def]
        good = request.get("model") == "backup-model"
        body = "def add(a, b):\n    return a + b\n" if good else BUGGY
        return {"path": "calc.py", "code": body, "commit_message": "Add calc" if good else "Add calc (primary)"}

    def _resultverdict(self, request, directive, schema):  # type: ignore[no-untyped-def]
        if "a + b" in _users(request):
            return {"ok": True, "reasons": []}
        return {"ok": False, "reasons": ["add subtracts instead of adding"]}


async def test_failing_verdict_repair_then_fallback_all_in_frames(tmp_path: Path, model_server: Any) -> None:
    server = model_server(Graded(plans={"calculator": ["write calc.py with add"]}, routes={"": "code/write_python"}))
    models = ModelSettings(worker=["primary-model", "backup-model"], reviewer="judge-model")
    swarm = Swarm.create("code the calculator", space=tmp_path, settings=SwarmSettings(models=models))
    assert (await _run(swarm, server, worker=["primary-model", "backup-model"], reviewer="judge-model")).status == (
        "finished"
    )
    node = _writer(swarm)
    assert node.status == NodeStatus.TERMINATED, node.error
    assert [(c.stage, c.model, c.ok) for c in node.checks] == [
        ("first", None, False),
        ("repair", None, False),
        ("fallback", "backup-model", True),
    ]
    assert node.checks[0].reasons == ["add subtracts instead of adding"]
    state = swarm.tree()
    calls = [(state.calls[(node.id, k)].purpose, state.calls[(node.id, k)].model) for k in node.calls]
    assert calls == [
        ("workspace start", "workspace start"),  # journaled: what the model is shown (#19 item 7)
        ("write code", "primary-model"),
        ("verify", "judge-model"),
        ("repair code", "primary-model"),
        ("verify", "judge-model"),
        ("write code", "backup-model"),
        ("verify", "judge-model"),
    ]
    repair_request = state.calls[(node.id, node.calls[3])].request[-1]["content"]
    assert "A reviewer rejected the previous attempt:\n- add subtracts instead of adding" in repair_request
    verdicts = [e.op for e in swarm.history(node.id) if e.op.kind == "verdict"]
    assert [v.ok for v in verdicts] == [False, False, True]
    assert node.report.endswith("[verified after 3 attempts]") and "a + b" in node.report


async def test_when_every_attempt_fails_the_node_fails_with_the_reasons(tmp_path: Path, model_server: Any) -> None:
    server = model_server(Graded(plans={"calculator": ["write calc.py with add"]}, routes={"": "code/write_python"}))
    swarm = Swarm.create("code the calculator", space=tmp_path)  # one worker model: no fallback
    await _run(swarm, server)
    node = _writer(swarm)
    assert node.status == NodeStatus.FAILED
    assert "not verified after 2 attempts: add subtracts instead of adding" in node.error
    assert [c.stage for c in node.checks] == ["first", "repair"]


async def test_answers_can_be_verified_too(tmp_path: Path, model_server: Any) -> None:
    class Strict(ScriptedModel):
        def _text(self, request, directive, schema):  # type: ignore[no-untyped-def]
            return "42" if "rejected" in _users(request) else "41"

        def _resultverdict(self, request, directive, schema):  # type: ignore[no-untyped-def]
            ok = "Result:\n42" in _users(request)
            return {"ok": ok, "reasons": [] if ok else ["wrong number"]}

    server = model_server(Strict(plans={"number": ["compute the number"]}))
    settings = SwarmSettings(verify=VerifySettings(actions=["core.answer"]))
    swarm = Swarm.create("the number", space=tmp_path, settings=settings)
    await _run(swarm, server)
    node = next(n for n in swarm.tree().nodes.values() if n.action_id == "core.answer")
    assert node.report == "42\n[verified after 2 attempts]"
    assert [(c.stage, c.ok) for c in node.checks] == [("first", False), ("repair", True)]


async def test_the_tree_and_history_show_the_verdicts(tmp_path: Path, model_server: Any) -> None:
    import io

    from swarm_star.cli import main

    server = model_server(Graded(plans={"calculator": ["write calc.py with add"]}, routes={"": "code/write_python"}))
    swarm = Swarm.create("code the calculator", space=tmp_path)
    await _run(swarm, server)
    node = _writer(swarm)
    out = io.StringIO()
    assert main(["--space", str(tmp_path), "tree", swarm.id], out, io.StringIO()) == 0
    line = next(x for x in out.getvalue().splitlines() if f"{node.id} action:write_python" in x)
    assert "✗unverified(2)" in line
    out = io.StringIO()
    assert main(["--space", str(tmp_path), "history", swarm.id], out, io.StringIO()) == 0
    assert "first failed: add subtracts instead of adding" in out.getvalue()
    assert "repair failed: add subtracts" in out.getvalue()


async def test_a_command_run_under_yes_is_not_asked_about_on_a_resume_without_it(
    tmp_path: Path, model_server: Any
) -> None:
    """The run is stopped right after its tests ran under --yes; the resume without --yes
    replays that recorded run instead of asking about it again (it asked before the fix)."""

    class Right(Coder):
        def _pythonfile(self, request, directive, schema):  # type: ignore[no-untyped-def]
            return {"path": "calc.py", "code": BUGGY.replace("-", "+"), "commit_message": "Add calc"}

    server = model_server(Right(plans={"calculator": ["write calc.py with add"]}, routes={"": "code/write_python"}))
    swarm = _seeded(tmp_path, SwarmSettings(allow_exec=True), {"test_calc.py": TEST_FILE})
    llm = client_for(server)
    try:
        handle = swarm.run(RunOptions(llm=llm, yes=True))
        stopping: list[asyncio.Task[None]] = []

        def stop_after_tests(event: Any) -> None:
            if event.op.kind == "llm_call" and event.op.purpose == "run tests" and not stopping:
                stopping.append(asyncio.ensure_future(handle.stop()))

        handle.subscribe(stop_after_tests)
        with pytest.raises(asyncio.CancelledError):  # a stopped run ends cancelled, resumable
            await handle
        await stopping[0]
        node = _writer(swarm)
        assert "run tests" in [swarm.tree().calls[(node.id, k)].purpose for k in node.calls]
        again = await swarm.resume(RunOptions(llm=llm))
    finally:
        await llm.aclose()
    assert again.status == "finished", (again, swarm.questions())
    node = _writer(swarm)
    assert node.status == NodeStatus.TERMINATED and "1 passed" in node.report, node.error
