"""Run a swarm's own action (a module the swarm wrote) out of process, in the sandbox.

Why: such a module is model-written code. Imported into the orchestrator it
would run next to the API keys and the store, could block the event loop
(``--max-time`` and Ctrl-C could not stop it) and, failing at import, would
break every later start of the swarm. So the orchestrator never imports it:

- its ``SPEC`` is read from the source without running it (``spaces/own.py``);
- :func:`describe_action` loads it once in the sandbox when it is created (does
  it import, is ``SPEC`` a ``LeafSpec``, is ``run`` async);
- :func:`run_own_action` runs it in the sandbox for each activation: the child
  (``action_child.py``) gets the node as data, asks for model replies over a
  JSON-lines channel (the parent makes the journaled call, so a re-run replays
  it and no key enters the sandbox) and returns its operations as data.

A module that fails to load, raises, hangs past ``code.timeout`` (time spent
waiting for the model not counted) or says something off-protocol fails its
own node with the reason; the swarm, and its next resume, go on.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarm_star.errors import SandboxUnavailable
from swarm_star.sandbox.limits import ExecLimits
from swarm_star.sandbox.runner import OutputTail, SandboxProcess, drain, start_sandboxed

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext

__all__ = ["OwnActionError", "describe_action", "run_own_action"]

CHILD = "swarm_star.sandbox.action_child"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
STDERR_KEPT = 600
LINE_LIMIT = 1024 * 1024


class OwnActionError(Exception):
    """Why a swarm's own action could not load or run (one line, shown as the node's error)."""


def _child_argv() -> list[str]:
    return [sys.executable, "-P", "-m", CHILD]  # -P: the workspace never shadows a module


async def _session(
    module: Path, *, sandbox: str, workspace: Path, hidden: list[Path], utils: Path | None, timeout: float
) -> tuple[SandboxProcess, OutputTail, asyncio.Task[bool]]:
    readable = [module] + ([utils] if utils is not None else [])
    started = await start_sandboxed(
        _child_argv(),
        sandbox=sandbox,
        workspace=workspace,
        limits=ExecLimits(timeout=timeout),
        readable=readable,
        hidden=hidden,
        env={"PYTHONPATH": str(PACKAGE_ROOT)},
        merge_stderr=False,
        stdin=True,
    )
    errors = OutputTail(STDERR_KEPT)
    return started, errors, asyncio.create_task(drain(started.proc.stderr, errors, 8 * LINE_LIMIT))


async def _send(started: SandboxProcess, message: dict[str, Any]) -> None:
    stdin = started.proc.stdin
    assert stdin is not None  # started with stdin=True
    try:
        stdin.write((json.dumps(message) + "\n").encode("utf-8"))
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        raise OwnActionError("stopped reading its input (it ended)") from None


async def _receive(started: SandboxProcess, errors: OutputTail, seconds: float, budget: float) -> dict[str, Any]:
    """The child's next message within ``seconds`` (what is left of its ``budget``)."""
    stdout = started.proc.stdout
    assert stdout is not None
    try:
        line = await asyncio.wait_for(stdout.readline(), max(seconds, 0.0))
    except TimeoutError:
        raise OwnActionError(f"did not finish within {budget:g} s (killed)") from None
    except (ValueError, asyncio.LimitOverrunError):
        raise OwnActionError(f"sent a message longer than {LINE_LIMIT} bytes") from None
    if not line:
        await asyncio.sleep(0.05)  # let the last of stderr arrive
        said = " ".join(errors.text(STDERR_KEPT).split())[-STDERR_KEPT:]
        raise OwnActionError("ended without an answer" + (f": {said}" if said else ""))
    try:
        message = json.loads(line)
    except ValueError:
        raise OwnActionError("sent something that is not a JSON message") from None
    if not isinstance(message, dict):
        raise OwnActionError("sent something that is not a JSON message")
    return message


async def _close(started: SandboxProcess, draining: asyncio.Task[bool]) -> None:
    await started.reap()
    draining.cancel()
    started.close()


