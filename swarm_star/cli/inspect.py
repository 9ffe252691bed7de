"""Reading commands: ``questions``, ``answer``, ``tree``, ``history``, ``list``, ``spaces``."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import re
import time
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from swarm_star.cli.flags import HelpFormatter, check_space, open_swarm
from swarm_star.cli.hints import answer_hint, command_prefix
from swarm_star.errors import InputError, NodeNotFound

if TYPE_CHECKING:
    from swarm_star.api import SwarmView
    from swarm_star.api.reads import ShownTree
    from swarm_star.models import SwarmNode

__all__ = ["add_inspect_commands"]


def add_inspect_commands(sub: Any) -> None:
    """``questions``, ``answer``, ``tree``, ``history``, ``list`` and ``spaces``."""

    def command(name: str, handler: Any, **kw: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, formatter_class=HelpFormatter, **kw)
        p.set_defaults(handler=handler)
        return p

    p = command("questions", cmd_questions, help="list pending questions")
    p.add_argument("swarm_id", help="the swarm to ask")
    p.add_argument("--json", action="store_true", help='print a list of {"id", "node", "text"}')

    p = command(
        "answer",
        cmd_answer,
        help="answer a pending question",
        description="Record an answer; a running swarm picks it up within its poll interval "
        "(0.25 s), a stopped one on resume.",
    )
    p.add_argument("swarm_id", help="the swarm that asked")
    p.add_argument("question_id", help="the question's id, e.g. 0.1-q0 (see `questions`)")
    p.add_argument("text", help="the answer")

    p = command("tree", cmd_tree, help="print the tree now or at frame N")
    p.add_argument("swarm_id", help="the swarm to show")
    p.add_argument("--frame", type=int, metavar="N", help="show the tree as it was right after frame N")
    p.add_argument("--depth", type=int, metavar="N", help="show nodes down to depth N only (the root is 0)")
    p.add_argument("--json", action="store_true", help="print the state and every node as JSON")

    p = command("history", cmd_history, help="list frames, or show one frame in full")
    p.add_argument("swarm_id", help="the swarm to show")
    p.add_argument("frame", nargs="?", type=int, help="show this frame in full")
    p.add_argument("--node", metavar="NODE_ID", help="only frames touching this node")
    p.add_argument("--json", action="store_true", help="print frames as JSON")

    p = command("list", cmd_list, help="list the swarms in the swarm space")
    p.add_argument("--json", action="store_true", help="print a list of objects")

    p = command("spaces", cmd_spaces, help="print the action, memory or util space")
    p.add_argument(
        "which", nargs="?", choices=["action", "memory", "util"], default="action", help="which space to print"
    )
    p.add_argument("--swarm", metavar="ID", help="show this swarm's space, as its store records it")
    p.add_argument(
        "--mcp",
        metavar="FILE",
        help="with the action space: list these MCP servers' tools under tools/ (starts each server once)",
    )


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, as it was afterwards (tests call
    ``main`` many times).

    Why: ``tree``, ``questions`` and ``list`` read a whole tree (11,170 node records made
    ~120,000 objects, all alive until printed, none in a cycle); the collector, triggered by
    the allocations, scanned them and all the imports had made again and again: 0.12 s of
    ``tree``'s 0.6 s (issue 25). Memory is still freed as before (reference counting); only
    cycles wait, so nothing that makes cycles per node (``json.dumps`` with ``indent``) runs
    inside the block."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def view_swarm(args: argparse.Namespace) -> SwarmView:
    """The swarm opened to be shown (``tree``, ``questions``): read without pydantic when the
    store allows (``api/reads.py``)."""
    from swarm_star.api import SwarmView

    return SwarmView(args.swarm_id, space=args.space, backend=args.store, user_id=args.user)


def cmd_questions(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with view_swarm(args) as swarm, collector_off():
        pending = swarm.questions()
        if args.json:
            out.write(json.dumps([{"id": q.id, "node": n.id, "text": q.text} for n, q in pending], indent=2) + "\n")
            return 0
        if not pending:
            out.write("no pending questions\n")
        for node, q in pending:
            out.write(f"[{q.id}] (node {node.id}) {q.text}\n")
        if pending:
            out.write(answer_hint(command_prefix(args), swarm.id, [q.id for _, q in pending]) + "\n")
    return 0


def cmd_answer(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_swarm(args) as swarm:
        swarm.answer(args.question_id, args.text)
        out.write(
            f"answer recorded for {args.question_id}; a running swarm picks it up within 0.25 s, "
            f"otherwise: {command_prefix(args)} resume {swarm.id}\n"
        )
    return 0


def cmd_tree(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.depth is not None and args.depth < 0:
        raise InputError(f"--depth must be 0 or more, got {args.depth}")
    if args.frame is None and not args.json:  # the tree now, drawn: the path without pydantic
        with view_swarm(args) as view, collector_off():
            _draw(f"swarm {view.id}", view.tree(), args.depth, out)
        return 0
    with open_swarm(args) as swarm:
        count = swarm.reader.frame_count()  # from the stored meta: the one replay is the tree's
        if args.frame is not None and not 0 <= args.frame < count:
            raise InputError(f"frame {args.frame} does not exist (0..{count - 1})")
        with collector_off():
            state = swarm.read_tree(args.frame)
            if not args.json:
                _draw(f"swarm {swarm.id}", state, args.depth, out)
                del state  # freed before the collector is back on: it need not scan 10,000 nodes
                return 0
        about = {"swarm_id": swarm.id, "frame": state.frame_count - 1, "status": state.status}
        _write_tree_json({**about, "usage": state.usage.model_dump()}, state.nodes.values(), out)
    return 0


def _draw(name: str, state: ShownTree, depth: int | None, out: TextIO) -> None:
    """The head line and one line per node (``render_tree``), fitted to ``out``'s width."""
    from swarm_star.render.text import fit, render_tree, terminal_width, usage_line

    width = terminal_width(out)
    out.write(fit(f"{name} [{state.status}] at frame {state.frame_count - 1} — {usage_line(state)}", width))
    for line in render_tree(state, width=width, depth=depth):
        out.write("\n" + line)
    out.write("\n")


