"""The memory space as a metadata tree built from the swarm's saved entries.

Two folders: ``context`` (the directive and the user's context files, saved
by the root) and ``results`` (what the swarm produced: the engine saves the
report of every terminated action and manager, and ``memory/save_memory``
adds notes). ``results`` is organised by the tree: one sub-folder per part of
the root's plan (the node ``0.0.N`` and everything below it), described by
that part's directive, so a memory router walks from "results" to the part
to the entry, one short menu at a time.

No menu is longer than the action space's (:data:`~swarm_star.spaces.menus.MAX_MENU`):
a folder with more children is split into sub-folders by the names' leading
words (context files by their folders: ``File docs/…``, ``File src/…``; parts
by number), then by alphabetical ranges, recursively (:func:`~swarm_star.spaces.menus.group_names`).
40 context files used to be one menu of 40 options.

Topics instead of folders: when a swarm has more context files than a menu
shows, the root first runs ``memory/organize_context``, which asks the model
once to sort them into topic folders and records the grouping it accepted
(:func:`check_topics`) as an entry of the hidden ``layout`` folder
(:data:`LAYOUT_FOLDER`) — a memory change like any other, so it replays,
resumes and forks with the swarm. When that entry is there, ``context`` shows
one folder per topic; without it (few files, or a grouping the check refused)
the folders above.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ValidationError

from swarm_star.models import SaveMemory, SpaceFolder, SpaceLeaf, SwarmNode
from swarm_star.spaces.loader import ROOT_FOLDER_ID, Space
from swarm_star.spaces.menus import MAX_MENU, Group, group_names

__all__ = [
    "FILE_TITLE",
    "LAYOUT_FOLDER",
    "MEMORY_FOLDERS",
    "ContextTopic",
    "check_topics",
    "memory_space",
    "organizable",
    "part_of",
]

FILE_TITLE = "File "
"""How the root titles a context file's entry (``File docs/a.md``)."""

MEMORY_FOLDERS = {
    "context": "What the user gave: the directive and context files.",
    "results": "What the swarm found or produced: reports of finished parts, notes, files written.",
}


LAYOUT_FOLDER = "layout"
"""The folder of the recorded topic grouping: read by :func:`memory_space`, never shown as an entry."""
_TOPIC_NAME_MAX = 40


class ContextTopic(BaseModel):
    """One topic folder of the recorded grouping: its name, what it holds, its entries' ids."""

    name: str
    description: str
    entries: list[str]


def organizable(count: int) -> bool:
    """Whether ``count`` context files are worth one model call to sort into topics: more than a menu
    shows, and few enough that topic folders of at most MAX_MENU entries (next to the directive) hold them."""
    return MAX_MENU < count <= MAX_MENU * (MAX_MENU - 1)


def check_topics(topics: list[ContextTopic], entry_ids: list[str]) -> str | None:
    """Why ``topics`` cannot group ``entry_ids`` (None: it can): every entry exactly once, at most
    MAX_MENU - 1 topics (the directive shares the menu), none over MAX_MENU entries, short distinct names."""
    if not topics:
        return "no topics"
    if len(topics) > MAX_MENU - 1:
        return f"{len(topics)} topics, more than {MAX_MENU - 1}"
    names: set[str] = set()
    placed: list[str] = []
    for topic in topics:
        name = topic.name
        key = name.casefold()
        if not name.strip() or name != name.strip() or len(name) > _TOPIC_NAME_MAX or not name.isprintable():
            return f"topic name {name[:60]!r} is not a short one-line name"
        if key in names or key in ("none", "directive"):
            return f"topic name {name!r} is taken"
        names.add(key)
        if not 0 < len(topic.entries) <= MAX_MENU:
            return f"topic {name!r} has {len(topic.entries)} entries (1 to {MAX_MENU})"
        placed += topic.entries
    unknown = sorted(set(placed) - set(entry_ids))
    if unknown:
        return f"unknown entries {', '.join(unknown[:3])}"
    if len(placed) != len(set(placed)):
        return "an entry is in two topics"
    missing = len(set(entry_ids) - set(placed))
    return f"{missing} entries in no topic" if missing else None


def part_of(node_id: str) -> str | None:
    """The id of the top-level part (``0.0.N``) a node belongs to, if any."""
    parts = node_id.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 else None


