"""What the swarm writes runs contained: probes a scripted model writes, run by the real command.

Each probe is the ``code`` of a ``write_python`` reply; with ``--allow-exec`` the
coding loop runs it (``python probe.py``) in the swarm's sandbox. The same probe
with ``--sandbox none`` is the control: there each containment check fails, which
shows the checks can fail. Marker ``sandbox``: needs a working bubblewrap; it
skips without one, except under CI=true, where a skip is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.engine.journal import INTERRUPTED
from swarm_star.errors import SandboxUnavailable
from swarm_star.models import CodeSettings, SwarmSettings, VerifySettings
from swarm_star.sandbox import check_sandbox
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for
from tests.helpers.paths import ROOT

SECRET = "sk-orchestrator-secret-" + uuid.uuid4().hex[:12]


def _bwrap_works() -> str | None:
    try:
        check_sandbox("bwrap")
    except SandboxUnavailable as exc:
        return str(exc)
    return None


@pytest.fixture(params=["bwrap", "none"])
def sandbox(request: pytest.FixtureRequest) -> str:
    """The sandbox under test, and its control (``none``: the same probe, unsandboxed)."""
    if request.param == "bwrap":
        why = _bwrap_works()
        if why is not None:
            pytest.skip(why)
    return str(request.param)


pytestmark = pytest.mark.sandbox


class Prober(ScriptedModel):
    """The first change is the probe; when it fails, the fix is another file (a later commit)."""

    probe: str = ""

    def _pythonfile(self, request, directive, schema):  # type: ignore[no-untyped-def]
        if "The tests fail:" in str(request["messages"][-1]["content"]):
            return {"path": "later.py", "code": "print('later')\n", "commit_message": "Add later"}
        return {"path": "probe.py", "code": self.probe, "commit_message": "Add probe"}


def _prober(probe: str) -> Prober:
    script = Prober(plans={"probe": ["write the probe"]}, routes={"": "code/write_python"})
    script.probe = probe
    return script


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPENROUTER_"))}
    env.update(PYTHONPATH=str(ROOT), OPENAI_API_KEY=SECRET)  # the orchestrator holds a key
    env.update(extra)
    return env


def _cli(space: Path, server: Any, sandbox: str, *args: str) -> subprocess.Popen[str]:
    """``swarm-star run 'probe the sandbox' --allow-exec`` as a real process (its own environment)."""
    argv = ["--space", str(space), "run", "probe the sandbox"]
    argv += ["--base-url", server.base_url, "--allow-exec", "--yes", "--sandbox", sandbox, "--json", *args]
    return _command(argv)


def _command(argv: list[str]) -> subprocess.Popen[str]:
    """``python -m swarm_star ARGV`` with Ctrl-C at its default (a suite started in the
    background ignores SIGINT, and an ignored signal stays ignored across exec)."""
    start = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
    full = [sys.executable, "-c", start, sys.executable, "-m", "swarm_star", *argv]
    return subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def _swarm_id(space: Path) -> str:
    [found] = [p.name for p in space.iterdir() if p.is_dir()]
    return found


def _execs(space: Path, swarm_id: str) -> list[Any]:
    """The journaled exec steps (``run tests`` call records), in order."""
    with Swarm.open(swarm_id, space=space) as swarm:
        return [e.op for e in swarm.history() if e.op.kind == "llm_call" and e.op.purpose == "run tests"]


def _probe_result(space: Path, swarm_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The probe's JSON line from the journaled output, and the whole journaled result."""
    [call] = _execs(space, swarm_id)
    result = json.loads(call.response)
    line = next(x for x in result["output"].splitlines() if x.startswith("{"))
    return json.loads(line), result


def _pids_running(marker: str, within: Path | None = None) -> list[int]:
    """Processes whose command line holds ``marker`` and, given ``within``, whose working
    directory lies under it: a test's own sandboxed commands, not another suite's running at once."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if marker in cmdline and (within is None or Path(os.readlink(entry / "cwd")).is_relative_to(within)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP listener on the loopback, accepting: the probe must not reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


PROBE = r"""
import json, os, socket, subprocess
found = {}
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3).close()
    found["connected"] = True
except OSError as exc:
    found["connected"] = False
written = []
for path in OUTSIDE:
    try:
        with open(path, "w") as handle:
            handle.write("escaped")
        written.append(path)
    except OSError as exc:
        pass
found["written"] = written
secret_seen = []
if SECRET in json.dumps(dict(os.environ)):
    secret_seen.append("own environment")
pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
for pid in pids:
    for part in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as handle:
                if SECRET.encode() in handle.read():
                    secret_seen.append(f"/proc/{pid}/{part}")
        except OSError as exc:
            pass
