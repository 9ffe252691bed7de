"""The live terminal tree when the tree is taller than the screen, and failures in finished trees.

Drawn by ``swarm-star watch`` in a real pseudo-terminal of 150×18; what ends
up on the screen is read back with ``pyte`` (a terminal emulator), so the
check is on the lines a user sees, after every cursor movement and redraw.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pyte

from swarm_star.models import AwaitChildren, Fail, NodeRole, Terminate
from swarm_star.render.live import tree_lines
from swarm_star.state.projection import SwarmState
from tests.helpers.big_tree import TreeWriter, write_big_tree

COLUMNS, ROWS = 150, 18
# a tree line: connectors (3 characters a level), the status mark, the node id
NODE_LINE = re.compile(r"^(?P<lead>(?:[│ ]  |├─ |└─ )*)(?P<mark>[·▶◔?✓✗]) (?P<id>0(?:\.\d+)*) ")
MORE_LINE = re.compile(r"^(?P<lead>(?:[│ ]  |├─ |└─ )*)… (?P<count>\d+) more")


def _tall_tree(space: Path) -> SwarmState:
    """40 nodes: root > manager > 8 routers; six of them act, each action with 4 running leaves;
    the first routers wait for their parts, the last two are still pending."""
    w = TreeWriter(space, "tall")
    w.node("0", None, NodeRole.ROOT, "plan the conference")
    w.node("0.0", "0", NodeRole.MANAGER, "plan the conference")
    for r in range(8):
        router = f"0.0.{r}"
        w.node(router, "0.0", NodeRole.ROUTER, f"part {r} of the conference")
        if r < 6:
            action = f"{router}.0"
            w.node(action, router, NodeRole.ACTION, f"do part {r}")
            for k in range(4):
                w.node(f"{action}.{k}", action, NodeRole.ACTION, f"step {k} of part {r}")
            w.emit(AwaitChildren(node_id=action), [action])
            w.emit(AwaitChildren(node_id=router), [router])
    w.emit(AwaitChildren(node_id="0.0"), ["0.0"])
    w.emit(AwaitChildren(node_id="0"), ["0"])
    w.commit()
    state = w.state
    w.close()
    assert len(state.nodes) == 40
    return state


def _screen_of_watch(space: Path, swarm_id: str) -> list[str]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of 150×18, then watch draws the live tree once
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SWARM_SPACE"))}
        env.update(TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(ROWS))
        argv = [sys.executable, "-m", "swarm_star", "--space", str(space), "watch", swarm_id, "--once"]
        os.execve(sys.executable, argv, env)
    screen = pyte.Screen(COLUMNS, ROWS)
    stream = pyte.ByteStream(screen)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            stream.feed(chunk)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "\n".join(screen.display)
    return [line.rstrip() for line in screen.display]


def _check_structure(lines: list[str], state: SwarmState) -> tuple[list[str], int]:
    """Every shown node sits under its true parent, every connector is true, and each
    parent's shown children plus its ``… N more`` lines account for all its children.
    Returns the shown ids and the number of marked (elided) lines."""
    shown: list[str] = []
    stack: list[str] = []  # the shown ancestors of the current line, by level
    marked = 0
    tree = [line for line in lines if NODE_LINE.match(line) or MORE_LINE.match(line)]
    accounted: dict[str, int] = {}
    for pos, line in enumerate(tree):
        found = NODE_LINE.match(line) or MORE_LINE.match(line)
        assert found is not None
        lead = found.group("lead")
        level = len(lead) // 3
        stack = stack[:level]
        parent = stack[-1] if stack else None
        later = [NODE_LINE.match(x) or MORE_LINE.match(x) for x in tree[pos + 1 :]]
        siblings_after = False
        for m in later:  # is there another entry under the same parent further down?
            assert m is not None
            other = len(m.group("lead")) // 3
            if other < level:
                break
            if other == level:
                siblings_after = True
                break
        if level:
            assert lead.endswith("├─ " if siblings_after else "└─ "), (line, siblings_after)
            for depth in range(level - 1):  # a vertical bar only where that level goes on
                cell = lead[depth * 3]
                ancestor_goes_on = False
                for m in later:
                    assert m is not None
                    other = len(m.group("lead")) // 3
                    if other <= depth:
                        break
                    if other == depth + 1:
                        ancestor_goes_on = True
                        break
                assert (cell == "│") == ancestor_goes_on, (line, depth)
        if found.re is MORE_LINE:
            marked += 1
            assert parent is not None
            accounted[parent] = accounted.get(parent, 0) + int(found.group("count"))
            continue
        node_id = found.group("id")
        assert state.nodes[node_id].parent_id == parent, f"{node_id} drawn under {parent}: {line}"
        if parent is not None:
            accounted[parent] = accounted.get(parent, 0) + 1
        shown.append(node_id)
        stack.append(node_id)
    for node_id in shown:
        node = state.nodes[node_id]
        if accounted.get(node_id):
            assert accounted[node_id] == len(node.children), (node_id, accounted[node_id])
    return shown, marked


def test_a_tree_taller_than_the_screen_keeps_every_child_under_its_parent(tmp_path: Path) -> None:
    state = _tall_tree(tmp_path)
    lines = _screen_of_watch(tmp_path, "tall")
    shown, marked = _check_structure(lines, state)
    assert len(shown) >= 4 and marked >= 1, "\n".join(lines)  # taller than the screen: rows elided, marked
    assert any(state.nodes[n].status == "running" for n in shown)
    assert "40 nodes" in "\n".join(lines)
    # the same check straight on the lines, at several heights
    for room in (3, 5, 7, 12, 20, 39):
        drawn = [text for text, _ in tree_lines(state, 150, room)]
        assert len(drawn) <= room
        _check_structure(drawn, state)


def test_failures_are_never_folded_in_a_finished_tree(tmp_path: Path) -> None:
    w = TreeWriter(tmp_path, "f")
    w.node("0", None, NodeRole.ROOT, "two parts")
    w.node("0.0", "0", NodeRole.MANAGER, "two parts")
    for r in range(2):
        w.node(f"0.0.{r}", "0.0", NodeRole.ROUTER, f"part {r}")
        w.node(f"0.0.{r}.0", f"0.0.{r}", NodeRole.ACTION, f"do part {r}")
    w.emit(Terminate(node_id="0.0.0.0", report="done"), ["0.0.0.0"])
    w.emit(Terminate(node_id="0.0.0", report="done"), ["0.0.0"])
    w.emit(Fail(node_id="0.0.1.0", error="no leaf fits"), ["0.0.1.0"])
    w.emit(Fail(node_id="0.0.1", error="no leaf fits"), ["0.0.1"])
    w.emit(Terminate(node_id="0.0", report="half done", partial="1 of 2 parts failed"), ["0.0"])
    w.emit(Terminate(node_id="0", report="half done", partial="1 of 2 parts failed"), ["0"])
    w.commit()
    state = w.state
    w.close()
    text = "\n".join(t for t, _ in tree_lines(state, 150))
    assert "✗ 0.0.1 router" in text and "✗ 0.0.1.0 action" in text, text  # in sight, not folded
    assert "✓ 0.0.0 router:answer $0.0000 0c (+1 nodes)" in text  # the part without failures folds
    assert "(2 failed below)" in text
    lines = _screen_of_watch(tmp_path, "f")
    assert any("✗ 0.0.1.0" in line for line in lines), "\n".join(lines)


def test_finished_big_trees_still_fold(tmp_path: Path) -> None:
    state = write_big_tree(tmp_path, "big", (4, 4))
    assert len(tree_lines(state, width=120)) == 5