async def describe_action(
    module: Path, *, sandbox: str, workspace: Path, hidden: list[Path], timeout: float = 30.0
) -> str | None:
    """Load ``module`` in the sandbox: None if it imports and has a ``LeafSpec`` and an async
    ``run``, else what is wrong (one line). SandboxUnavailable if there is no sandbox."""
    started, errors, draining = await _session(
        module, sandbox=sandbox, workspace=workspace, hidden=hidden, utils=None, timeout=timeout
    )
    try:
        await _send(started, {"mode": "describe", "module": str(module)})
        message = await _receive(started, errors, timeout, timeout)
    except OwnActionError as exc:
        return f"importing it {exc}" if "within" in str(exc) else str(exc)
    finally:
        await _close(started, draining)
    if message.get("type") == "described":
        return None if message.get("error") is None else str(message["error"])
    return str(message.get("error") or "the import check answered off-protocol")


async def run_own_action(module: Path, utils: Path, ctx: ActionContext) -> list[Any]:
    """One activation of the own action in ``module``: its operations, or a ``fail`` saying why."""
    code = ctx.settings.code
    name = ctx.node.action_id
    if not (ctx.workspace / ".git").is_dir():  # e.g. resumed in another folder: the store moved, not the files
        from swarm_star.sandbox.safe_git import open_workspace  # GitPython only when needed (a lean CLI)

        await asyncio.to_thread(open_workspace, ctx.workspace)
    try:
        started, errors, draining = await _session(
            module,
            sandbox=code.sandbox,
            workspace=ctx.workspace,
            hidden=[ctx.swarm_dir.parent],
            utils=utils,
            timeout=code.timeout,
        )
    except SandboxUnavailable as exc:
        return [ctx.fail(f"action {name} not run: {exc}")]
    try:
        node = {"id": ctx.node.id, "directive": ctx.node.directive, "context": ctx.node.context, "action_id": name}
        request = {"mode": "run", "module": str(module), "node": node}
        await _send(started, {**request, "workspace": str(ctx.workspace), "utils": str(utils)})
        left = code.timeout
        while True:
            waited = time.monotonic()
            message = await _receive(started, errors, left, code.timeout)
            left -= time.monotonic() - waited
            kind = message.get("type")
            if kind == "ask_model":
                text = await ctx.ask_model(_messages(message.get("messages")), purpose=_purpose(message))
                await _send(started, {"type": "reply", "text": text})
            elif kind == "done":
                return _operations(ctx, message.get("ops"))
            elif kind == "error":
                raise OwnActionError(str(message.get("error"))[:500])
            else:
                raise OwnActionError(f"sent an unknown message {str(kind)[:40]!r}")
    except OwnActionError as exc:
        return [ctx.fail(f"action {name} failed: {exc}")]
    finally:
        await _close(started, draining)


def _messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise OwnActionError("asked the model with no messages")
    out = []
    for item in raw:
        if not isinstance(item, dict) or item.get("role") not in ("system", "user", "assistant"):
            raise OwnActionError("asked the model with a message that is not {role, content}")
        out.append({"role": str(item["role"]), "content": str(item.get("content", ""))})
    return out


def _purpose(message: dict[str, Any]) -> str:
    return " ".join(str(message.get("purpose") or "own action").split())[:60] or "own action"


def _operations(ctx: ActionContext, raw: Any) -> list[Any]:
    """The child's operations as the engine's, for this node only (anything else fails it)."""
    if not isinstance(raw, list):
        raise OwnActionError("run returned something that is not a list of operations")
    ops: list[Any] = []
    for item in raw:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == "terminate":
            artifacts = item.get("artifacts") or []
            ops.append(ctx.terminate(str(item.get("report", "")), [str(a) for a in artifacts][:100]))
        elif kind == "fail":
            ops.append(ctx.fail(str(item.get("error", ""))))
        elif kind == "refuse":
            ops.append(ctx.refuse(str(item.get("reason", ""))))
        else:
            raise OwnActionError("run returned an operation other than terminate, fail or refuse")
    return ops
