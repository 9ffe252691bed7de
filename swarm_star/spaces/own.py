"""Where a swarm's own actions live, how their ``SPEC`` is read, and how they are grafted.

A swarm that may create actions (``allow_exec`` and ``code.create_actions``)
keeps the modules it wrote in its store (``action_space_own.<name>``: the leaf's
metadata and the code, see ``spaces/stored.py``), never in the installed tree,
and runs them from ``swarm_space/<swarm_id>/actions/``. ``kit/own_actions.py``
validates a module and puts it in that folder; the engine records it in the
store (with the ``action_created`` frame) and grafts it into that swarm's
action space as the category ``own``; a resume, here or from another folder or
machine (Cosmos DB), writes the stored code back to the folder and grafts the
same leaves. This module is what both need, kept below the engine so the
engine never imports the kit.

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
import hashlib
import os
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from swarm_star.models import SpaceFolder, SpaceLeaf, SwarmSettings
from swarm_star.sandbox.own_action import run_own_action
from swarm_star.spaces.loader import Space, find_space_dir
from swarm_star.spaces.needs import NEEDS
from swarm_star.spaces.spec import LeafSpec

__all__ = [
    "OWN_DESCRIPTION",
    "OWN_FOLDER",
    "creates_actions",
    "graft_own_action",
    "graft_own_actions",
    "literal_spec",
    "load_own_actions",
    "own_actions_dir",
    "own_leaf",
    "own_record",
    "records_from_files",
]

OWN_FOLDER = "own"
OWN_DESCRIPTION = "Actions this swarm created for itself (validated before use); they exist in this swarm only."
"""The category's description in the menu: a constant, so it reads the same wherever the swarm resumes."""


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


def own_leaf(name: str, code: str) -> SpaceLeaf | None:
    """The leaf an action's module makes in the menu (``own.<name>``); None if its SPEC cannot be read."""
    spec = literal_spec(code)
    if spec is None:
        return None
    return spec.leaf(f"{OWN_FOLDER}.{name}", f"{name}.py:run")


def own_record(name: str, code: str) -> dict[str, Any] | None:
    """What the swarm's store keeps of one of its actions: the leaf's metadata and the code."""
    leaf = own_leaf(name, code)
    if leaf is None:
        return None
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    return {"schema_version": 1, "leaf": leaf.model_dump(mode="json"), "code": code, "sha256": digest}


def records_from_files(swarm_dir: Path) -> dict[str, dict[str, Any]]:
    """The records of the modules in the swarm's own folder (a swarm from before they were
    stored; a Ray worker, which has no store)."""
    folder = own_actions_dir(swarm_dir)
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        if path.name.startswith(("_", ".")):
            continue
        record = own_record(path.stem, path.read_text(encoding="utf-8", errors="replace"))
        if record is not None:
            found[path.stem] = record
    return found


def _leaf_module(leaf_id: str, path: Path, utils: Path) -> ModuleType:
    """What the engine calls for the leaf: a stand-in whose ``run(ctx)`` runs ``path`` sandboxed."""
    module = ModuleType(f"swarm_star_own.{leaf_id}", f"runs {path.name} in the sandbox")
    module.run = functools.partial(run_own_action, path, utils)  # type: ignore[attr-defined]
    return module


def _write_code(path: Path, code: str, digest: str) -> None:
    """Put the stored code at ``path`` unless the file there is that code already."""
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"_{path.stem}.", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(code)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def graft_own_action(actions: Space, name: str, record: dict[str, Any], swarm_dir: Path, *, write: bool = True) -> bool:
    """Add (or replace) one of the swarm's actions in ``actions`` from its record; with ``write``,
    its code goes from the record to the swarm's own folder first (it runs from there, in the
    sandbox). False, and nothing grafted, for a record whose code is not what its digest says."""
    code = record.get("code")
    if not isinstance(code, str) or hashlib.sha256(code.encode("utf-8")).hexdigest() != record.get("sha256"):
        return False
    try:
        leaf = SpaceLeaf.model_validate(record.get("leaf"))
    except ValueError:
        return False
    path = own_actions_dir(swarm_dir) / f"{name}.py"
    if write:
        _write_code(path, code, str(record["sha256"]))
    category = actions.entries.get(OWN_FOLDER)
    if not isinstance(category, SpaceFolder):
        category = SpaceFolder(id=OWN_FOLDER, name=OWN_FOLDER, description=OWN_DESCRIPTION)
        actions.entries[OWN_FOLDER] = category
        actions.root.children.append(OWN_FOLDER)
    if leaf.id not in category.children:
        category.children.append(leaf.id)
    actions.entries[leaf.id] = leaf
    actions.modules[leaf.id] = _leaf_module(leaf.id, path, find_space_dir("utils_space"))
    return True


def graft_own_actions(
    actions: Space, records: dict[str, dict[str, Any]], swarm_dir: Path, *, write: bool = True
) -> None:
    """Make the category ``own`` of ``actions`` hold exactly these actions (none: no category)."""
    for entry_id in [e for e in actions.entries if e == OWN_FOLDER or e.startswith(OWN_FOLDER + ".")]:
        actions.entries.pop(entry_id)
        actions.modules.pop(entry_id, None)
    actions.root.children = [c for c in actions.root.children if c != OWN_FOLDER]
    for name, record in sorted(records.items()):
        graft_own_action(actions, name, record, swarm_dir, write=write)


def creates_actions(settings: SwarmSettings) -> bool:
    """The swarm opted in to actions of its own (``allow_exec`` and ``code.create_actions``)."""
    return settings.allow_exec and settings.code.create_actions


def load_own_actions(actions: Space, settings: SwarmSettings, swarm_dir: Path) -> None:
    """Graft the modules in the swarm's own folder, if it opted in: what a Ray worker does
    (it has no store; the writer wrote the stored code there, see spaces/stored.py)."""
    if creates_actions(settings):
        graft_own_actions(actions, records_from_files(swarm_dir), swarm_dir, write=False)
