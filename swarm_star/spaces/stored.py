"""A swarm's action and util spaces as recorded in its kv-store, and the spaces a run routes through.

Why in the store: actions and utils used to be folders on disk only, so a swarm's
created actions (and what its tools were) stayed behind when its Cosmos DB
store was resumed from another folder or machine. Now each swarm's store holds
(keys in ``state/reader.py``):

* ``action_space_installed`` / ``util_space_installed``: the installed
  ``actions/`` and ``utils_space/`` trees' metadata (folders, leaves with their
  descriptions, schemas and needs), one record each with the tree's sha256.
  Written with the swarm's first frame; a resume compares the installed tree's
  sha256 and writes the record again only when it differs (a swarm from before
  these records, or an upgrade). One copy per swarm store, about 12 KB; a
  pointer to a shared copy would save that only where stores are shared, and a
  store on its own would no longer say what its swarm could do.
* ``action_space_own.<name>``: each action the swarm created, its leaf and its
  code (``spaces/own.py``), recorded with the ``action_created`` frame.
* ``action_space_tools_<server>``: each MCP server's tool list, recorded when
  it was first listed (``engine/tool_calls.py``).

A run's spaces are built from those records (:func:`adopt_spaces`): folders and
leaves from the store, the installed leaves' modules from the installed
package (the same tree: the sha256 says so), the created actions' code written
from the store into the swarm's folder and run from there in the sandbox, the
tool lists grafted under ``tools/`` by the run's tool host. What must be
recorded is returned as store operations, which the writer commits fenced by
its lease with its next frames.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from swarm_star.errors import StoreCorrupt
from swarm_star.models import ActionCreated, SpaceEntry, SwarmSettings
from swarm_star.spaces.loader import Space
from swarm_star.spaces.own import creates_actions, graft_own_action, graft_own_actions, own_record, records_from_files
from swarm_star.state.layout import INSTALLED_SPACE_KEYS, OWN_ACTION_PREFIX
from swarm_star.state.reader import SwarmReader
from swarm_star.store.base import Put, StoreOp

__all__ = ["adopt_spaces", "installed_record", "record_created", "seed_ops", "space_digest"]

_ENTRIES: TypeAdapter[list[SpaceEntry]] = TypeAdapter(list[SpaceEntry])


def _entries(space: Space) -> list[dict[str, Any]]:
    return [entry.model_dump(mode="json") for entry in space.entries.values()]


def space_digest(space: Space) -> str:
    """The sha256 of a space's metadata (what a router can show), not of its modules."""
    body = json.dumps(_entries(space), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def installed_record(space: Space) -> dict[str, Any]:
    """The store record of an installed tree: its sha256 and its entries."""
    return {"schema_version": 1, "kind": space.kind, "sha256": space_digest(space), "entries": _entries(space)}


def seed_ops(actions: Space, utils: Space) -> list[StoreOp]:
    """The records a new swarm's first batch carries: the installed trees it starts with."""
    return [Put(INSTALLED_SPACE_KEYS[s.kind], installed_record(s)) for s in (actions, utils)]


def _adopt_installed(reader: SwarmReader, space: Space) -> list[StoreOp]:
    stored = reader.installed_space(space.kind)
    if stored is None or stored.get("sha256") != space_digest(space):
        return [Put(INSTALLED_SPACE_KEYS[space.kind], installed_record(space))]
    try:
        entries = _ENTRIES.validate_python(stored.get("entries"))
    except ValidationError as exc:
        raise StoreCorrupt(f"the recorded {space.kind} space is unreadable: {exc.errors()[0]['msg']}") from None
    space.entries = {entry.id: entry for entry in entries}  # what the store says: the same tree (sha256)
    return []


def adopt_spaces(
    reader: SwarmReader, actions: Space, utils: Space, settings: SwarmSettings, swarm_dir: Path, *, write: bool = True
) -> list[StoreOp]:
    """Make the installed ``actions`` and ``utils`` (modules loaded) this swarm's recorded spaces,
    its created actions grafted; returns what must be recorded. ``write``: the created actions'
    code goes from the store to the swarm's folder (the writer; a read only lists)."""
    ops = _adopt_installed(reader, actions) + _adopt_installed(reader, utils)
    if not creates_actions(settings):
        return ops
    records = reader.own_actions()
    for name, record in records_from_files(swarm_dir).items():
        if name not in records:  # a swarm from before its actions were stored: record them now
            records[name] = record
            ops.append(Put(OWN_ACTION_PREFIX + name, record))
    graft_own_actions(actions, records, swarm_dir, write=write)
    return ops


def record_created(actions: Space, settings: SwarmSettings, swarm_dir: Path, op: ActionCreated) -> list[StoreOp]:
    """After an ``action_created`` frame: graft the new action and return its record (code
    included) to commit with that frame. Nothing when the file is not what the frame says."""
    if not creates_actions(settings):
        return []
    name = Path(op.path).stem
    try:
        code = (swarm_dir / op.path).read_text(encoding="utf-8")
    except OSError:
        return []
    record = own_record(name, code)
    if record is None or record["sha256"] != op.sha256:
        return []
    graft_own_action(actions, name, record, swarm_dir, write=False)
    return [Put(OWN_ACTION_PREFIX + name, record)]
