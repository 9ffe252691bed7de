"""The workspace: checked paths, one commit per change, edits, rollback, crash idempotence, opt-in runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import git
import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.errors import WorkspaceError
from swarm_star.kit.workspace import CommandResult, Workspace, check_path
from swarm_star.models import NodeStatus
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for
from tests.helpers.paths import ROOT

BAD_PATHS = [
    "/etc/passwd",
    "../evil.py",
    "pkg/../../evil.py",
    "pkg\\evil.py",
    "C:\\Users\\me\\evil.py",
    "C:evil.py",
    "c:/Users/evil.py",
    ".git/hooks/pre-commit",
    "pkg/.git/config",
    ".GIT/config",
    "~/evil.py",
    " evil.py",
    "evil\n.py",
    "",
    ".",
]


def _snapshot(root: Path) -> tuple[list[str], str]:
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.relative_to(root).parts)
    return files, git.Repo(root).git.status("--porcelain")


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_bad_paths_are_refused_before_anything_is_written(tmp_path: Path, bad: str) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write("keep.py", "x = 1\n", "Add keep")
    before = _snapshot(ws.root)
    with pytest.raises(WorkspaceError):
        ws.write(bad, "boom\n", "bad")
    with pytest.raises(WorkspaceError):
        ws.edit(bad, [("x", "y")], "bad")
    assert _snapshot(ws.root) == before
    assert not (tmp_path / "evil.py").exists() and not list(tmp_path.glob("*evil*"))
    assert len(list(git.Repo(ws.root).iter_commits())) == 1


def test_a_symlink_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    (ws.root / "out").symlink_to(tmp_path)
    with pytest.raises(WorkspaceError, match="outside the swarm workspace"):
        ws.write("out/evil.py", "x", "bad")
    assert not (tmp_path / "evil.py").exists()


def test_check_path_normalizes_harmless_forms() -> None:
    assert check_path("./pkg//mod.py") == "pkg/mod.py"
    with pytest.raises(WorkspaceError, match="backslashes"):
        check_path("C:\\Users\\x")


def test_write_edit_replace_one_commit_each(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    first = ws.write("pkg/calc.py", "def add(a, b):\n    return a - b\n", "Add calc")
    assert first.created and first.sha and (first.added, first.removed) == (2, 0)
    edit = ws.edit("pkg/calc.py", [("return a - b", "return a + b")], "Fix add: plus, not minus")
    assert not edit.created and (edit.added, edit.removed) == (1, 1)
    assert "-    return a - b" in edit.diff and "+    return a + b" in edit.diff
    whole = ws.write("pkg/calc.py", "def add(a, b):\n    return b + a\n", "Rewrite calc")
    assert whole.sha not in (first.sha, edit.sha)
    log = [c.summary for c in git.Repo(ws.root).iter_commits()]
    assert log == ["Rewrite calc", "Fix add: plus, not minus", "Add calc"]
    assert ws.files() == ["pkg/calc.py"] and "b + a" in ws.read("pkg/calc.py")
    assert "commit" in whole.summary() and "+1 -1" in whole.summary()


def test_an_edit_must_match_exactly_once(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write("a.py", "x = 1\nx = 1\n", "Add a")
    with pytest.raises(WorkspaceError, match="found 2 times"):
        ws.edit("a.py", [("x = 1", "x = 2")], "dup")
    with pytest.raises(WorkspaceError, match="not found"):
        ws.edit("a.py", [("y = 1", "x = 2")], "missing")
    with pytest.raises(WorkspaceError, match="no such file"):
        ws.edit("b.py", [("x", "y")], "no file")
    assert ws.read("a.py") == "x = 1\nx = 1\n" and not (ws.root / "b.py").exists()


def test_a_failed_commit_leaves_no_stray_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write("keep.py", "x = 1\n", "Add keep")
    before = _snapshot(ws.root)

    def refuse(self: Workspace, clean: str, message: str) -> str:
        raise git.GitCommandError(["git", "commit"], 1, b"disk trouble")

    monkeypatch.setattr(Workspace, "_commit", refuse)
    with pytest.raises(WorkspaceError, match="could not commit"):
        ws.write("new/deep/file.py", "y = 2\n", "Add file")
    with pytest.raises(WorkspaceError, match="could not commit"):
        ws.write("keep.py", "x = 2\n", "Change keep")
    assert _snapshot(ws.root) == before
    assert ws.read("keep.py") == "x = 1\n"


def test_the_same_change_twice_reports_its_commit_again(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    one = ws.write("a.py", "x = 1\n", "Add a")
    again = ws.write("a.py", "x = 1\n", "Add a")
    assert again == one  # a re-run after a crash that followed the commit reports the same change
    edit = ws.edit("a.py", [("x = 1", "x = 2")], "Bump x")
    assert ws.edit("a.py", [("x = 1", "x = 2")], "Bump x") == edit
    assert ws.write("a.py", "x = 2\n", "another message").sha is None
    assert len(list(git.Repo(ws.root).iter_commits())) == 2


def test_a_staged_but_uncommitted_change_is_committed_by_the_rerun(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write("a.py", "x = 1\n", "Add a")
    (ws.root / "a.py").write_text("x = 2\n")
    ws.repo.git.add("a.py")  # what a crash between staging and committing leaves
    change = ws.write("a.py", "x = 2\n", "Bump x")
    assert change.sha is not None and change.summary().endswith("Bump x")
    assert ws.repo.git.status("--porcelain") == ""
    assert [c.summary for c in ws.repo.iter_commits()] == ["Bump x", "Add a"]


def test_a_rerun_of_several_changes_finds_each_commit_and_reverts_nothing(tmp_path: Path) -> None:
    """An activation that wrote, then fixed, is re-run after a crash that followed both commits."""
    ws = Workspace(tmp_path / "ws")

    def activation() -> list[Any]:
        first = ws.write("calc.py", "def add(a, b):\n    return a - b\n", "Add calc", change_id="0.1@0:0")
        fix = ws.edit("calc.py", [("a - b", "a + b")], "Fix add", change_id="0.1@0:2")
        return [first, fix]

    done = activation()
    assert activation() == done
    assert [c.summary for c in ws.repo.iter_commits()] == ["Fix add", "Add calc"]
    assert ws.read("calc.py").endswith("a + b\n") and ws.repo.git.status("--porcelain") == ""
    assert "Swarm-Change: 0.1@0:2" in ws.repo.head.commit.message


def _coder() -> ScriptedModel:
    class Coder(ScriptedModel):
        def _pythonfile(self, request, directive, schema):  # type: ignore[no-untyped-def]
            return {"path": "pkg/hello.py", "code": "print('hi')\n", "commit_message": "Add hello script"}

    return Coder(plans={"code": ["write hello"]}, routes={"": "code/write_python"})


async def test_kill_between_staging_and_committing_then_resume_commits_it(tmp_path: Path, model_server: Any) -> None:
    """#11 item 9: the resumed action commits the staged file; the report equals a clean run's."""
    server = model_server(_coder())
    clean = Swarm.create("code things", space=tmp_path / "clean")
    llm = client_for(server)
    try:
        assert (await clean.run(RunOptions(llm=llm, yes=True))).status == "finished"
    finally:
        await llm.aclose()
    clean_writer = next(n for n in clean.tree().nodes.values() if n.action_id == "code.write_python")
    clean.close()

    space = tmp_path / "crash"
    crashed = Swarm.create("code things", space=space)
    crashed.close()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.helpers.crash_between_stage_and_commit", str(space), crashed.id, server.base_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9 and "staged pkg/hello.py" in proc.stdout, proc.stderr[-2000:]
    workspace = space / crashed.id / "workspace"
    repo = git.Repo(workspace)
    assert "A  pkg/hello.py" in repo.git.status("--porcelain")  # staged, never committed
    assert not repo.head.is_valid()

    with Swarm.open(crashed.id, space=space) as swarm:
        llm = client_for(server)
        try:
            assert (await swarm.run(RunOptions(llm=llm, yes=True))).status == "finished"
        finally:
            await llm.aclose()
        writer = next(n for n in swarm.tree().nodes.values() if n.action_id == "code.write_python")
    assert writer.status == NodeStatus.TERMINATED
    assert [c.summary for c in repo.iter_commits()] == ["Add hello script"]
    assert repo.git.status("--porcelain") == ""
    sha = repo.head.commit.hexsha[:10]
    assert f"commit {sha}: Add hello script" in (writer.report or "")
    clean_sha = (clean_writer.report or "").split("commit ", 1)[1][:10]
    assert writer.report == (clean_writer.report or "").replace(clean_sha, sha)
    assert "(unchanged" not in (writer.report or "")


