"""The ``swarm-star`` command. ``main(argv) -> int`` so tests call it directly.

Exit codes (stable, documented in the README)::

    0    success (the swarm finished; a read command worked)
    1    failure (the swarm failed, the store or model failed)
    2    usage error (bad arguments, bad input, unknown swarm or question)
    3    questions pending (answer them, then resume)
    4    a limit was reached (resume with a raised limit)
    5    the model endpoint is unreachable (state saved; resume when it is back)
    130  interrupted (Ctrl-C); state is saved, resume continues
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from swarm_star.api import Swarm
from swarm_star.cli_executor import add_executor_flags, executor_from
from swarm_star.cli_models import MODEL_COMMANDS, add_model_commands, add_model_flags, check_prices, model_settings_from
from swarm_star.cli_primitives import add_primitive_commands, cmd_agents, cmd_fanout
from swarm_star.cli_serve import SERVE_COMMANDS, add_serve_commands, live_tree_for, where_to_look
from swarm_star.engine.engine import Engine, RunOutcome
from swarm_star.errors import (
    ConfigError,
    ConflictError,
    InputError,
    QuestionNotFound,
    SwarmNotFound,
    SwarmStarError,
)
from swarm_star.models import Limits, ModelSettings, Question, SwarmEvent, SwarmNode, SwarmSettings
from swarm_star.primitives.hostfile import load_hostfile
from swarm_star.state.projection import SwarmState

__all__ = ["EXIT", "main", "run_main"]

EXIT = {
    "ok": 0,
    "failure": 1,
    "usage": 2,
    "questions": 3,
    "limit": 4,
    "unreachable": 5,
    "interrupted": 130,
}
OUTCOME_EXIT = {"finished": 0, "failed": 1, "questions": 3, "limit": 4, "unreachable": 5}
USAGE_ERRORS = (InputError, ConfigError, SwarmNotFound, QuestionNotFound, ConflictError)


class UsageError(Exception):
    """argparse errors, turned into exit code 2 instead of SystemExit."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _limit_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("limits (a run stops cleanly at the first one reached)")
    g.add_argument("--max-depth", type=int, metavar="N", help="deepest level of the tree")
    g.add_argument("--max-nodes", type=int, metavar="N", help="most nodes in the tree")
    g.add_argument("--max-calls", type=int, metavar="N", help="most model calls")
    g.add_argument("--max-tokens", type=int, metavar="N", help="most tokens (prompt + completion)")
    g.add_argument("--max-cost", type=float, metavar="USD", help="most spend, from the price table")
    g.add_argument("--max-time", type=float, metavar="SEC", help="wall time of this run")
    g.add_argument("--max-rounds", type=int, metavar="N", help="manager review/re-plan rounds")
    g.add_argument("--concurrency", type=int, metavar="N", help="activations in flight")
    p.add_argument(
        "--no-input",
        action="store_true",
        help="never wait for answers: exit 3 when questions are pending",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (see README) instead of the live view",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="swarm-star",
        description="Run a persistent, recursive tree of LLM agents from one directive.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage error, 3 questions pending, 4 limit reached, "
        "5 model endpoint unreachable, 130 interrupted.",
    )
    parser.add_argument("--space", metavar="DIR", help="swarm space folder (default $SWARM_SPACE or ./swarm_space)")
    parser.add_argument("--store", choices=["sqlite", "cosmos"], default="sqlite", help="kv-store backend")
    parser.add_argument("--user", default="local", help="user id (partitions Cosmos DB)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "run",
        help="spawn a directive and run the swarm",
        description="Spawn a root directive and run the swarm until it reports.",
    )
    p.add_argument("directive", help="what the swarm should do")
    p.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="PATH",
        help="context file, folder or git repository for the memory space (repeatable)",
    )
    p.add_argument("--swarm-id", metavar="ID", help="choose the swarm id (default: time-based)")
    p.add_argument("--model", metavar="M", help="model for every role")
    p.add_argument("--base-url", metavar="URL", help="OpenAI-compatible endpoint (e.g. a local vLLM)")
    p.add_argument("--hostfile", metavar="FILE", help="LLM endpoints for the swarm's broadcast/scatter actions")
    p.add_argument("--candidates", type=int, metavar="N", help="candidates per fan-out synthesis (default 5)")
    p.add_argument(
        "--allow-exec",
        action="store_true",
        help="let actions run the code they write (in the workspace)",
    )
    _limit_flags(p)
    add_model_flags(p)
    add_executor_flags(p)

    p = sub.add_parser(
        "resume",
        help="continue an interrupted, stopped or waiting swarm",
        description="Continue a swarm; limits given here replace the stored ones.",
    )
    p.add_argument("swarm_id")
    _limit_flags(p)
    add_model_flags(p)
    add_executor_flags(p)

    p = sub.add_parser("questions", help="list pending questions")
    p.add_argument("swarm_id")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "answer",
        help="answer a pending question",
        description="Record an answer; a running swarm picks it up within a second, a stopped one on resume.",
    )
    p.add_argument("swarm_id")
    p.add_argument("question_id")
    p.add_argument("text")

    p = sub.add_parser("tree", help="print the tree now or at frame N")
    p.add_argument("swarm_id")
    p.add_argument("--frame", type=int, metavar="N", help="show the tree as it was right after frame N")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("history", help="list frames, or show one frame in full")
    p.add_argument("swarm_id")
    p.add_argument("frame", nargs="?", type=int, help="show this frame in full")
    p.add_argument("--node", metavar="NODE_ID", help="only frames touching this node")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("list", help="list the swarms in the swarm space")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("spaces", help="print the action, memory or util space")
    p.add_argument("which", nargs="?", choices=["action", "memory", "util"], default="action")
    p.add_argument("--swarm", metavar="ID", help="swarm whose memory space to show")

    sub.add_parser("demo", help="run a complete swarm locally with a scripted model (no API key)")
    add_primitive_commands(sub)
    add_model_commands(sub)
    add_serve_commands(sub)
    return parser


