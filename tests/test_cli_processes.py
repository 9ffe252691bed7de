"""The command in real subprocesses: a pseudo-terminal session (kill -9 + resume is in test_stress)."""

from __future__ import annotations

import json
import os
import pty
import select
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
