"""Tools through the real command: approvals from the CLI, kill -9 mid tool call, ``spaces --mcp``.

Real processes (``python -m swarm_star``), real MCP servers (``mcp-server-git``,
``server-filesystem``, ``server-everything``), the scripted model on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import git
import pytest

from swarm_star.api import Swarm
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.mcp_servers import server_command, write_config
from tests.helpers.paths import ROOT
from tests.integration.test_tools_swarm import _processes_with


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPENROUTER_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli(space: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swarm_star", "--space", str(space), *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _fs_config(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "files"
    folder.mkdir()
    config = write_config(
        tmp_path / "mcp.json", {"filesystem": {"command": server_command("filesystem"), "args": [str(folder)]}}
    )
    return config, folder / "notes.txt"


def _notes_model(target: Path) -> ScriptedModel:
    return ScriptedModel(
        routes={"notes": "tools/filesystem/write_file"},
        tool_calls={"notes": [{"path": str(target), "content": "written after approval"}]},
    )


def test_approve_from_the_cli_then_resume(tmp_path: Path, model_server: Any) -> None:
    config, target = _fs_config(tmp_path)
    server = model_server(_notes_model(target))
    url = ["--base-url", server.base_url]
    first = _cli(tmp_path, "run", "write the notes file", "--mcp", str(config), "--swarm-id", "s1", "--no-input", *url)
    assert first.returncode == 3, first.stdout + first.stderr  # questions pending: the approval
    assert "Approve the tool call tools/filesystem/write_file" in first.stdout
    assert not target.exists()
    pending = json.loads(_cli(tmp_path, "questions", "s1", "--json").stdout)
    (question,) = pending
    answered = _cli(tmp_path, "answer", "s1", question["id"], "yes")
    assert answered.returncode == 0, answered.stderr
    done = _cli(tmp_path, "resume", "s1", "--no-input", *url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert target.read_text() == "written after approval"


@pytest.mark.slow  # seconds each (a timeout or a kill waited out): .ci/run runs it
def test_deny_from_the_cli_and_a_deny_flag(tmp_path: Path, model_server: Any) -> None:
    config, target = _fs_config(tmp_path)
    server = model_server(_notes_model(target))
    url = ["--base-url", server.base_url]
    first = _cli(tmp_path, "run", "write the notes file", "--mcp", str(config), "--swarm-id", "s2", "--no-input", *url)
    assert first.returncode == 3, first.stdout + first.stderr
    (question,) = json.loads(_cli(tmp_path, "questions", "s2", "--json").stdout)
    assert _cli(tmp_path, "answer", "s2", question["id"], "no").returncode == 0
    done = _cli(tmp_path, "resume", "s2", "--no-input", "--json", *url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not target.exists()
    denied = _cli(
        tmp_path,
        "run",
        "write the notes file",
        "--mcp",
        str(config),
        "--approve",
        "tools/filesystem/*=deny",
        "--no-input",
        "--json",
        *url,
    )
    assert denied.returncode == 0, denied.stdout + denied.stderr  # no question: the rule denied it
    assert not target.exists()
    bad = _cli(tmp_path, "run", "x", "--approve", "tools/*=maybe", *url)
    assert bad.returncode == 2 and "PATTERN=allow|ask|deny" in bad.stderr


@pytest.mark.slow  # seconds each (a timeout or a kill waited out): .ci/run runs it
def test_kill_9_mid_tool_call_then_resume_repeats_no_committed_call(tmp_path: Path, model_server: Any) -> None:
    """Two parts: one commits in a git repository (mcp-server-git), one runs a long operation
    (server-everything). kill -9 of the orchestrator while the long call is in flight: its
    servers die with it (no orphans); resume finishes and the commit is not made again."""
    repo_dir = tmp_path / "repo"
    repo = git.Repo.init(repo_dir)
    (repo_dir / "a.txt").write_text("first\n")
    repo.index.add(["a.txt"])
    repo.index.commit("initial")
    (repo_dir / "a.txt").write_text("second\n")
    repo.index.add(["a.txt"])  # staged: git_commit makes exactly one commit of it
    marker = f"SWARM_STAR_TEST_MARK=kill-{os.getpid()}-{tmp_path.name}"
    name, value = marker.split("=")
    config = write_config(
        tmp_path / "mcp.json",
        {
            "git": {"command": server_command("git"), "args": ["--repository", str(repo_dir)], "env": {name: value}},
            "everything": {"command": server_command("everything"), "env": {name: value}},
        },
    )
    model = ScriptedModel(
        plans={"two jobs": ["commit the staged change", "run the long operation"]},
        routes={"commit": "tools/git/git_commit", "long": "tools/everything/trigger-long-running-operation"},
        tool_calls={
            "commit": [{"repo_path": str(repo_dir), "message": "from the swarm"}],
            "long": [{"duration": 8, "steps": 2}],
        },
    )
    server = model_server(model)
    args = ["run", "two jobs", "--mcp", str(config), "--approve", "tools/*=allow", "--swarm-id", "k1", "--no-input"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), *args, "--base-url", server.base_url],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    committed: list[Any] = []
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                with Swarm.open("k1", space=tmp_path) as swarm:
                    committed = [e.op for e in swarm.history() if e.op.kind == "tool_call"]
            except Exception:
                continue
            if any(c.tool == "tools/git/git_commit" for c in committed):
                break
        assert any(c.tool == "tools/git/git_commit" for c in committed), "the commit call was never committed"
        assert not any(c.tool.startswith("tools/everything/") for c in committed)  # the long call is in flight
        assert _processes_with(marker), "the servers should be running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    gone = time.monotonic() + 2  # at once: the kernel kills them (PDEATHSIG), no waiting for EOF
    while _processes_with(marker) and time.monotonic() < gone:
        time.sleep(0.1)
    assert _processes_with(marker) == []  # no orphan server after kill -9
    commits = len(list(repo.iter_commits()))
    assert commits == 2

    resumed = _cli(tmp_path, "resume", "k1", "--no-input", "--json", "--base-url", server.base_url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(list(repo.iter_commits())) == 2  # the committed call was not made again
    with Swarm.open("k1", space=tmp_path) as swarm:
        calls = [e.op for e in swarm.history() if e.op.kind == "tool_call"]
    assert [c.tool for c in calls].count("tools/git/git_commit") == 1
    assert [c.tool for c in calls].count("tools/everything/trigger-long-running-operation") == 1


def test_spaces_action_lists_the_servers_tools(tmp_path: Path) -> None:
    config, _ = _fs_config(tmp_path)
    time_server = {"command": server_command("time")}
    data = json.loads(config.read_text())
    data["mcpServers"]["time"] = time_server
    config.write_text(json.dumps(data))
    shown = _cli(tmp_path, "spaces", "action", "--mcp", str(config))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "tools/" in out and "filesystem/" in out and "get_current_time" in out and "write_file" in out
    assert "read*/" in out  # 14 tools: grouped so no menu has more than 12
    broken = _cli(tmp_path, "spaces", "action", "--mcp", str(tmp_path / "missing.json"))
    assert broken.returncode == 2 and "cannot read the MCP servers file" in broken.stderr
