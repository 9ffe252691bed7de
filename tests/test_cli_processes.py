"""The command in real subprocesses: a pseudo-terminal session, and kill -9 + resume."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from swarm_star.testing.scripted import ScriptedModel

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPENROUTER_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _read_until(fd: int, needle: str, timeout: float = 20.0) -> str:
    buf = ""
    deadline = time.time() + timeout
    while needle not in buf and time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                buf += os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
    return buf


def test_interactive_question_in_a_pty(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"party": "How many guests?"}))
    pid, fd = pty.fork()
    if pid == 0:  # child: the real command on a terminal
        os.execve(
            sys.executable,
            [
                sys.executable,
                "-m",
                "swarm_star",
                "--space",
                str(tmp_path),
                "run",
                "organise a party",
                "--base-url",
                server.base_url,
            ],
            _env(),
        )
    seen = _read_until(fd, "How many guests?")
    assert "How many guests?" in seen, seen
    os.write(fd, b"twelve people\n")
    rest = _read_until(fd, "Final report")
    rest += _read_until(fd, "\n", timeout=2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, rest
    assert "Final report" in rest and "The user answered: twelve people" in seen + rest


def _swarm_star(space: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess, against the swarm space ``space``."""
    return subprocess.run(
        [sys.executable, "-m", "swarm_star", "--space", str(space), *args],
        capture_output=True,
        text=True,
        env=_env(),
        check=check,
    )


def _tree_signature(space: Path, swarm_id: str) -> dict[str, tuple[str, str, str, str | None]]:
    out = _swarm_star(space, "tree", swarm_id, "--json", check=True).stdout
    return {n["id"]: (n["action_id"], n["directive"], n["status"], n["report"]) for n in json.loads(out)["nodes"]}


def _history(space: Path, swarm_id: str) -> list[dict]:
    out = _swarm_star(space, "history", swarm_id, "--json", check=True).stdout
    return json.loads(out)


def test_kill_nine_and_resume_matches_clean_run(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    script = ScriptedModel(
        plans={"city": [f"district {i}" for i in range(8)], "district 0": ["north", "south"]},
        routes={"district 0": "planning/delegate"},
    )
    server = model_server(script, latency=0.03)
    base = ["--base-url", server.base_url, "--no-input", "--json"]

    clean_space = tmp_path / "clean"
    _swarm_star(clean_space, "run", "plan a city", "--swarm-id", "c", *base, check=True)
    clean_calls = server.requests
    clean = _tree_signature(clean_space, "c")
    assert len(clean) >= 20

    kills = [0.6, 0.8, 1.0, 1.2, 1.5]
    for i, delay in enumerate(kills):
        space = tmp_path / f"k{i}"
        before = server.requests
        in_flight_at_kills = 0
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "swarm_star",
                "--space",
                str(space),
                "run",
                "plan a city",
                "--swarm-id",
                "k",
                *base,
            ],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Requests the server saw that the killed process never durably recorded
        # were in flight at the kill; only those may be paid again.
        recorded = 0
        if (space / "k" / "swarm_default_kv_store.db").exists():
            try:
                recorded = sum(1 for f in _history(space, "k") if f["op"]["kind"] == "llm_call")
            except subprocess.CalledProcessError:
                recorded = 0  # killed before the swarm record existed
        time.sleep(0.2)  # let the server finish answering the dead client
        in_flight_at_kills += server.requests - before - recorded
        for _ in range(3):  # resume until done (a resume may itself be fast enough to finish)
            if not (space / "k").exists():  # killed before the swarm was even created
                _swarm_star(space, "run", "plan a city", "--swarm-id", "k", *base)
            done = _swarm_star(space, "resume", "k", "--no-input", "--json")
            if done.returncode == 0:
                break
        assert done.returncode == 0, done.stderr
        assert _tree_signature(space, "k") == clean, f"kill at {delay}s"
        frames = _history(space, "k")
        assert [f["frame"] for f in frames] == list(range(len(frames)))
        keys = [(f["op"]["node_id"], f["op"]["call_key"]) for f in frames if f["op"]["kind"] == "llm_call"]
        assert len(keys) == len(set(keys)) == clean_calls
        assert server.requests - before <= clean_calls + in_flight_at_kills
        assert in_flight_at_kills <= 64  # bounded by what can be in flight, not the whole run
