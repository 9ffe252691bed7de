"""Start a command in the sandbox, stream its output, and end it with everything it started.

Why asyncio subprocesses and not a thread: a command run in a thread cannot
be interrupted (``--max-time`` and Ctrl-C waited for it) and the interpreter
waits for the thread at exit. Here the command is a child process the event
loop watches: when the activation is cancelled (wall time, Ctrl-C, a lost
lease) the ``finally`` kills it at once.

Everything it started ends with it:

- ``bwrap``: the command is PID 2 of a PID namespace whose PID 1 (bwrap's
  reaper) exits when the command exits, and dies with bwrap
  (``--die-with-parent``); when PID 1 of a namespace dies the kernel kills
  every process in it, ``setsid`` and daemonized ones included. Killing the
  outer bwrap is killing the tree.
- ``none``: the command leads a new session; at the end its process group is
  killed. A child that called ``setsid`` escapes that: one of the reasons
  ``none`` is refused unless asked for by name.

Output is read from a pipe as it comes, in chunks: only the tail that is kept
(``output_cap`` characters) is held in memory, nothing goes to disk, and a
command that writes more than ``output_limit`` bytes is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from swarm_star.errors import SandboxUnavailable
from swarm_star.sandbox.bwrap import SandboxSpec, bwrap_argv, find_bwrap, unusable
from swarm_star.sandbox.limits import ExecLimits, launcher_argv

__all__ = ["SANDBOXES", "ExecResult", "SandboxProcess", "check_sandbox", "run_sandboxed", "start_sandboxed"]

SANDBOXES = ("bwrap", "none")
CHUNK = 64 * 1024
KILL_WAIT = 5.0  # seconds to wait for a killed process to be reaped
POLL = 0.02  # seconds between looks at whether a process exited


@dataclass(frozen=True)
class ExecResult:
    """How a command ended: exit code (None: killed), the tail of its output, which sandbox ran it."""

    argv: list[str]
    exit_code: int | None
    output: str
    sandbox: str
    timed_out: bool = False
    output_exceeded: bool = False


def _outer_env() -> dict[str, str]:
    """The environment bwrap itself starts with: nothing but a PATH (its PID 1 is readable inside)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def _inner_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The command's whole environment inside the sandbox: no variable of the orchestrator's."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    env.update(extra)
    return env


