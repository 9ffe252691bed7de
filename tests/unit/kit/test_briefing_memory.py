"""Which memory entries a briefing shows a node, on a tree written frame by frame into a real store.

The rules (``kit/briefing.py``): the context but the directive; results saved before the node
existed, by finished nodes outside its own subtree; never the layout record, never a
prerequisite's own results (they have a section of their own); only the window of entries
that existed when the node was spawned.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from swarm_star.engine.context import ActionContext
from swarm_star.kit.briefing import RECENT_SCAN, relevant_memory
from swarm_star.models import AFTER_KEY, NodeRole, SaveMemory, Spawn, Terminate
from swarm_star.spaces.memory import LAYOUT_FOLDER
from tests.helpers.big_tree import TreeWriter


def _save(w: TreeWriter, node_id: str, folder: str, title: str) -> None:
    entry = f"{folder}.{node_id}.{len(w.state.memory)}"
    op = SaveMemory(node_id=node_id, entry_id=entry, folder=folder, title=title, content=f"about {title}")
    w.emit(op, [node_id])


def _done(w: TreeWriter, node_id: str) -> None:
    w.emit(Terminate(node_id=node_id, report="done"), [node_id])


def _shown(w: TreeWriter, node_id: str) -> list[str]:
    ctx = ActionContext(SimpleNamespace(state=w.state), w.state.nodes[node_id], 0, "start")  # type: ignore[arg-type]
    text = asyncio.run(relevant_memory(ctx, budget=10**6, use_router=False))
    return [line.split(":")[0].removeprefix("- ") for line in text.splitlines()]


def test_a_node_is_shown_context_and_earlier_results_from_outside_its_subtree(tmp_path: Path) -> None:
    w = TreeWriter(tmp_path, "brief", directive="build it")
    w.node("0", None, NodeRole.ROOT, "build it")
    _save(w, "0", "context", "Directive")
    _save(w, "0", "context", "File notes.md")
    _save(w, "0", LAYOUT_FOLDER, "layout")
    w.node("0.0", "0", NodeRole.MANAGER, "build it")
    for k in range(4):
        w.node(f"0.0.{k}", "0.0", NodeRole.ROUTER, f"part {k}")
    _save(w, "0.0.0", "results", "part 0 result")
    _done(w, "0.0.0")
    w.node("0.0.1.0", "0.0.1", NodeRole.ACTION, "part 1")
    _save(w, "0.0.1.0", "results", "part 1 leaf result")
    _done(w, "0.0.1.0")
    _save(w, "0.0.2", "results", "part 2 unfinished")  # its saver is still running
    prereq = Spawn(
        node_id="0.0.4",
        parent_id="0.0",
        role=NodeRole.ROUTER,
        action_id="core.answer",
        directive="part 4",
        context={AFTER_KEY: ["0.0.1"]},
    )
    w.emit(prereq, ["0.0.4", "0.0"])
    w.node("0.0.4.0", "0.0.4", NodeRole.ACTION, "part 4")
    w.node("0.0.3.0", "0.0.3", NodeRole.ACTION, "part 3")
    _save(w, "0.0.3.0", "results", "a sibling leaf")
    _done(w, "0.0.3.0")
    w.node("0.0.3.1", "0.0.3", NodeRole.ACTION, "part 3 again")

    # 0.0.3.1: not the directive nor the layout; part 0's result (saved, saver done, before it was
    # spawned); part 1's leaf; not part 2's (its saver is not done); its sibling's
    assert _shown(w, "0.0.3.1") == ["File notes.md", "part 0 result", "part 1 leaf result", "a sibling leaf"]
    # part 3's router: not what its own subtree saved (nor anything saved after it was spawned)
    assert _shown(w, "0.0.3") == ["File notes.md"]
    # 0.0.4.0 waits for part 1 (after, on its router): part 1's results are its prerequisite's, shown apart
    assert _shown(w, "0.0.4.0") == ["File notes.md", "part 0 result"]
    # spawned after part 0's result was saved, before the rest
    assert _shown(w, "0.0.1.0") == ["File notes.md", "part 0 result"]


def test_a_node_looks_at_the_newest_window_of_earlier_results(tmp_path: Path) -> None:
    w = TreeWriter(tmp_path, "window", directive="many parts")
    w.node("0", None, NodeRole.ROOT, "many parts")
    _save(w, "0", "context", "File spec.md")
    w.node("0.0", "0", NodeRole.MANAGER, "many parts")
    parts = RECENT_SCAN + 30
    for k in range(parts):
        w.node(f"0.0.{k}", "0.0", NodeRole.ROUTER, f"part {k}")
        _save(w, f"0.0.{k}", "results", f"result {k}")
        _done(w, f"0.0.{k}")
    w.node("0.0.last", "0.0", NodeRole.ROUTER, "the last part")
    shown: list[Any] = _shown(w, "0.0.last")
    assert shown == ["File spec.md", *(f"result {k}" for k in range(parts - RECENT_SCAN, parts))]


def test_over_budget_the_pick_comes_first_then_context_then_results_sharing_words(tmp_path: Path) -> None:
    w = TreeWriter(tmp_path, "rank", directive="tune the parser speed")
    w.node("0", None, NodeRole.ROOT, "tune the parser speed")
    _save(w, "0", "context", "File unrelated.md")
    w.node("0.0", "0", NodeRole.MANAGER, "tune the parser speed")
    titles = ["colour of our logo", "parser speed measured", "logo font", "parser rewritten"]
    for k, title in enumerate(titles):
        w.node(f"0.0.{k}", "0.0", NodeRole.ROUTER, f"part {k}")
        _save(w, f"0.0.{k}", "results", title)
        _done(w, f"0.0.{k}")
    w.node("0.0.9", "0.0", NodeRole.ROUTER, "tune the parser speed")
    ctx = ActionContext(SimpleNamespace(state=w.state), w.state.nodes["0.0.9"], 0, "start")  # type: ignore[arg-type]
    every = asyncio.run(relevant_memory(ctx, budget=10**6, use_router=False)).splitlines()
    room = sum(len(line) + 1 for line in every[:4])  # room for four of the five
    text = asyncio.run(relevant_memory(ctx, budget=room, use_router=False, pick=["results.0.0.2.3"]))
    shown = [line.split(":")[0].removeprefix("- ") for line in text.splitlines()]
    assert shown == ["logo font", "File unrelated.md", "parser speed measured", "parser rewritten"]