async def test_kill_after_the_commit_pays_no_recorded_call_again(tmp_path: Path, model_server: Any) -> None:
    """#19 item 7: the write call's prompt showed the live workspace, which after the kill already
    held the node's own commit, so the re-run asked something else and paid the call again."""
    server = model_server(_coder())
    space = tmp_path / "crash"
    crashed = Swarm.create("code things", space=space)
    crashed.close()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.helpers.crash_after_commit", str(space), crashed.id, server.base_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9 and "committed pkg/hello.py" in proc.stdout, proc.stderr[-2000:]
    repo = git.Repo(space / crashed.id / "workspace")
    assert [c.summary for c in repo.iter_commits()] == ["Add hello script"]

    with Swarm.open(crashed.id, space=space) as swarm:
        before = swarm.state.frame_count
        calls = [e.op for e in swarm.history() if e.op.kind == "llm_call" and e.op.error is None]
        assert any(c.purpose == "write code" for c in calls)  # the write call was recorded before the kill
        recorded = {(c.node_id, c.call_key) for c in calls}
        requests = server.requests
        llm = client_for(server)
        try:
            assert (await swarm.run(RunOptions(llm=llm, yes=True))).status == "finished"
        finally:
            await llm.aclose()
        again = [e.op for e in swarm.history() if e.frame >= before and e.op.kind == "llm_call"]
        writer = next(n for n in swarm.tree().nodes.values() if n.action_id == "code.write_python")
    assert not [c for c in again if (c.node_id, c.call_key) in recorded or c.replaces]  # nothing recorded re-asked
    assert server.requests - requests == sum(c.usage.calls for c in again)  # only new calls were sent
    assert [c.summary for c in repo.iter_commits()] == ["Add hello script"]
    assert writer.status == NodeStatus.TERMINATED and "(unchanged" not in (writer.report or "")