found["secret_seen"] = secret_seen
found["pids"] = pids
found["ppid"] = os.getppid()
subprocess.Popen(["sleep", "BACKGROUND"])
subprocess.Popen(["setsid", "sleep", "DETACHED"])
print(json.dumps(found), flush=True)
"""


def test_the_probe_is_contained(tmp_path: Path, model_server: Any, listener: int, sandbox: str) -> None:
    """No network, no writes outside the workspace, no view of the orchestrator's environment or
    PID, no child left behind. The control (``--sandbox none``) breaks every one of these."""
    space = tmp_path / "space"
    outside = [str(tmp_path / "escaped.txt"), str(space / "escaped.txt")]
    background, detached = f"{uuid.uuid4().int % 10**6 + 10**6}", f"{uuid.uuid4().int % 10**6 + 2 * 10**6}"
    probe = (
        PROBE.replace("PORT", str(listener))
        .replace("OUTSIDE", repr(outside))
        .replace("SECRET", f"({SECRET[:12]!r} + {SECRET[12:]!r})")  # in two: a key in model text is redacted
        .replace("BACKGROUND", background)
        .replace("DETACHED", detached)
    )
    server = model_server(_prober(probe))
    cli = _cli(space, server, sandbox)
    try:
        out, err = cli.communicate(timeout=120)
        assert cli.returncode == 0, out + err
        found, result = _probe_result(space, _swarm_id(space))
        time.sleep(0.3)
        left = {name: _pids_running(f"sleep {marker}") for name, marker in (("bg", background), ("setsid", detached))}
        contained = sandbox == "bwrap"
        assert result["sandbox"] == sandbox  # the journal says which sandbox ran it
        assert found["connected"] is not contained, found
        assert [p for p in outside if Path(p).exists()] == ([] if contained else outside), found
        assert (found["secret_seen"] == []) is contained, found
        assert (cli.pid in found["pids"] or found["ppid"] == cli.pid) is not contained, found
        assert left["bg"] == []  # the process group goes in both (as before: it was killed only on timeout)
        assert (left["setsid"] == []) is contained, left
        with Swarm.open(_swarm_id(space), space=space) as swarm:
            writer = next(n for n in swarm.tree().nodes.values() if n.action_id == "code.write_python")
        assert f"exit 0 (sandbox: {sandbox})" in writer.report  # and so does the node's report
    finally:
        cli.kill()
        for marker in (background, detached):
            for pid in _pids_running(f"sleep {marker}"):
                os.kill(pid, signal.SIGKILL)


FLOOD = r"""
import sys
block = b"x" * (1 << 20)
for _ in range(1024):
    sys.stdout.buffer.write(block)
"""


def _peak_disk_growth(path: Path, stop: threading.Event, out: list[int]) -> None:
    start = shutil.disk_usage(path).used
    peak = 0
    while not stop.is_set():
        peak = max(peak, shutil.disk_usage(path).used - start)
        time.sleep(0.02)
    out.append(peak)


async def test_an_output_flood_leaves_disk_use_bounded(
    tmp_path: Path, model_server: Any, sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1 GB written to stdout: read as it comes, the tail kept, the command killed past the
    output limit; nothing grows on disk (before: a temporary file took all of it)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    settings = SwarmSettings(
        allow_exec=True, code=CodeSettings(sandbox=sandbox, fix_rounds=0), verify=VerifySettings(actions=[])
    )
    swarm = Swarm.create("probe the flood", space=tmp_path / "space", settings=settings)
    server = model_server(_prober(FLOOD))
    stop, peak = threading.Event(), []  # type: ignore[var-annotated]
    watcher = threading.Thread(target=_peak_disk_growth, args=(scratch, stop, peak))
    watcher.start()
    llm = client_for(server)
    started = time.monotonic()
    try:
        outcome = await swarm.run(RunOptions(llm=llm, yes=True))
    finally:
        stop.set()
        watcher.join()
        await llm.aclose()
    assert outcome.status in ("finished", "failed"), outcome.reason
    assert time.monotonic() - started < 60
    calls = _execs(tmp_path / "space", swarm.id)
    assert calls  # one per round the manager tried
    for call in calls:
        result = json.loads(call.response)
        assert result["sandbox"] == sandbox and result["exit_code"] is None
        assert "[killed: more than 32 MiB of output]" in result["output"]
        assert len(result["output"]) <= 4000 + 100
    assert peak[0] < 64 * 1024 * 1024, f"disk use grew by {peak[0] / 1e6:.0f} MB"


SLEEPER = "import time\ntime.sleep(100)\n"


def _wait(proc: subprocess.Popen[str], seconds: float) -> float:
    started = time.monotonic()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the run did not end within {seconds:g} s")
    return time.monotonic() - started


@pytest.mark.slow  # seconds each (a timeout or a kill waited out): .ci/run runs it
def test_max_time_stops_a_running_command_and_resume_runs_it_again(
    tmp_path: Path, model_server: Any, sandbox: str
) -> None:
    """``--max-time 5`` during a 100 s sleep ends the run in seconds (before: 101 s), with the
    command journaled as interrupted; ``resume`` runs it again, knowingly."""
    space = tmp_path / "space"
    server = model_server(_prober(SLEEPER))
    cli = _cli(space, server, sandbox, "--max-time", "5")
    took = _wait(cli, 60)
    # the bound: far below the 100 s sleep; start-up on a loaded 2-core machine takes seconds of it
    assert took < 30, f"--max-time 5 ended the run after {took:.1f} s"
    assert cli.returncode == 4, cli.stderr.read() if cli.stderr else ""
    swarm_id = _swarm_id(space)
    [first] = _execs(space, swarm_id)
    assert first.error == INTERRUPTED
    assert not _pids_running("time.sleep(100)", space) and not _pids_running("probe.py", space)

    again = _command(["--space", str(space), "resume", swarm_id, "--max-time", "4", "--json", "--yes"])
    assert _wait(again, 60) < 30 and again.returncode == 4
    runs = _execs(space, swarm_id)
    assert len(runs) == 2 and runs[1].call_key == first.call_key and runs[1].error == INTERRUPTED


def test_ctrl_c_stops_a_running_command(tmp_path: Path, model_server: Any, sandbox: str) -> None:
    """Ctrl-C while the command sleeps ends the run in a second or two (before: 57 s; 10 s allowed for load)."""
    space = tmp_path / "space"
    server = model_server(_prober(SLEEPER))
    cli = _cli(space, server, sandbox)
    deadline = time.monotonic() + 90  # the probe comes after a plan and a coding step: slow on a loaded machine
    while not _pids_running("probe.py", space) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pids_running("probe.py", space), "the probe never started"
    time.sleep(0.5)
    cli.send_signal(signal.SIGINT)
    took = _wait(cli, 30)
    assert took < 10, f"Ctrl-C ended the run after {took:.1f} s"
    assert cli.returncode == 130
    [run] = _execs(space, _swarm_id(space))
    assert run.error == INTERRUPTED
    assert not _pids_running("probe.py", space)


HOOK_PROBE = r"""
import os, pathlib
marker = MARKER
hooks = pathlib.Path(".git/hooks")
planted = []
try:
    hook = hooks / "post-commit"
    hook.write_text(f"#!/bin/sh\necho ran > {marker}\n")
    hook.chmod(0o755)
    planted.append("post-commit")