# formatting


def _usage_line(state: SwarmState) -> str:
    u = state.usage
    return f"{len(state.nodes)} nodes · {u.calls} calls · {u.tokens} tokens · {u.cost_text()}"


def _node_label(node: SwarmNode) -> str:
    return f"{node.id} {node.role.value}:{node.action_id.split('.')[-1]}"


def _short(text: str | None, width: int = 70) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _checks_mark(node: SwarmNode) -> str:
    """' ✓verified', ' ✗unverified' (with the number of verdicts), or nothing if never checked."""
    if not node.checks:
        return ""
    tries = f"({len(node.checks)})" if len(node.checks) > 1 else ""
    return f" ✓verified{tries}" if node.checks[-1].ok else f" ✗unverified{tries}"


def render_tree(state: SwarmState) -> list[str]:
    lines: list[str] = []
    root = state.root
    if root is None:
        return ["(empty)"]

    def walk(node_id: str, prefix: str, last: bool, top: bool) -> None:
        node = state.nodes[node_id]
        used = state.subtree_usage(node_id)
        branch = "" if top else ("└─ " if last else "├─ ")
        lines.append(
            f"{prefix}{branch}{_node_label(node)} [{node.status.value}] ${used.cost:.4f} {used.calls}c"
            f"{_checks_mark(node)} — {_short(node.directive, 60)}"
        )
        child_prefix = prefix + ("" if top else ("   " if last else "│  "))
        for i, child in enumerate(node.children):
            walk(child, child_prefix, i == len(node.children) - 1, False)

    walk(root.id, "", True, True)
    return lines


def _summary(event: SwarmEvent) -> str:
    op = event.op
    kind = op.kind
    if kind == "spawn":
        return f"{op.role.value} {op.action_id}: {_short(op.directive, 60)}"
    if kind == "llm_call":
        return f"{op.purpose} via {op.model} ({op.usage.tokens} tokens, {op.attempts} attempt(s))"
    if kind == "ask_user":
        return f"asks [{op.question_id}]: {_short(op.question, 60)}"
    if kind == "user_answer":
        return f"answer [{op.question_id}]: {_short(op.answer, 60)}"
    if kind == "terminate":
        return f"report: {_short(op.report, 60)}"
    if kind == "fail":
        return f"error: {_short(op.error, 60)}"
    if kind == "run_action":
        return f"activation {op.activation} ({op.reason})"
    if kind == "stop":
        return f"stopped: {op.reason}"
    if kind == "resume":
        return "resumed"
    if kind == "save_memory":
        return f"memory {op.folder}: {_short(op.title, 50)}"
    if kind == "verdict":
        who = f" ({op.model})" if op.model else ""
        return f"{op.stage}{who} {'passed' if op.ok else 'failed'}: {_short('; '.join(op.reasons), 50)}"
    if kind == "action_created":
        return f"new action {op.action_id} ({op.path})"
    return kind


