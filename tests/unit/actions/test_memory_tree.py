"""Swarm Star's memory as the design has it: a tree no menu of which is longer than the action space's, walked
by the memory router; what it does not hold, the user is asked for (within the question budget)."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

from swarm_star.api import Swarm
from swarm_star.kit.router import FLAT_MENU
from swarm_star.models import Limits, SaveMemory, SpaceFolder, SpaceLeaf
from swarm_star.spaces.memory import memory_space
from swarm_star.spaces.menus import MAX_MENU
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import run_swarm

FILES = (
    [f"docs/guide_{i:02d}.md" for i in range(8)]
    + [f"src/pkg/module_{i:02d}.py" for i in range(20)]
    + [f"tests/test_{i:02d}.py" for i in range(10)]
    + ["README.md", "LICENSE"]
)  # 40 context files, as in the issue


def _entries() -> list[SaveMemory]:
    out = [SaveMemory(node_id="0", entry_id="context.0.0", folder="context", title="Directive", content="ship it")]
    for i, name in enumerate(FILES, 1):
        out.append(
            SaveMemory(node_id="0", entry_id=f"context.0.{i}", folder="context", title=f"File {name}", content=name)
        )
    return out


def _walk(space: Any, folder_id: str = "root") -> tuple[int, list[str]]:
    """(the longest menu, every leaf reachable) under ``folder_id``."""
    folder = space.entries[folder_id]
    longest, leaves = len(folder.children), []
    for child_id in folder.children:
        child = space.entries[child_id]
        if isinstance(child, SpaceFolder):
            sub_longest, sub_leaves = _walk(space, child_id)
            longest, leaves = max(longest, sub_longest), leaves + sub_leaves
        else:
            assert isinstance(child, SpaceLeaf)
            leaves.append(child.name)
    return longest, leaves


def test_forty_context_files_make_no_menu_longer_than_the_action_spaces() -> None:
    space = memory_space(_entries())
    longest, leaves = _walk(space)
    assert longest <= MAX_MENU  # before: one "context" menu of 41 options
    assert sorted(leaves) == sorted(["Directive", *(f"File {n}" for n in FILES)])  # every entry still reachable
    context = [space.entries[c].name for c in space.entries["context"].children]
    assert {"docs*", "src*", "tests*"} <= set(context), context  # grouped by folder
    few = memory_space(_entries()[:5])
    assert len(few.entries["context"].children) == 5  # a short folder stays flat


class MemoryWalker(ScriptedModel):
    """Routes 'look up …' to memory/search_memory; in the memory tree walks towards ``want`` (None: finds nothing)."""

    def __init__(self, want: str | None) -> None:
        super().__init__(routes={"look up": "memory/search_memory"})
        self.want = want
        self.menus: list[list[str]] = []

    def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        if "tree of memory" not in json.dumps(request["messages"]):
            return super()._routechoice(request, directive, schema)
        options = [o for o in schema["properties"]["choice"]["enum"] if o != "none"]
        self.menus.append(options)
        want = self.want
        if want is None:
            return {"choice": "none", "reason": "not here"}
        key = want.removeprefix("File ")  # groups are formed from the names without it
        flat = "_".join(t for t in re.split(r"[_\-.\s/:]+", key) if t)
        for option in options:
            first, dots, last = option.partition("..")
            if option in (want, "context") or fnmatch.fnmatchcase(flat, option) or (dots and first <= key <= last):
                return {"choice": option, "reason": ""}
        return {"choice": "none", "reason": ""}


def _context_dir(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"contents of {name}\n")
    return root


async def test_the_memory_router_walks_the_grouped_tree_to_a_file(tmp_path: Path, model_server: Any) -> None:
    walker = MemoryWalker("File project/src/pkg/module_07.py")
    server = model_server(walker)
    swarm = Swarm.create("look up module 7", space=tmp_path / "space", context_files=[_context_dir(tmp_path)])
    outcome = await run_swarm(swarm, server)
    assert outcome.status == "finished", walker.menus
    searcher = next(n for n in swarm.state.nodes.values() if n.action_id == "memory.search_memory")
    assert "contents of src/pkg/module_07.py" in (searcher.report or "")
    # the router opens short folders in place (issue 25: one call where the menu fits), so a menu
    # holds up to FLAT_MENU options, as the action space's do; ungrouped, this one would hold 41
    assert walker.menus and max(len(m) for m in walker.menus) <= FLAT_MENU
    assert len(walker.menus) >= 2  # the grouped tree still takes more than one menu to reach a file


async def test_nothing_in_memory_asks_the_user_within_the_question_budget(tmp_path: Path, model_server: Any) -> None:
    server = model_server(MemoryWalker(None))
    swarm = Swarm.create("look up the budget", space=tmp_path / "a")
    outcome = await run_swarm(swarm, server)
    assert outcome.status == "questions"
    [(node, question)] = swarm.questions()
    assert "could not find this" in question.text and "look up the budget" in question.text
    swarm.answer(question.id, "12,000 euros")
    outcome = await run_swarm(swarm, server)
    assert outcome.status == "finished", outcome.reason
    searcher = swarm.state.nodes[node.id]
    assert "12,000 euros" in (searcher.report or "")
    quiet = Swarm.create("look up the budget", space=tmp_path / "b", settings=None)
    outcome = await run_swarm(quiet, server, limits=Limits(max_questions=0))
    assert outcome.status == "finished"
    searcher = next(n for n in quiet.state.nodes.values() if n.action_id == "memory.search_memory")
    assert (searcher.report or "").startswith("nothing relevant in memory")