except OSError as exc:
    pass
try:
    with open(".git/config", "a") as config:
        config.write(f"[core]\n\tfsmonitor = echo ran > {marker}\n")
    planted.append("fsmonitor")
except OSError as exc:
    pass
print("planted", planted)
raise SystemExit(1)  # a failing probe: the fix round commits again, after it ran
"""


def test_a_planted_hook_never_runs(tmp_path: Path, model_server: Any, sandbox: str) -> None:
    """The probe writes a post-commit hook and an fsmonitor command into the workspace's .git;
    the swarm's later commits never run them (before: the hook ran on every later commit).
    In the sandbox the write itself fails: ``.git`` is read-only there."""
    marker = tmp_path / "hook-ran"
    space = tmp_path / "space"
    script = _prober(HOOK_PROBE.replace("MARKER", repr(str(marker))))
    server = model_server(script)
    cli = _cli(space, server, sandbox)
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, out + err
    swarm_id = _swarm_id(space)
    workspace = space / swarm_id / "workspace"
    log = subprocess.run(["git", "-C", str(workspace), "log", "--format=%s"], capture_output=True, text=True)
    assert log.stdout.split() == ["Add", "later", "Add", "probe"]  # a commit after the probe ran
    run = _execs(space, swarm_id)[0]
    planted = (workspace / ".git" / "hooks" / "post-commit").exists()
    assert planted is (sandbox == "none"), json.loads(run.response)["output"]
    assert not marker.exists()


def test_without_bwrap_allow_exec_refuses_unless_sandbox_none(tmp_path: Path, model_server: Any) -> None:
    """Where no sandbox can be had, ``--allow-exec`` says so in one line and creates nothing;
    ``--sandbox none``, given by name, runs without one (and the report says so)."""
    bin_dir = tmp_path / "bin"  # a PATH with git but no bwrap
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    space = tmp_path / "space"
    server = model_server(_prober("print('ran')\n"))
    argv = [sys.executable, "-m", "swarm_star", "--space", str(space), "run", "probe the sandbox"]
    argv += ["--base-url", server.base_url, "--allow-exec", "--yes", "--json"]
    env = _env(PATH=str(bin_dir))
    refused = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "bubblewrap (bwrap) is not installed" in line and "--sandbox none" in line
    assert not space.exists() or not any(space.iterdir())
    ran = subprocess.run([*argv, "--sandbox", "none"], capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    with Swarm.open(_swarm_id(space), space=space) as swarm:
        writer = next(n for n in swarm.tree().nodes.values() if n.action_id == "code.write_python")
    assert "exit 0 (sandbox: none)" in writer.report