def _outcome_json(swarm: Swarm, outcome: RunOutcome) -> dict[str, Any]:
    state = swarm.state
    return {
        "swarm_id": swarm.id,
        "status": outcome.status,
        "reason": outcome.reason,
        "report": outcome.report,
        "questions": [{"id": q.id, "node": node, "text": q.text} for node, q in outcome.questions],
        "usage": state.usage.model_dump(),
        "nodes": len(state.nodes),
        "frames": state.frame_count,
    }


# commands


def _limits_from(args: argparse.Namespace, base: Limits) -> Limits | None:
    changes = {
        name: getattr(args, name)
        for name in (
            "max_depth",
            "max_nodes",
            "max_calls",
            "max_tokens",
            "max_cost",
            "max_time",
            "max_rounds",
            "concurrency",
        )
        if getattr(args, name, None) is not None
    }
    if not changes:
        return None
    try:
        return Limits.model_validate({**base.model_dump(), **changes})
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": ("?",), "msg": str(exc)}  # type: ignore[union-attr]
        raise InputError(f"invalid limit --{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from exc


class LiveView:
    """Line-per-event progress on a terminal, plus inline answering of questions."""

    def __init__(self, swarm: Swarm, out: TextIO, interactive: bool) -> None:
        self.swarm = swarm
        self.out = out
        self.interactive = interactive
        self.engine: Engine | None = None
        self._ask_lock: asyncio.Lock | None = None
        self._last_totals = 0.0

    def on_event(self, event: SwarmEvent) -> None:
        kind = event.op.kind
        node = getattr(event.op, "node_id", "")
        if kind in ("spawn", "terminate", "fail", "ask_user", "user_answer", "stop"):
            self.out.write(f"  [{event.frame:>5}] {node:<12} {_summary(event)}\n")
        now = time.monotonic()
        if self.engine is not None and (now - self._last_totals > 2 or (kind == "terminate" and node == "0")):
            self._last_totals = now
            self.out.write(f"          ── {_usage_line(self.engine.state)}\n")
        self.out.flush()

    def on_question(self, node: SwarmNode, question: Question) -> None:
        if self.interactive:
            asyncio.get_running_loop().create_task(self._ask(node, question))

    async def _ask(self, node: SwarmNode, question: Question) -> None:
        if self._ask_lock is None:
            self._ask_lock = asyncio.Lock()
        async with self._ask_lock:
            self.out.write(f"\n? [{question.id}] {question.text}\n> ")
            self.out.flush()
            text = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            text = text.strip() or "(no answer)"
            if self.engine is not None:
                self.engine.answer(question.id, text)


def _run_swarm(swarm: Swarm, args: argparse.Namespace, limits: Limits | None, out: TextIO, **run_kw: Any) -> int:
    # Wait for answers unless told not to or nobody can type them; prompt inline
    # only in the live view (with --json, answers come from `swarm-star answer`).
    waiting = not args.no_input and sys.stdin.isatty()
    view = LiveView(swarm, out, waiting and not args.json)
    tree = None if args.json else live_tree_for(swarm, out, waiting)  # the live tree on a terminal
    shown = tree or view

    def grab(engine: Engine) -> None:
        view.engine = engine
        if tree is not None:
            tree.engine = engine

    if not args.json:
        out.write(f"swarm {swarm.id}: {_short(swarm.state.record.directive, 80)}\n")
    try:
        with tree if tree is not None else contextlib.nullcontext():
            outcome = asyncio.run(
                swarm.run(
                    limits=limits,
                    interactive=waiting,
                    on_question=shown.on_question,
                    on_event=None if args.json else shown.on_event,
                    on_engine=grab,
                    executor=executor_from(args),
                    **run_kw,
                )
            )
    except KeyboardInterrupt:
        out.write(f"\ninterrupted; state saved. Continue with: swarm-star resume {swarm.id}\n")
        return EXIT["interrupted"]
    if args.json:
        out.write(json.dumps(_outcome_json(swarm, outcome), indent=2) + "\n")
        return OUTCOME_EXIT[outcome.status]
    out.write(f"\n{_usage_line(swarm.state)}\n")
    if outcome.status == "finished":
        out.write(f"\nFinal report:\n{outcome.report}\n")
    elif outcome.status == "questions":
        out.write("\nQuestions are pending:\n")
        for node, q in outcome.questions:
            out.write(f"  [{q.id}] (node {node}) {q.text}\n")
        out.write(f'Answer with: swarm-star answer {swarm.id} QUESTION_ID "TEXT", then: swarm-star resume {swarm.id}\n')
    elif outcome.status == "limit":
        out.write(f"\nStopped: {outcome.reason}. Raise it and continue: swarm-star resume {swarm.id} --max-...\n")
    elif outcome.status == "unreachable":
        out.write(f"\nPaused: {outcome.reason}. State saved; when it is back: swarm-star resume {swarm.id}\n")
    else:
        out.write(f"\nThe swarm failed: {outcome.reason}\n")
    out.write(where_to_look(swarm))
    return OUTCOME_EXIT[outcome.status]


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    models = model_settings_from(
        args, ModelSettings(base_url=args.base_url, **({"default_model": args.model} if args.model else {}))
    )
    limits = _limits_from(args, Limits()) or Limits()
    if args.candidates is not None and not 1 <= args.candidates <= 256:
        raise InputError(f"--candidates must be 1-256, got {args.candidates}")
    hostfile = None
    if args.hostfile:
        hostfile = str(Path(args.hostfile).resolve())
        load_hostfile(hostfile)  # a malformed hostfile is a usage error now, not a failed node later
    settings = SwarmSettings(
        limits=limits,
        models=models,
        allow_exec=args.allow_exec,
        hostfile=hostfile,
        **({"fanout_candidates": args.candidates} if args.candidates is not None else {}),
    )
    from swarm_star.llm import resolve_endpoint

    resolve_endpoint(models)  # fail fast, before anything is created
    check_prices(models, limits, None if args.json else sys.stderr)  # --max-cost needs known prices
    swarm = Swarm.create(
        args.directive,
        context_files=args.context,
        settings=settings,
        space=args.space,
        backend=args.store,
        swarm_id=args.swarm_id,
        user_id=args.user,
    )
    with swarm:
        return _run_swarm(swarm, args, None, out)


def cmd_resume(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as swarm:
        limits = _limits_from(args, swarm.state.limits)
        if swarm.state.status in ("finished", "failed") and limits is None:
            out.write(f"swarm {swarm.id} already {swarm.state.status}; nothing to resume\n")
            if swarm.state.status == "failed":
                out.write(f"re-run its failed nodes with: swarm-star retry {swarm.id}\n")
            return 0 if swarm.state.status == "finished" else 1
        models = model_settings_from(args, swarm.settings.models)
        if limits is not None and limits.max_cost is not None:
            check_prices(models, limits)
        return _run_swarm(swarm, args, limits, out, models=models)


def _open(args: argparse.Namespace) -> Swarm:
    return Swarm.open(args.swarm_id, space=args.space, backend=args.store, user_id=args.user)


def cmd_questions(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as swarm:
        pending = swarm.questions()
        if args.json:
            out.write(json.dumps([{"id": q.id, "node": n.id, "text": q.text} for n, q in pending], indent=2) + "\n")
        elif not pending:
            out.write("no pending questions\n")
        for node, q in [] if args.json else pending:
            out.write(f"[{q.id}] (node {node.id}) {q.text}\n")
    return 0


def cmd_answer(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as swarm:
        swarm.answer(args.question_id, args.text)
        out.write(
            f"answer recorded for {args.question_id}; a running swarm picks it up now, "
            f"otherwise: swarm-star resume {swarm.id}\n"
        )
    return 0


def cmd_tree(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as swarm:
        if args.frame is not None and not 0 <= args.frame < swarm.state.frame_count:
            raise InputError(f"frame {args.frame} does not exist (0..{swarm.state.frame_count - 1})")
        state = swarm.tree(args.frame)
        if args.json:
            out.write(
                json.dumps(
                    {
                        "swarm_id": swarm.id,
                        "frame": state.frame_count - 1,
                        "status": state.status,
                        "usage": state.usage.model_dump(),
                        "nodes": [n.model_dump(mode="json") for n in state.nodes.values()],
                    },
                    indent=2,
                )
                + "\n"
            )
            return 0
        out.write(f"swarm {swarm.id} [{state.status}] at frame {state.frame_count - 1} — {_usage_line(state)}\n")
        out.write("\n".join(render_tree(state)) + "\n")
    return 0


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as swarm:
        if args.frame is not None:
            event = swarm.log.frame(args.frame)
            if event is None:
                raise InputError(f"frame {args.frame} does not exist in swarm {swarm.id}")
            out.write(json.dumps(event.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
            return 0
        events = swarm.history(args.node)  # streamed: a 10k-node history never sits in memory at once
        if args.json:
            out.write("[")
            for i, e in enumerate(events):
                out.write(("," if i else "") + json.dumps(e.model_dump(mode="json"), ensure_ascii=False))
            out.write("]\n")
            return 0
        for e in events:
            stamp = time.strftime("%H:%M:%S", time.localtime(e.time))
            node = getattr(e.op, "node_id", "-")
            out.write(f"{e.frame:>6}  {stamp}  {e.op.kind:<14} {node:<12} {_summary(e)}\n")
    return 0


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from swarm_star.store import StoreLocator, resolve_space

    locator = StoreLocator(resolve_space(args.space), args.store, user_id=args.user)
    rows = []
    for swarm_id in locator.list_swarm_ids():
        with locator.open(swarm_id) as store:
            from swarm_star.state.history import SwarmLog

            log = SwarmLog(store)
            record, meta = log.record(), log.read_meta() or {}
            rows.append(
                {
                    "swarm_id": swarm_id,
                    "status": meta.get("status", "created"),
                    "directive": record.directive,
                    "created_at": record.created_at,
                    "cost": (meta.get("usage") or {}).get("cost", 0.0),
                    "unpriced_calls": (meta.get("usage") or {}).get("unpriced_calls", 0),
                    "nodes": meta.get("nodes", 0),
                }
            )
    if args.json:
        out.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        out.write(f"no swarms in {locator.space}\n")
    for row in rows:
        age = _age(time.time() - row["created_at"])
        out.write(
            f"{row['swarm_id']:<26} {row['status']:<9} {age:>5}  ${row['cost']:.4f}"
            f"{'+?' if row['unpriced_calls'] else ''}  {_short(row['directive'], 50)}\n"
        )
    return 0


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def cmd_spaces(args: argparse.Namespace, out: TextIO) -> int:
    from swarm_star.api import load_spaces
    from swarm_star.spaces.memory import memory_space

    actions, utils = load_spaces()
    if args.which == "memory":
        if not args.swarm:
            raise InputError("the memory space belongs to a swarm: add --swarm ID")
        with Swarm.open(args.swarm, space=args.space, backend=args.store, user_id=args.user) as swarm:
            space = memory_space(swarm.state.memory.values())
    else:
        space = actions if args.which == "action" else utils
    out.write("\n".join(space.render()) + "\n")
    return 0


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from swarm_star.demo import run_demo

    return run_demo(space=args.space, out=out)


COMMANDS = {
    "run": cmd_run,
    "resume": cmd_resume,
    "questions": cmd_questions,
    "answer": cmd_answer,
    "tree": cmd_tree,
    "history": cmd_history,
    "list": cmd_list,
    "spaces": cmd_spaces,
    "demo": cmd_demo,
    **MODEL_COMMANDS,
}
COMMANDS.update(SERVE_COMMANDS)
STANDALONE_COMMANDS = {"fanout": cmd_fanout, "agents": cmd_agents}  # these also write to stderr


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out):  # --help goes where the caller reads
            args = parser.parse_args(argv)
    except UsageError as exc:
        err.write(f"swarm-star: error: {exc}\n")
        return EXIT["usage"]
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return EXIT["usage"]
    try:
        if args.command in STANDALONE_COMMANDS:
            return STANDALONE_COMMANDS[args.command](args, out, err)
        return COMMANDS[args.command](args, out)
    except USAGE_ERRORS as exc:
        if args.verbose:
            raise
        err.write(f"swarm-star: error: {exc}\n")
        return EXIT["usage"]
    except SwarmStarError as exc:
        if args.verbose:
            raise
        err.write(f"swarm-star: error: {exc}\n")
        return EXIT["failure"]
    except KeyboardInterrupt:
        err.write("swarm-star: interrupted\n")
        return EXIT["interrupted"]


def run_main() -> None:
    """Console-script entry point."""
    sys.exit(main())