def _plain_env(extra: Mapping[str, str]) -> dict[str, str]:
    """``--sandbox none``: a filtered copy of this process's environment (no keys, but no walls)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    env.update(extra)
    return env


def check_sandbox(name: str) -> None:
    """SandboxUnavailable (one line, what to do) unless sandbox ``name`` can run commands here."""
    if name not in SANDBOXES:
        raise SandboxUnavailable(f"unknown sandbox {name!r}: use one of {', '.join(SANDBOXES)}")
    if name == "none":
        return
    why = unusable(find_bwrap(), _outer_env())
    if why is not None:
        raise SandboxUnavailable(
            f"--allow-exec needs a sandbox and none is usable here: {why}; "
            "--sandbox none runs swarm-written code without one, at your own risk"
        )


@dataclass
class SandboxProcess:
    """A started command: the process, the sandbox it runs in; :meth:`kill` ends its whole tree."""

    proc: asyncio.subprocess.Process
    sandbox: str
    argv: list[str] = field(default_factory=list)

    def kill(self) -> None:
        """Kill the command and everything it started (see the module docstring); idempotent."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    async def exited(self) -> int:
        """The exit code, once the process exited. Not ``proc.wait()``: on Python 3.11 that
        also waits for every copy of its pipes to close, which an escaped child may hold."""
        while self.proc.returncode is None:
            await asyncio.sleep(POLL)
        return self.proc.returncode

    async def reap(self) -> int | None:
        """Kill, then wait (bounded) for the process to be reaped; its exit code if it was."""
        self.kill()
        try:
            return await asyncio.wait_for(self.exited(), KILL_WAIT)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Drop the pipes (a ``none`` command's escaped child may still hold their other end)."""
        transport = getattr(self.proc, "_transport", None)
        if transport is not None:
            transport.close()


async def start_sandboxed(
    argv: Sequence[str],
    *,
    sandbox: str,
    workspace: Path,
    limits: ExecLimits,
    readable: Sequence[Path] = (),
    hidden: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    merge_stderr: bool = True,
    stdin: bool = False,
) -> SandboxProcess:
    """Start ``argv`` in ``workspace`` inside ``sandbox`` (``bwrap`` or ``none``) under ``limits``.

    Output goes to ``proc.stdout`` (stderr too when ``merge_stderr``); with
    ``stdin`` the caller may write to ``proc.stdin``. SandboxUnavailable if the
    sandbox cannot be had (checked again here: a machine can change under a swarm).
    """
    args = [str(a) for a in argv]
    if not args:
        raise SandboxUnavailable("no command to run")
    check_sandbox(sandbox)
    launched = launcher_argv(sys.executable, limits, args)
    extra = dict(env or {})
    if sandbox == "bwrap":
        bwrap = find_bwrap()
        assert bwrap is not None  # check_sandbox found it
        spec = SandboxSpec(workspace=workspace, readable=readable, hidden=hidden, env=_inner_env(extra))
        full, run_env, cwd = bwrap_argv(bwrap, spec, launched), _outer_env(), "/"
    else:
        full, run_env, cwd = launched, _plain_env(extra), str(workspace)
    proc = await asyncio.create_subprocess_exec(
        *full,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
        env=run_env,
        cwd=cwd,
        start_new_session=True,
        limit=1024 * 1024,  # the longest line a reader may ask for (the action protocol's lines)
    )
    return SandboxProcess(proc, sandbox, args)


class OutputTail:
    """The last ``keep`` characters of a stream, and how many bytes went by."""

    def __init__(self, keep: int) -> None:
        self.keep_bytes = keep * 4  # a character is at most 4 bytes of UTF-8
        self.buffer = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.buffer += chunk
        if len(self.buffer) > 2 * self.keep_bytes:
            del self.buffer[: len(self.buffer) - self.keep_bytes]

    def text(self, keep: int) -> str:
        return bytes(self.buffer[-self.keep_bytes :]).decode("utf-8", errors="replace")[-keep:]


async def drain(stream: asyncio.StreamReader | None, tail: OutputTail, limit: int) -> bool:
    """Read ``stream`` to its end into ``tail``; True as soon as more than ``limit`` bytes came."""
    if stream is None:
        return False
    while chunk := await stream.read(CHUNK):
        tail.add(chunk)
        if tail.total > limit:
            return True
    return False


async def run_sandboxed(
    argv: Sequence[str],
    *,
    sandbox: str,
    workspace: Path,
    limits: ExecLimits,
    readable: Sequence[Path] = (),
    hidden: Sequence[Path] = (),
) -> ExecResult:
    """Run ``argv`` to its end (or its limit) and return how it ended.

    Cancelling the awaiting task kills the command's whole tree before the
    cancellation goes on: a hard stop takes as long as a kill.
    """
    started = await start_sandboxed(
        argv, sandbox=sandbox, workspace=workspace, limits=limits, readable=readable, hidden=hidden
    )
    tail = OutputTail(limits.output_cap)
    reading = asyncio.create_task(drain(started.proc.stdout, tail, limits.output_limit))
    exiting = asyncio.create_task(started.exited())
    timed_out = exceeded = False
    code: int | None = None
    try:
        done, _ = await asyncio.wait({reading, exiting}, timeout=limits.timeout, return_when=asyncio.FIRST_COMPLETED)
        if reading in done and reading.result():
            exceeded = True
        elif not done:
            timed_out = True
        elif exiting not in done:  # the output ended first: wait for the exit, within the time left
            done, _ = await asyncio.wait({exiting}, timeout=limits.timeout)
            timed_out = not done
        if exiting.done() and not exceeded and not timed_out:
            code = exiting.result()
    finally:
        await started.reap()  # always: a background or setsid child ends with its command
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(reading, 2.0)  # the rest of the pipe, once nothing writes to it
        exiting.cancel()
        started.close()
    output = tail.text(limits.output_cap)
    if exceeded:
        output += f"\n[killed: more than {limits.output_limit // (1024 * 1024)} MiB of output]"
    return ExecResult(started.argv, code, output, started.sandbox, timed_out, exceeded)
