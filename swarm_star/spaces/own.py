"""Where a swarm's own actions live, how their ``SPEC`` is read, and how they are grafted.

A swarm that may create actions (``allow_exec`` and ``code.create_actions``)
keeps the modules it wrote in ``swarm_space/<swarm_id>/actions/``, never in the
installed tree. ``kit/own_actions.py`` validates a module and puts it there;
the engine grafts the folder into that swarm's action space as the category
``own`` (when the swarm starts or resumes, and after each ``action_created``
frame). This module is what both need, kept below the engine so the engine
never imports the kit.

The graft never imports a module: its ``SPEC`` is read from the source
(:func:`literal_spec`: ``SPEC = LeafSpec(...)`` with literal arguments, as the
action contract writes it), and the leaf's ``run`` runs the module out of
process, in the sandbox (``sandbox/own_action.py``). A module whose ``SPEC``
cannot be read so is left out of the menu; nothing it contains can stop a
swarm from starting.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from types import ModuleType
from typing import Any

from swarm_star.errors import SpaceError
from swarm_star.models import SpaceFolder, SpaceLeaf, SwarmSettings
from swarm_star.sandbox.own_action import run_own_action
from swarm_star.spaces.loader import Space, find_space_dir, readme_description
from swarm_star.spaces.needs import NEEDS
from swarm_star.spaces.spec import LeafSpec

__all__ = ["OWN_FOLDER", "graft_own_actions", "literal_spec", "load_own_actions", "own_actions_dir"]

OWN_FOLDER = "own"


def own_actions_dir(swarm_dir: Path) -> Path:
    return swarm_dir / "actions"


def literal_spec(source: str) -> LeafSpec | None:
    """The module's ``SPEC = LeafSpec(...)``, read without running anything; None unless it is
    one call with literal keyword arguments and known needs."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SPEC" for t in node.targets)):
            continue
        call = node.value
        if not isinstance(call, ast.Call) or getattr(call.func, "id", getattr(call.func, "attr", None)) != "LeafSpec":
            return None
        if call.args:
            return None
        try:
            kwargs: dict[str, Any] = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg is not None}
            spec = LeafSpec(**kwargs)
        except (ValueError, TypeError, SyntaxError):
            return None
        valid = isinstance(spec.name, str) and isinstance(spec.description, str)
        return spec if valid and set(spec.needs) <= set(NEEDS) else None
    return None


def _leaf_module(leaf_id: str, path: Path, utils: Path) -> ModuleType:
    """What the engine calls for the leaf: a stand-in whose ``run(ctx)`` runs ``path`` sandboxed."""
    module = ModuleType(f"swarm_star_own.{leaf_id}", f"runs {path.name} in the sandbox")
    module.run = functools.partial(run_own_action, path, utils)  # type: ignore[attr-defined]
    return module


def graft_own_actions(actions: Space, swarm_dir: Path) -> None:
    """Add (or refresh) the category ``own`` in ``actions`` from the swarm's folder, if it has one."""
    folder = own_actions_dir(swarm_dir)
    if not folder.is_dir():
        return
    for entry_id in [e for e in actions.entries if e == OWN_FOLDER or e.startswith(OWN_FOLDER + ".")]:
        actions.entries.pop(entry_id)
        actions.modules.pop(entry_id, None)
    root = actions.root
    root.children = [c for c in root.children if c != OWN_FOLDER]
    try:
        description = readme_description(folder)
    except SpaceError:  # a missing README must not stop a swarm from starting either
        description = "Actions this swarm created for itself."
    category = SpaceFolder(id=OWN_FOLDER, name=OWN_FOLDER, description=description)
    utils = find_space_dir("utils_space")
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith(("_", ".")):
            continue
        spec = literal_spec(path.read_text(encoding="utf-8", errors="replace"))
        if spec is None:
            continue
        leaf_id = f"{OWN_FOLDER}.{path.stem}"
        actions.entries[leaf_id] = SpaceLeaf(
            id=leaf_id,
            name=spec.name,
            description=spec.description,
            routable=spec.routable,
            entry_point=f"{path.name}:run",
            input_schema=spec.input_schema,
            needs=list(spec.needs),
        )
        actions.modules[leaf_id] = _leaf_module(leaf_id, path, utils)
        category.children.append(leaf_id)
    actions.entries[OWN_FOLDER] = category
    root.children.append(OWN_FOLDER)


def load_own_actions(actions: Space, settings: SwarmSettings, swarm_dir: Path) -> None:
    """Graft the swarm's own actions into ``actions`` if it opted in (``allow_exec`` and
    ``code.create_actions``); the writer and a Ray worker both do this before they run one."""
    if settings.allow_exec and settings.code.create_actions:
        graft_own_actions(actions, swarm_dir)