def memory_space(entries: Iterable[SaveMemory], nodes: Mapping[str, SwarmNode] | None = None) -> Space:
    """Build the memory tree; ``nodes`` (the swarm's tree) names the result folders."""
    space = Space(kind="memory")
    root = SpaceFolder(id=ROOT_FOLDER_ID, name="memory", description="The swarm's memory.")
    space.entries[ROOT_FOLDER_ID] = root
    for name, description in MEMORY_FOLDERS.items():
        space.entries[name] = SpaceFolder(id=name, name=name, description=description)
        root.children.append(name)
    names: dict[str, set[str]] = {}
    layout: SaveMemory | None = None
    for entry in entries:
        if entry.folder == LAYOUT_FOLDER:
            layout = entry  # the last one recorded wins
            continue
        folder = space.entries.get(entry.folder)
        if not isinstance(folder, SpaceFolder):
            continue
        part = part_of(entry.node_id) if entry.folder == "results" else None
        if part is not None:
            folder = _part_folder(space, folder, part, nodes)
        taken = names.setdefault(folder.id, set())
        name = entry.title[:80] or entry.entry_id
        if name in taken:  # a menu offers each name once: keep every entry reachable
            name = f"{name[:70]} ({entry.entry_id})"
        taken.add(name)
        preview = " ".join(entry.content.split())[:120]
        space.entries[entry.entry_id] = SpaceLeaf(
            id=entry.entry_id, name=name, description=preview, content=entry.content
        )
        folder.children.append(entry.entry_id)
    if layout is not None:
        _by_topic(space, layout)
    for made in list(space.entries.values()):
        if isinstance(made, SpaceFolder):
            _keep_short(space, made)
    return space


def _by_topic(space: Space, layout: SaveMemory) -> None:
    """Put the context entries into the recorded topic folders (entries in no topic, such as the
    directive, stay beside them). A record that does not read as topics changes nothing."""
    try:
        topics = [ContextTopic.model_validate(t) for t in json.loads(layout.content)["topics"]]
    except (ValueError, KeyError, TypeError, ValidationError):
        return
    context = space.entries["context"]
    if not isinstance(context, SpaceFolder):
        return
    present = set(context.children)
    kept = [c for c in context.children if not any(c in t.entries for t in topics)]
    for number, topic in enumerate(topics, 1):
        members = [e for e in topic.entries if e in present]
        if not members:
            continue
        folder_id = f"context/topic {number}"
        space.entries[folder_id] = SpaceFolder(
            id=folder_id, name=topic.name, description=topic.description[:120], children=members
        )
        kept.append(folder_id)
    context.children = kept


def _keep_short(space: Space, folder: SpaceFolder) -> None:
    """Split ``folder``'s children into sub-folders when they are more than a menu shows."""
    if len(folder.children) <= MAX_MENU:
        return
    by_name: dict[str, str] = {}
    for child_id in folder.children:
        name = space.entries[child_id].name.removeprefix(FILE_TITLE)  # group context files by their folders
        by_name[name if name not in by_name else f"{name} ({child_id})"] = child_id  # keep each one reachable
    folder.children = _place(space, folder.id, group_names(list(by_name)), by_name)


def _place(space: Space, parent_id: str, members: list[str | Group], by_name: dict[str, str]) -> list[str]:
    out = []
    for member in members:
        if isinstance(member, str):
            out.append(by_name[member])
            continue
        names = member.names()
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        folder_id = f"{parent_id}/{member.label}"
        sub = SpaceFolder(id=folder_id, name=member.label, description=f"{len(names)} entries: {shown}")
        space.entries[folder_id] = sub
        sub.children = _place(space, folder_id, member.members, by_name)
        out.append(folder_id)
    return out


def _part_folder(space: Space, results: SpaceFolder, part: str, nodes: Mapping[str, SwarmNode] | None) -> SpaceFolder:
    folder_id = f"results/{part}"
    existing = space.entries.get(folder_id)
    if isinstance(existing, SpaceFolder):
        return existing
    node = nodes.get(part) if nodes else None
    about = " ".join(node.directive.split())[:120] if node else "a part of the plan"
    folder = SpaceFolder(id=folder_id, name=f"part {part}", description=f"Results of: {about}")
    space.entries[folder_id] = folder
    results.children.append(folder_id)
    return folder