def _write_tree_json(head: dict[str, Any], nodes: Collection[SwarmNode], out: TextIO) -> None:
    """``head`` plus ``"nodes": [...]`` as ``json.dumps(..., indent=2)`` prints it, one node at a time
    (the whole document of a 10,000-node tree held at once doubled the command's memory)."""
    opened = json.dumps({**head, "nodes": []}, indent=2)
    out.write(opened[: -len("[]\n}")] + "[")
    for i, node in enumerate(nodes):
        text = json.dumps(node.model_dump(mode="json"), indent=2).replace("\n", "\n    ")
        out.write(("," if i else "") + "\n    " + text)
    out.write(("\n  ]" if nodes else "]") + "\n}\n")


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.render.text import event_line, terminal_width

    with open_swarm(args) as swarm:
        if args.frame is not None:
            event = swarm.frame(args.frame)
            if event is None:
                raise InputError(f"frame {args.frame} does not exist in swarm {swarm.id}")
            out.write(json.dumps(event.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
            return 0
        if args.node is not None and swarm.reader.node(args.node) is None:  # a stored record, no replay
            raise NodeNotFound(f"no node {args.node!r} in swarm {swarm.id} (see: tree {swarm.id})")
        events = swarm.history(args.node)  # streamed: a 10k-node history never sits in memory at once
        if args.json:
            out.write("[")
            for i, e in enumerate(events):
                out.write(("," if i else "") + json.dumps(e.model_dump(mode="json"), ensure_ascii=False))
            out.write("]\n")
            return 0
        width = terminal_width(out)
        for e in events:
            out.write(event_line(e, width) + "\n")
    return 0


def cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.api import list_swarms, locate
    from swarm_star.render.text import age, fit, short, terminal_width

    check_space(args)
    where = locate(args.space, args.store, args.user)
    with collector_off():
        rows = list_swarms(where)
    if args.json:
        out.write(json.dumps([row.to_json() for row in rows], indent=2) + "\n")
        return 0
    if not rows:
        place = str(where.space) if args.store == "sqlite" else f"Cosmos DB for user {args.user!r}"
        out.write(f"no swarms in {place}\n")
        return 0
    width = terminal_width(out)
    table = [("ID", "STATUS", "AGE", "COST", "DIRECTIVE")]
    for row in sorted(rows, key=lambda r: natural_key(r.swarm_id)):
        cost = f"${row.cost:.4f}{'+?' if row.unpriced_calls else ''}"
        table.append(
            (row.swarm_id, short(row.shown, 48), age(time.time() - row.created_at), cost, short(row.directive, 50))
        )
    id_w, status_w = max(len(r[0]) for r in table), max(len(r[1]) for r in table)
    for swarm_id, status, when, cost, directive in table:
        out.write(fit(f"{swarm_id:<{id_w}}  {status:<{status_w}}  {when:>5}  {cost:<9}  {directive}", width) + "\n")
    return 0


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """Sort key that orders runs of digits by value: swarm-2 before swarm-10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


def cmd_spaces(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.api import Swarm, load_spaces

    if args.mcp and (args.which != "action" or args.swarm):
        raise InputError("--mcp lists tools in the installed action space: use spaces action --mcp FILE")
    if args.which == "memory" and not args.swarm:
        raise InputError("the memory space belongs to a swarm: add --swarm ID")
    if args.swarm:  # the swarm's spaces as its store records them
        with Swarm.open(args.swarm, space=args.space, backend=args.store, user_id=args.user) as swarm:
            space = swarm.memory_space() if args.which == "memory" else swarm.spaces()[args.which == "util"]
    elif args.mcp:
        from swarm_star import eventloop
        from swarm_star.api.tools import action_space

        space = eventloop.run(action_space(args.mcp))
    else:
        space = load_spaces()[args.which == "util"]
    out.write("\n".join(space.render()) + "\n")
    return 0
