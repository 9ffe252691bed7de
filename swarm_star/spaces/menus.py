"""How long a router's menu may be, and how a long list of names becomes short menus.

A router shows one folder's children at a time. A folder with more than
:data:`MAX_MENU` children is split into sub-folders: first by the names'
leading words (``file_read``, ``file_write`` -> ``file*``; ``File docs/a.md``,
``File docs/b.md`` -> ``File_docs*``: a folder of context files), and where
those do not split them small enough, by alphabetical ranges (``add..fetch``),
recursively, so every menu of a walk holds at most :data:`MAX_MENU` options
whatever the number of names. MCP tools (``tools/catalog.py``) and the memory
space (``spaces/memory.py``) are grouped with it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["MAX_MENU", "Group", "group_names"]

MAX_MENU = 12
"""The most options one router menu shows; the installed action tree keeps it too (a test checks)."""
_TOKENS = re.compile(r"[_\-.\s/:]+|(?<=[a-z0-9])(?=[A-Z])")


@dataclass
class Group:
    """A sub-folder: a label and its members (names or groups)."""

    label: str
    members: list[str | Group] = field(default_factory=list)

    def names(self) -> list[str]:
        out: list[str] = []
        for m in self.members:
            out.extend([m] if isinstance(m, str) else m.names())
        return out


def _prefix(name: str, tokens: list[str], depth: int) -> str:
    return "_".join(tokens[:depth]) if len(tokens) > depth else name


def group_names(names: list[str], limit: int = MAX_MENU) -> list[str | Group]:
    """Arrange names so no level holds more than ``limit`` options."""
    # each name split into words once: the grouping looks one word further at every level
    tokens = {name: [t for t in _TOKENS.split(name) if t] for name in names}
    return _group(sorted(names), limit, 1, tokens)


def _group(names: list[str], limit: int, depth: int, tokens: dict[str, list[str]]) -> list[str | Group]:
    """:func:`group_names` of sorted ``names``, grouped by their first ``depth`` words first."""
    if len(names) <= limit:
        return list(names)
    buckets: dict[str, list[str]] = {}
    for name in names:
        buckets.setdefault(_prefix(name, tokens[name], depth), []).append(name)
    if len(buckets) == 1 and depth < 8:
        return _group(names, limit, depth + 1, tokens)  # one shared prefix: look one token further
    if 1 < len(buckets) <= limit:
        out: list[str | Group] = []
        for key, members in buckets.items():
            if len(members) == 1:
                out.append(members[0])
            else:
                out.append(Group(f"{key}*", _group(members, limit, depth + 1, tokens)))
        return out
    size = math.ceil(len(names) / limit)
    chunks = [names[i : i + size] for i in range(0, len(names), size)]
    return [Group(f"{c[0]}..{c[-1]}", _group(c, limit, depth, tokens)) for c in chunks]
