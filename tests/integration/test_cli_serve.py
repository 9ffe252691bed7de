"""``swarm-star serve`` as a real process: it starts, says where, answers, and guards non-loopback binds."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli import main
from swarm_star.testing.scripted import ScriptedModel


def _serve(space: Path, *flags: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm_star", "--space", str(space), "serve", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
    if match is None:
        proc.kill()
        raise AssertionError(line + proc.stdout.read())
    return proc, match.group(1)


def test_serve_starts_on_loopback_and_serves_the_space(tmp_path: Path) -> None:
    Swarm.create("a thing", space=tmp_path, swarm_id="s1").close()
    no_env_endpoint = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "OPENROUTER_API_KEY": ""}
    proc, base = _serve(tmp_path, "--base-url", "http://127.0.0.1:9/v1", env=no_env_endpoint)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the API line
        assert proc.stdout.readline() == "  model endpoints: http://127.0.0.1:9/v1\n"
        rows = httpx.get(base + "/api/swarms", timeout=10).json()
        assert [r["swarm_id"] for r in rows] == ["s1"]
        page = httpx.get(base + "/", timeout=10)
        assert page.status_code == 200 and "<title>Swarm Star</title>" in page.text
        assert httpx.get(base + "/static/app.js", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _serve_a_busy_swarm(space: Path, model_server, swarm_id: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    """``serve`` running one swarm mid-way (two model calls made, more to come)."""
    server = model_server(ScriptedModel(plans={"many": [f"part {i}" for i in range(8)]}), latency=0.3)
    proc, base = _serve(space, "--base-url", server.base_url, env={"OPENAI_API_KEY": "sk-test-serve"})
    try:
        body = {"directive": "many parts", "models": {"base_url": server.base_url}, "swarm_id": swarm_id}
        assert httpx.post(base + "/api/swarms", json=body, timeout=10).status_code == 201
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/api/swarms/{swarm_id}", timeout=10).json()["usage"]["calls"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    except BaseException:
        proc.kill()
        proc.wait(timeout=30)
        raise
    return proc


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
def test_terminating_the_server_stops_its_swarms_resumably(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    proc = _serve_a_busy_swarm(tmp_path, model_server, "long")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)  # uvicorn shuts down gracefully, then re-raises the signal
    with Swarm.open("long", space=tmp_path) as swarm:
        state = swarm.tree()
        assert state.status == "stopped" and state.stop_reason == "interrupted"
        assert not state.nodes["0"].status.done
        assert swarm.run_sync(RunOptions(env={})).status == "finished"  # nothing lost: it resumes to the end


def test_serve_with_a_token_from_the_environment(tmp_path: Path) -> None:
    proc, base = _serve(tmp_path, env={"SWARM_STAR_TOKEN": "env-token-1"})
    try:
        assert httpx.get(base + "/api/swarms", timeout=10).status_code == 401
        ok = httpx.get(base + "/api/swarms", headers={"authorization": "Bearer env-token-1"}, timeout=10)
        assert ok.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_refuses_a_public_bind_without_a_token(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SWARM_STAR_TOKEN", raising=False)
    err = io.StringIO()
    assert main(["--space", str(tmp_path), "serve", "--host", "0.0.0.0"], out=io.StringIO(), err=err) == 2
    assert err.getvalue() == (
        "swarm-star: error: binding to 0.0.0.0 exposes the server beyond this machine: "
        "give a token with --token or $SWARM_STAR_TOKEN\n"
    )
    err = io.StringIO()
    assert main(["--space", str(tmp_path), "serve", "--port", "70000"], out=io.StringIO(), err=err) == 2
    assert "--port must be 0-65535" in err.getvalue()
    # the operator's model endpoints are checked before the server starts (issue 19, item 2)
    monkeypatch.delenv("UNSET_KEY_19", raising=False)
    for flags, message in (
        (["--api-key-env", "UNSET_KEY_19"], "--api-key-env UNSET_KEY_19 needs --base-url"),
        (["--base-url", "http://127.0.0.1:8000/v1", "--api-key-env", "UNSET_KEY_19"], "is not set"),
        (["--base-url", "localhost:8000"], "expected an http(s) URL"),
    ):
        err = io.StringIO()
        assert main(["--space", str(tmp_path), "serve", *flags], out=io.StringIO(), err=err) == 2, flags
        assert err.getvalue().startswith("swarm-star: error: ") and message in err.getvalue(), err.getvalue()


@pytest.mark.slow  # a real server, CLI reader processes and kill -9: seconds
def test_cli_reads_while_serve_runs_lose_no_committed_frame(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    """Issue 19, item 1: the web view's reads open more handles in the server process while
    `list` and `tree` read from terminals; after kill -9 of the server every frame the
    server reported committed is still there and the database is intact."""
    import sqlite3

    server = model_server(ScriptedModel(plans={"many": [f"part {i}" for i in range(12)]}), latency=0.05)
    proc, base = _serve(tmp_path, "--base-url", server.base_url, env={"OPENAI_API_KEY": "sk-test-serve"})
    seen = 0
    try:
        body = {"directive": "many parts", "models": {"base_url": server.base_url}, "swarm_id": "busy"}
        assert httpx.post(base + "/api/swarms", json=body, timeout=10).status_code == 201
        deadline = time.monotonic() + 60
        readers = 0
        while seen < 60 and time.monotonic() < deadline:
            got = httpx.get(base + "/api/swarms/busy", timeout=10).json()  # a second handle in the server
            seen = max(seen, int(got["frames"]))
            for command in (["list"], ["tree", "busy"]):
                cli = subprocess.run(
                    [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), *command],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert cli.returncode == 0, cli.stderr
                readers += 1
            if got["status"] == "finished":
                break
        assert seen >= 30 and readers >= 4
        got = httpx.get(base + "/api/swarms/busy", timeout=10).json()
        seen = max(seen, int(got["frames"]))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    db = tmp_path / "busy" / "swarm_default_kv_store.db"
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with Swarm.open("busy", space=tmp_path) as swarm:
        frames = sum(1 for _ in swarm.history())
    assert frames >= seen, f"the server had committed {seen} frames, {frames} survived kill -9"


@pytest.mark.slow  # seconds: a real server process and a swarm mid-run
def test_ctrl_c_on_serve_names_the_stopped_swarms_and_how_to_resume(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    proc = _serve_a_busy_swarm(tmp_path, model_server, "busy")
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, _ = proc.communicate(timeout=30)
    assert "stopped 1 running swarm(s), state saved: busy" in out, out
    assert f"--space {tmp_path} resume busy" in out, out


def test_serve_without_the_web_stack_says_what_to_install_in_one_line(tmp_path: Path) -> None:
    # an install that lacks sse-starlette (the stack is a core dependency; an old or broken install)
    code = (
        "import sys; sys.modules['sse_starlette'] = None\n"
        "from swarm_star.cli import main\n"
        f"sys.exit(main(['--space', {str(tmp_path)!r}, 'serve', '--port', '0']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "serve needs sse_starlette" in done.stderr and "pip install" in done.stderr
