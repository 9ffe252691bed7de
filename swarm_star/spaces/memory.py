"""The memory space as a metadata tree built from the swarm's saved entries.

Two folders: ``context`` (the directive and the user's context files, saved
by the root) and ``results`` (what the swarm's own actions chose to keep).
"""

from __future__ import annotations

from collections.abc import Iterable

from swarm_star.models import SaveMemory, SpaceFolder, SpaceLeaf
from swarm_star.spaces.loader import ROOT_ID, Space

__all__ = ["MEMORY_FOLDERS", "memory_space"]

MEMORY_FOLDERS = {
    "context": "What the user gave: the directive and context files.",
    "results": "What the swarm found or produced and chose to remember.",
}


def memory_space(entries: Iterable[SaveMemory]) -> Space:
    space = Space(kind="memory")
    root = SpaceFolder(id=ROOT_ID, name="memory", description="The swarm's memory.")
    space.entries[ROOT_ID] = root
    for name, description in MEMORY_FOLDERS.items():
        space.entries[name] = SpaceFolder(id=name, name=name, description=description)
        root.children.append(name)
    for entry in entries:
        folder = space.entries.get(entry.folder)
        if not isinstance(folder, SpaceFolder):
            continue
        preview = " ".join(entry.content.split())[:120]
        space.entries[entry.entry_id] = SpaceLeaf(
            id=entry.entry_id, name=entry.title[:80], description=preview, content=entry.content
        )
        folder.children.append(entry.entry_id)
    return space
