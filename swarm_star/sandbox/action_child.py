"""The sandboxed side of a swarm's own action: load the module, run it, speak JSON lines.

Started by ``sandbox/own_action.py`` as ``python -P -m swarm_star.sandbox.action_child``
inside the sandbox. The first line on stdin is the request (what to load,
the node as data, the workspace, the util space's folder). Then the child
writes JSON lines on its *original* stdout (its ``print`` output goes to
stderr, so nothing a module prints can be taken for a message):

- ``{"type": "described", "error": null | "..."}``: ``describe`` mode, the
  module's ``SPEC`` and ``run`` checked;
- ``{"type": "ask_model", "messages": [...], "purpose": "..."}``: the action
  asks the model; the parent makes the (journaled) call and answers
  ``{"type": "reply", "text": "..."}`` on stdin;
- ``{"type": "done", "ops": [{"kind": "terminate", "report": ..., "artifacts": [...]}]}``
  (or ``fail`` with ``error``, ``refuse`` with ``reason``): what ``run`` returned;
- ``{"type": "error", "error": "..."}``: the module failed to load or ``run`` raised.

Nothing here holds a key or a store: the model is reached only through the parent.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import IO, Any

__all__ = ["main"]

MODULE_NAME = "swarm_star_own_action"


class Channel:
    """JSON lines to the parent (a private copy of the original stdout) and back (stdin)."""

    def __init__(self, out: IO[str], back: IO[str]) -> None:
        self.out = out
        self.back = back

    def send(self, message: dict[str, Any]) -> None:
        self.out.write(json.dumps(message) + "\n")
        self.out.flush()

    def receive(self) -> dict[str, Any]:
        line = self.back.readline()
        if not line:
            raise EOFError("the parent closed the channel")
        message: dict[str, Any] = json.loads(line)
        return message


class NodeView:
    """The node as data: what the action contract names (``ctx.node.directive`` ...)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.id = str(data.get("id", ""))
        self.directive = str(data.get("directive", ""))
        self.context = dict(data.get("context") or {})
        self.action_id = str(data.get("action_id", ""))


class UtilModule:
    """One util, loaded by path from the util space inside the sandbox (installed code)."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def call(self, workspace: Path, **args: Any) -> str:
        return str(self.module.call(workspace, **args))


class Utils:
    """``ctx.utils.module("<util id>")`` as the action contract shows it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def module(self, util_id: str) -> UtilModule:
        parts = util_id.split(".")
        if not parts or not all(p.isidentifier() for p in parts):
            raise KeyError(f"no util named {util_id!r}")
        path = self.folder.joinpath(*parts[:-1], f"{parts[-1]}.py")
        if not path.is_file():
            raise KeyError(f"no util named {util_id!r}")
        return UtilModule(_load(path, f"swarm_star_util_{'_'.join(parts)}"))


class ChildContext:
    """What a swarm's own action sees: the node, the workspace, the model (through the parent),
    the utils, and the operation builders. Operations are plain data sent back to the parent."""

    def __init__(self, request: dict[str, Any], channel: Channel) -> None:
        self.node = NodeView(request.get("node") or {})
        self.workspace = Path(request["workspace"])
        self.utils = Utils(Path(request["utils"]))
        self._channel = channel

    async def ask_model(self, messages: list[dict[str, str]], *, purpose: str = "own action", **_: Any) -> str:
        """The model's reply text; the parent makes the call (journaled: a re-run replays it)."""
        self._channel.send({"type": "ask_model", "messages": messages, "purpose": str(purpose)})
        reply = self._channel.receive()
        if reply.get("type") != "reply":
            raise RuntimeError(str(reply.get("error") or "the model call failed"))
        return str(reply.get("text", ""))

    def terminate(self, report: str, artifacts: list[str] | None = None) -> dict[str, Any]:
        return {"kind": "terminate", "report": str(report), "artifacts": [str(a) for a in artifacts or []]}

    def fail(self, error: str) -> dict[str, Any]:
        return {"kind": "fail", "error": str(error)}

    def refuse(self, reason: str) -> dict[str, Any]:
        return {"kind": "refuse", "reason": str(reason)}


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _described(module: ModuleType) -> str | None:
    from swarm_star.spaces import LeafSpec

    problems = []
    if not isinstance(getattr(module, "SPEC", None), LeafSpec):
        problems.append("SPEC is not a LeafSpec")
    if not inspect.iscoroutinefunction(getattr(module, "run", None)):
        problems.append("run is not an async function")
    return "; ".join(problems) or None


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]


def main() -> None:
    channel = Channel(os.fdopen(os.dup(1), "w", encoding="utf-8"), sys.stdin)
    os.dup2(2, 1)  # the module's prints go to stderr, never into the channel
    sys.stdout = sys.stderr
    request = channel.receive()
    try:
        module = _load(Path(request["module"]), MODULE_NAME)
    except BaseException as exc:  # whatever the module does, the parent gets one line
        channel.send({"type": "error", "error": f"import failed: {_short(exc)}"})
        return
    if request.get("mode") == "describe":
        channel.send({"type": "described", "error": _described(module)})
        return
    try:
        ops = asyncio.run(module.run(ChildContext(request, channel)))
        channel.send({"type": "done", "ops": list(ops)})
    except BaseException as exc:  # the same: one line, never a traceback on the channel
        channel.send({"type": "error", "error": _short(exc)})


if __name__ == "__main__":
    main()
