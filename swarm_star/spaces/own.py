"""Where a swarm's own actions live, and the category and module names they load under.

A swarm that may create actions (``allow_exec`` and ``code.create_actions``)
keeps the modules it wrote in ``swarm_space/<swarm_id>/actions/``, never in the
installed tree. ``kit/own_actions.py`` validates a module and puts it there;
the engine grafts the folder into that swarm's action space as the category
``own`` (when the swarm starts or resumes, and after each ``action_created``
frame). This module is what both need, kept below the engine so the engine
never imports the kit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from swarm_star.models import SwarmSettings
from swarm_star.spaces.loader import Space, merge_folder

__all__ = ["OWN_FOLDER", "graft_own_actions", "load_own_actions", "module_kind", "own_actions_dir"]

OWN_FOLDER = "own"


def own_actions_dir(swarm_dir: Path) -> Path:
    return swarm_dir / "actions"


def module_kind(swarm_dir: Path) -> str:
    """A module-name prefix unique to this swarm, so two swarms' ``own.x`` never collide."""
    return "own_" + hashlib.sha1(str(swarm_dir.resolve()).encode()).hexdigest()[:12]


def graft_own_actions(actions: Space, swarm_dir: Path) -> None:
    """Add (or refresh) the category ``own`` in ``actions`` from the swarm's folder, if it has one."""
    folder = own_actions_dir(swarm_dir)
    if folder.is_dir():
        merge_folder(actions, folder, OWN_FOLDER, "run", module_kind(swarm_dir))


def load_own_actions(actions: Space, settings: SwarmSettings, swarm_dir: Path) -> None:
    """Graft the swarm's own actions into ``actions`` if it opted in (``allow_exec`` and
    ``code.create_actions``); the writer and a Ray worker both do this before they run one."""
    if settings.allow_exec and settings.code.create_actions:
        graft_own_actions(actions, swarm_dir)