def test_run_needs_opt_in_and_stays_in_the_workspace(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write("where.py", "import os\nprint(os.getcwd())\nprint('x' * 10000)\n", "Add where")
    with pytest.raises(WorkspaceError, match="--allow-exec"):
        ws.run([sys.executable, "where.py"], allowed=False)
    result = ws.run([sys.executable, "where.py"], allowed=True, output_cap=300)
    assert result.passed and len(result.output) == 300 and result.output.endswith("x" * 299 + "\n")
    first = ws.run([sys.executable, "-c", "import os; print(os.getcwd())"], allowed=True)
    assert first.output.strip() == str(ws.root)
    slow = ws.run([sys.executable, "-c", "import time; time.sleep(30)"], allowed=True, timeout=1)
    assert slow.timed_out and slow.exit_code is None and not slow.passed


def test_a_commit_message_git_cannot_decode_is_shown_as_text(tmp_path: Path) -> None:
    """GitPython types ``summary`` as ``str | bytes``; a commit whose encoding header names no
    known codec is still listed as text by the final report and the git_log util."""
    import importlib.util

    from swarm_star.kit.final_report import workspace_commits

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("a\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.txt"], check=True)
    # A commit whose encoding header names no codec Python knows: GitPython keeps its message as bytes.
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "i18n.commitEncoding=no-such-codec", "commit", "-q", "-m", "a fix"],
        check=True,
        env={**os.environ, **env},
    )
    lines = workspace_commits(tmp_path)
    assert len(lines) == 1 and "b'" not in lines[0] and "fix (a.txt)" in lines[0]
    spec = importlib.util.spec_from_file_location("git_log", ROOT / "utils_space/git/git_log.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shown = module.call(tmp_path)
    assert "b'" not in shown and "fix" in shown


def test_a_cut_command_summary_keeps_the_command_and_how_it_ended() -> None:
    """Reports keep about 2,000 characters of a command's summary: a long output loses its
    beginning, never the exit line (the report of a probe listing many processes said nothing
    of how it ended)."""
    long = CommandResult(["python", "probe.py"], 0, "\n".join(f"line {i}" for i in range(2000)), sandbox="bwrap")
    cut = long.summary(500)
    assert cut.startswith("$ python probe.py\nexit 0 (sandbox: bwrap)\n[… ")
    assert cut.endswith("line 1999") and len(cut) <= 500
    short = CommandResult(["true"], 1, "oops\n")
    assert short.summary(500) == short.summary() == "$ true\nexit 1\noops"
