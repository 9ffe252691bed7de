"""A swarm's own actions: modules it wrote for itself, kept in its swarm space.

Why a separate folder: an action the swarm creates must never land in the
installed tree (it would change every other swarm) and must not be routable
before it is known to load. So a new module is checked first — a name that
is an identifier, Python that parses, a module-level ``SPEC`` and an
``async def run`` — then loaded once *in the sandbox* (``sandbox/own_action.py``:
the import runs model-written code, so this needs ``allow_exec``), with the
swarm's workspace as its working directory, as when it runs; its ``SPEC`` must
be readable from the source (``LeafSpec(...)`` with literal arguments), since
the router reads it without running anything. Only then is it moved into
``swarm_space/<swarm_id>/actions/``. The engine grafts that folder into this
swarm's action space as the category ``own`` (and does so again on resume),
only when the swarm opted in (``allow_exec`` and ``code.create_actions``);
``spaces/own.py`` says how, and each activation runs the module out of
process, in the sandbox. The orchestrator never imports it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from swarm_star.errors import SpaceError
from swarm_star.kit.workspace import Workspace
from swarm_star.sandbox.own_action import describe_action
from swarm_star.spaces.own import OWN_DESCRIPTION, OWN_FOLDER, literal_spec, own_actions_dir

__all__ = ["CreatedAction", "install_action", "static_problems"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # fullmatch: `$` admits a trailing newline
_README = f"# own\n\n{OWN_DESCRIPTION}\n"


@dataclass(frozen=True)
class CreatedAction:
    """Where a validated action went: its id in the swarm's space, file and content hash."""

    action_id: str
    path: Path
    sha256: str
    existed: bool


def static_problems(name: str, code: str) -> list[str]:
    """What is wrong with the module before anything runs (empty: nothing found)."""
    if not _NAME.fullmatch(name):
        return [f"name {name[:60]!r} must be a lowercase identifier (a-z, 0-9, _; at most 40)"]
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"syntax error line {exc.lineno}: {exc.msg}"]
    problems = []
    names = {
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    }
    if "SPEC" not in names:
        problems.append("no module-level SPEC = LeafSpec(...)")
    if not any(isinstance(node, ast.AsyncFunctionDef) and node.name == "run" for node in tree.body):
        problems.append("no module-level 'async def run(ctx)'")
    return problems


async def install_action(
    swarm_dir: Path, name: str, code: str, *, allowed: bool, sandbox: str = "bwrap", timeout: float = 30.0
) -> CreatedAction:
    """Validate ``code`` and put it into the swarm's own action folder; SpaceError says why not
    (SandboxUnavailable if there is no sandbox to load it in)."""
    if not allowed:
        raise SpaceError("creating actions is off (opt in with --allow-exec and code.create_actions)")
    problems = static_problems(name, code)
    if problems:
        raise SpaceError("the new action is invalid: " + "; ".join(problems))
    workspace = Workspace(swarm_dir / "workspace").root  # a repository: its .git stays read-only inside
    folder = own_actions_dir(swarm_dir)
    target = folder / f"{name}.py"
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    action_id = f"{OWN_FOLDER}.{name}"
    if target.exists():
        if hashlib.sha256(target.read_bytes()).hexdigest() == digest:  # a re-run after a crash
            return CreatedAction(action_id, target, digest, True)
        raise SpaceError(f"this swarm already has an action named {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    readme = folder / "README.md"
    if not readme.exists():
        readme.write_text(_README, encoding="utf-8")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"_{name}.", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(code)
        error = await describe_action(
            Path(tmp), sandbox=sandbox, workspace=workspace, hidden=[swarm_dir.parent], timeout=timeout
        )
        if error is None and literal_spec(code) is None:
            error = "SPEC must be written as LeafSpec(name=..., description=...) with literal arguments"
        if error:
            raise SpaceError(f"the new action is invalid: {error}")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return CreatedAction(action_id, target, digest, False)
