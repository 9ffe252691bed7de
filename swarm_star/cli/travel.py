"""Travelling in a swarm's time: ``fork`` (a new swarm from any frame) and ``timeline``
(what ran when, as a text Gantt chart)."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from swarm_star.cli.flags import HelpFormatter, open_swarm
from swarm_star.cli.hints import command_prefix

__all__ = ["add_travel_commands"]


def add_travel_commands(sub: Any) -> None:
    """``fork`` and ``timeline``."""
    p = sub.add_parser(
        "fork",
        formatter_class=HelpFormatter,
        help="make a new swarm from any frame of one (its history up to there), to resume differently",
        description="A new swarm whose history is frames 0..N of SWARM: its tree at N is SWARM's, its "
        "workspace is as it was then, and it is stopped, so `resume` continues it (with new limits or "
        "models if you give them; a question asked by then and answered later can be answered anew). "
        "Model calls recorded by frame N are reused, never paid again. SWARM is not changed.",
    )
    p.set_defaults(handler=cmd_fork)
    p.add_argument("swarm_id", help="the swarm to fork")
    p.add_argument(
        "--frame",
        type=int,
        required=True,
        metavar="N",
        help="the last frame the fork keeps (inside an activation's outcome: the end of that outcome)",
    )
    p.add_argument("--swarm-id", dest="new_id", metavar="ID", help="the fork's id (default: time-based)")
    p.add_argument("--json", action="store_true", help='print {"swarm_id", "forked_from", "frame", "status"}')

    p = sub.add_parser(
        "timeline",
        formatter_class=HelpFormatter,
        help="show what ran when: node activations and model calls over time (a text Gantt chart)",
        description="From the frames' timestamps: each node's activations on one row, its model calls, "
        "steps and tool calls under it, what ran in parallel, and the slowest calls.",
    )
    p.set_defaults(handler=cmd_timeline)
    p.add_argument("swarm_id", help="the swarm to show")
    p.add_argument("--nodes-only", action="store_true", help="leave out the rows of calls")
    p.add_argument("--json", action="store_true", help="print the bars as JSON")


def cmd_fork(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_swarm(args) as swarm, swarm.fork(args.frame, args.new_id) as fork:
        record = fork.reader.record()
        frame = fork.reader.frame_count() - 2  # its frames 0..N, then the stop that says so
        if args.json:
            body = {"swarm_id": fork.id, "forked_from": swarm.id, "frame": frame, "status": fork.state.status}
            out.write(json.dumps(body, indent=2) + "\n")
            return 0
        pending = len(fork.questions())
        asked = f"; {pending} question(s) wait for an answer" if pending else ""
        out.write(
            f"forked {record.forked_from} as {fork.id}: frames 0..{frame}, stopped{asked}\n"
            f"continue it with: {command_prefix(args)} resume {fork.id}\n"
        )
    return 0


def cmd_timeline(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.render.text import terminal_width  # not at import: --help loads no models
    from swarm_star.render.timeline import timeline_lines

    with open_swarm(args) as swarm:
        line = swarm.timeline()
        if args.json:
            out.write(json.dumps({"swarm_id": swarm.id, **line.to_json()}, indent=2) + "\n")
            return 0
        out.write(f"timeline of swarm {swarm.id}\n")
        out.write("\n".join(timeline_lines(line, width=terminal_width(out), calls=not args.nodes_only)) + "\n")
    return 0
