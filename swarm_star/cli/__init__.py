"""The ``swarm-star`` command. ``main(argv) -> int`` so tests call it directly.

This module holds argument handling and dispatch only; what is shown comes
from :mod:`swarm_star.render.text`. Other command groups live in their own
modules and register here through ``COMMAND_GROUPS`` (each is a function
``register(subparsers)`` that adds parsers with ``set_defaults(handler=...)``,
a handler being ``handler(args, out, err) -> int``). Groups run after the
built-in commands exist, so one may also add flags to them
(``sub.choices["run"].add_argument(...)``); the global flags are added to every
command afterwards, so groups need not repeat them.

Exit codes (stable, documented in the README)::

    0    success (the swarm finished; a read command worked; output cut by a closed pipe)
    1    failure (the swarm failed, the store or model failed)
    2    usage error (bad arguments, bad input, unknown swarm, node or question)
    3    questions pending (answer them, then resume)
    4    a limit was reached (resume with a raised limit)
    130  interrupted (Ctrl-C); state is saved, resume continues
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from swarm_star.api import Swarm
from swarm_star.cli.executor import add_executor_flags, executor_from
from swarm_star.cli.models import add_model_commands, add_model_flags, check_prices, model_settings_from
from swarm_star.cli.primitives import add_primitive_commands
from swarm_star.cli.serve import add_serve_commands, live_tree_for, where_to_look
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
from swarm_star.models.config import CodeSettings
from swarm_star.primitives.hostfile import load_hostfile
from swarm_star.render.text import age, event_line, fit, render_tree, short, summary, terminal_width, usage_line

__all__ = ["COMMAND_GROUPS", "EXIT", "HelpFormatter", "build_parser", "command_prefix", "main", "run_main"]

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
MAX_DIRECTIVE_BYTES = 1_000_000

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


class UsageError(Exception):
    """argparse errors, turned into exit code 2 instead of SystemExit."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: …)`` for arguments that have a real default, never ``None``/``False``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, [], argparse.SUPPRESS) or "%(default)" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


# flags


def _global_flags(p: argparse.ArgumentParser, *, after_command: bool) -> None:
    """``--space/--store/--user/--verbose``: before the command (with defaults) and after it
    (without defaults, so a value given before the command is not overwritten)."""
    keep = argparse.SUPPRESS if after_command else None
    g = p.add_argument_group("global options (also accepted before the command)") if after_command else p
    g.add_argument(
        "--space", metavar="DIR", default=keep, help="swarm space folder (default $SWARM_SPACE or ./swarm_space)"
    )
    g.add_argument(
        "--store",
        choices=["sqlite", "cosmos"],
        default=keep if after_command else "sqlite",
        help="kv-store backend (default sqlite; cosmos reads COSMOS_* from the environment)",
    )
    g.add_argument(
        "--user",
        metavar="ID",
        default=keep if after_command else "local",
        help="user id: partitions Cosmos DB (default local)",
    )
    g.add_argument(
        "--verbose",
        action="store_true",
        default=keep if after_command else False,
        help="show the full traceback of an error",
    )


def _limit_flags(p: argparse.ArgumentParser, *, resume: bool) -> None:
    fields = Limits.model_fields

    def default(name: str) -> str:
        if resume:
            return "replaces the stored value"
        value = fields[name].default
        return f"default {value}" if value is not None else "default: none"

    title = "limits (a run stops cleanly at the first one reached"
    title += "; given here they replace the stored ones)" if resume else ")"
    g = p.add_argument_group(title)
    g.add_argument("--max-depth", type=int, metavar="N", help=f"deepest level of the tree ({default('max_depth')})")
    g.add_argument("--max-nodes", type=int, metavar="N", help=f"most nodes in the tree ({default('max_nodes')})")
    g.add_argument("--max-calls", type=int, metavar="N", help=f"most model calls ({default('max_calls')})")
    g.add_argument(
        "--max-total-tokens",
        dest="max_tokens",
        type=int,
        metavar="N",
        help=f"most tokens over all calls, prompt + completion ({default('max_tokens')})",
    )
    g.add_argument("--max-tokens", dest="max_tokens", type=int, help=argparse.SUPPRESS)  # old name
    g.add_argument(
        "--max-cost", type=float, metavar="USD", help=f"most spend, from the price table ({default('max_cost')})"
    )
    g.add_argument("--max-time", type=float, metavar="SEC", help=f"wall time of this run ({default('max_time')})")
    g.add_argument(
        "--max-rounds", type=int, metavar="N", help=f"manager review/re-plan rounds ({default('max_rounds')})"
    )
    g.add_argument(
        "--node-concurrency",
        dest="concurrency",
        type=int,
        metavar="N",
        help=f"node activations in flight at once ({default('concurrency')})",
    )
    g.add_argument("--concurrency", dest="concurrency", type=int, help=argparse.SUPPRESS)  # old name
    p.add_argument(
        "--no-input",
        action="store_true",
        help="never wait for answers: exit 3 when questions are pending",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (see README) instead of the live view; implies --no-input",
    )


def _model_flags(p: argparse.ArgumentParser, *, resume: bool) -> None:
    scope = " for this run (the stored setting is kept)" if resume else ""
    p.add_argument("--model", metavar="M", help=f"model for every role{scope}")
    p.add_argument("--base-url", metavar="URL", help=f"OpenAI-compatible endpoint, e.g. a local vLLM{scope}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("swarm-star")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="swarm-star",
        description="Run a persistent, recursive tree of LLM agents from one directive.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage error, 3 questions pending, 4 limit reached, "
        "5 model endpoint unreachable, 130 interrupted.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"swarm-star {_version()}")
    _global_flags(parser, after_command=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Handler, **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, formatter_class=HelpFormatter, **kw)
        p.set_defaults(handler=handler)
        return p

    p = command(
        "run",
        cmd_run,
        help="spawn a directive and run the swarm",
        description="Spawn a root directive and run the swarm until it reports.",
    )
    p.add_argument("directive", nargs="?", help="what the swarm should do ('-' reads it from standard input)")
    p.add_argument("--directive-file", metavar="FILE", help="read the directive from FILE (for long directives)")
    p.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="PATH",
        help="context file, folder or git repository for the memory space (repeatable; UTF-8 files "
        "up to 1,000,000 bytes each, 1.5 MB in all)",
    )
    p.add_argument(
        "--swarm-id",
        metavar="ID",
        help="choose the swarm id: letters, digits, '.' and '-' (default: time-based)",
    )
    _model_flags(p, resume=False)
    p.add_argument("--hostfile", metavar="FILE", help="LLM endpoints for the swarm's broadcast/scatter actions")
    p.add_argument("--candidates", type=int, metavar="N", help="candidates per fan-out synthesis (default 5)")
    p.add_argument(
        "--allow-exec",
        action="store_true",
        help="let actions run the code they write (in the workspace)",
    )
    p.add_argument(
        "--create-actions",
        action="store_true",
        help="with --allow-exec: let the swarm add validated actions to its own action space",
    )
    _limit_flags(p, resume=False)
    add_model_flags(p)
    add_executor_flags(p)

    p = command(
        "resume",
        cmd_resume,
        help="continue an interrupted, stopped or waiting swarm",
        description="Continue a stopped or waiting swarm. A finished swarm stays finished.",
    )
    p.add_argument("swarm_id", help="the swarm to continue")
    _model_flags(p, resume=True)
    _limit_flags(p, resume=True)
    add_model_flags(p)
    add_executor_flags(p)

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
    p.add_argument("--swarm", metavar="ID", help="swarm whose memory space to show")

    command("demo", cmd_demo, help="run a complete swarm locally with a scripted model (no API key)")
    for register in COMMAND_GROUPS:
        register(sub)
    _accept_global_flags_after_commands(parser)
    return parser


def _accept_global_flags_after_commands(parser: argparse.ArgumentParser) -> None:
    """Let ``--space`` etc. follow any command (``swarm-star list --space DIR``), nested ones too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                taken = {s for a in child._actions for s in a.option_strings}
                if not taken & {"--space", "--store", "--user", "--verbose"}:
                    _global_flags(child, after_command=True)
                _accept_global_flags_after_commands(child)


# hints that work when pasted


def _program() -> str:
    """How to invoke this same command again: ``swarm-star`` when that is what PATH finds,
    else the path it was started by (e.g. ``.venv/bin/swarm-star``), or ``python -m swarm_star``."""
    argv0 = sys.argv[0] if sys.argv else ""
    name = os.path.basename(argv0)
    if name == "__main__.py" and os.path.basename(os.path.dirname(argv0)) == "swarm_star":
        return f"{shlex.quote(sys.executable)} -m swarm_star"
    if not name.startswith("swarm-star"):
        return "swarm-star"  # called as a library (tests): the documented name
    found = shutil.which(name)
    with contextlib.suppress(OSError):
        if found and os.path.samefile(found, argv0):
            return name
    return shlex.quote(argv0 if os.sep in argv0 else os.path.abspath(argv0))


def command_prefix(args: argparse.Namespace) -> str:
    """The program plus the global flags of this invocation, for hints the user can paste."""
    from swarm_star.store import resolve_space

    parts = [_program()]
    if getattr(args, "space", None):
        parts += ["--space", shlex.quote(str(resolve_space(args.space)))]
    if getattr(args, "store", "sqlite") != "sqlite":
        parts += ["--store", args.store]
    if getattr(args, "user", "local") != "local":
        parts += ["--user", shlex.quote(args.user)]
    return " ".join(parts)


def _flag_for(limit: str) -> str:
    """The command-line flag (without ``--``) that sets the ``Limits`` field ``limit``."""
    return {"max_tokens": "max-total-tokens", "concurrency": "node-concurrency"}.get(limit, limit.replace("_", "-"))


def _run_only_flags(args: argparse.Namespace) -> str:
    """`` --model M --base-url URL`` as given to ``resume``/``retry``: they apply to that run
    only (the swarm keeps its stored endpoint), so a hint to resume must repeat them."""
    parts = []
    for flag, dest in (("--model", "model"), ("--base-url", "base_url")):
        value = getattr(args, dest, None)
        if value:
            parts += [flag, shlex.quote(str(value))]
    return "".join(f" {part}" for part in parts)


def _raise_hint(swarm: Swarm, prefix: str, again: str = "") -> str:
    """``resume ID --max-X N`` with the limit that stopped the run, raised (``again``:
    the run-only model flags to repeat)."""
    limits = swarm.state.limits
    name = None
    last = swarm.log.frame(swarm.state.frame_count - 1) if swarm.state.frame_count else None
    if last is not None and last.op.kind == "stop":
        name = getattr(last.op, "limit", None)
    flag = _flag_for(name or "")
    current = getattr(limits, name, None) if name else None
    if not name or current is None:
        return f"{prefix} resume {swarm.id}{again} --max-calls N (raise the limit that stopped it)"
    # Double what is already used, not only the limit: a resume may have lowered the
    # limit below the usage, and a hint under the usage would stop again at once.
    usage = swarm.state.usage
    used = {
        "max_calls": usage.calls,
        "max_tokens": usage.tokens,
        "max_cost": usage.cost,
        "max_nodes": len(swarm.state.nodes),
    }.get(name, 0)
    base = max(current, used)
    raised = base * 2 if isinstance(current, int) else round(float(base) * 2, 2)
    return f"{prefix} resume {swarm.id}{again} --{flag} {raised:g}"


# the live view and the inline prompt


class InlinePrompt:
    """Asks pending questions at the terminal, one at a time, while the swarm keeps running.

    Standard input is watched with ``loop.add_reader`` (no thread blocked in
    ``readline``), so when the swarm ends — finished, answered from another
    terminal, or Ctrl-C — the run returns at once instead of waiting for Enter.
    A line typed before any question is shown is kept for the next one (type
    ahead); a line typed for a question that was meanwhile answered elsewhere is
    not silently dropped: the prompt says it was not used.
    """

    def __init__(self, out: TextIO, fd: int, hold: Callable[[bool], None] | None = None) -> None:
        self.out = out
        self.fd = fd
        self.hold = hold  # hold(True) before the prompt writes, hold(False) when it has nothing to show
        self.engine: Engine | None = None
        self.queue: list[Question] = []
        self.current: Question | None = None
        self.mine: dict[str, str] = {}
        self.stale: str | None = None  # the question last answered from elsewhere while shown here
        self.typed_ahead: list[str] = []
        self._buffer = b""
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._readable)

    def stop(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.fd)
            self._loop = None

    def _pending(self, question_id: str) -> bool:
        return self.engine is not None and any(q.id == question_id for _, q in self.engine.state.pending_questions())

    def ask(self, question: Question) -> None:
        self.queue.append(question)
        if self.current is None:
            self._show_next()

    def _hold(self, on: bool) -> None:
        if self.hold is not None:
            self.hold(on)

    def _say(self, text: str) -> None:
        """A line of the prompt's own (not an answer prompt): the live display is held around it."""
        self._hold(True)
        self.out.write(text)
        self.out.flush()
        if self.current is None:
            self._hold(False)

    def _show_next(self) -> None:
        self.current = None
        while self.queue:
            question = self.queue.pop(0)
            if self._pending(question.id):
                self.current, self.stale = question, None
                self._hold(True)
                self.out.write(f"\n? [{question.id}] {question.text}\n> ")
                if self.typed_ahead:
                    text = self.typed_ahead.pop(0)
                    self.out.write(f"{text}\n")
                    self._submit(question, text)
                self.out.flush()
                return
        self._hold(False)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            data = b""
        if not data:  # end of input (Ctrl-D): answers can still come from `answer`
            self.stop()
            self._say("\n(input closed: answer from another terminal, or Ctrl-C to stop)\n")
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self._line(line.decode("utf-8", errors="replace").strip())

    def _line(self, text: str) -> None:
        question = self.current
        if question is None and self.stale is not None:
            self._say(f"[{self.stale}] was already answered elsewhere: that input was not used\n")
        elif question is None:
            if text:  # Enter pressed while watching is not an answer
                self.typed_ahead.append(text)
        elif not self._pending(question.id):
            self.out.write(f"[{question.id}] was already answered elsewhere: that input was not used\n")
            self._show_next()
        else:
            self._submit(question, text)
        self.out.flush()

    def _submit(self, question: Question, text: str) -> None:
        text = text or "(no answer)"
        self.mine[question.id] = text
        if self.engine is not None:
            self.engine.answer(question.id, text)
        self._show_next()

    def on_event(self, event: SwarmEvent) -> None:
        if event.op.kind != "user_answer":
            return
        question_id = event.op.question_id
        if question_id in self.mine:
            if event.op.answer != self.mine.pop(question_id):
                self._say(
                    f"[{question_id}] was answered elsewhere first: your answer came too late and was not recorded\n"
                )
        elif self.current is not None and self.current.id == question_id:
            self.out.write(f"\n[{question_id}] answered from another terminal: {short(event.op.answer, 60)}\n")
            self._show_next()
            if self.current is None:
                self.stale = question_id
        self.out.flush()


class LiveView:
    """Line-per-event progress on a terminal, and the inline prompt when there is one."""

    def __init__(self, out: TextIO, prompt: InlinePrompt | None) -> None:
        self.out = out
        self.prompt = prompt
        self.engine: Engine | None = None
        self.width = terminal_width(out)
        self._last_totals = 0.0

    def attach(self, engine: Engine) -> None:
        self.engine = engine
        if self.prompt is not None:
            self.prompt.engine = engine

    def on_event(self, event: SwarmEvent) -> None:
        kind = event.op.kind
        node = getattr(event.op, "node_id", "")
        if kind in ("spawn", "terminate", "fail", "ask_user", "user_answer", "stop"):
            self.out.write(fit(f"  [{event.frame:>5}] {node:<12} {summary(event)}", self.width) + "\n")
        now = time.monotonic()
        if self.engine is not None and (now - self._last_totals > 2 or (kind == "terminate" and node == "0")):
            self._last_totals = now
            self.out.write(f"          ── {usage_line(self.engine.state)}\n")
        if self.prompt is not None:
            self.prompt.on_event(event)
        self.out.flush()

    def on_question(self, node: SwarmNode, question: Question) -> None:
        if self.prompt is not None:
            self.prompt.ask(question)


class TreeView:
    """The live tree on a terminal, with the inline prompt asking questions (the tree is held
    while a question is shown, so the prompt is never drawn over)."""

    def __init__(self, tree: Any, prompt: InlinePrompt | None) -> None:
        self.tree = tree
        self.prompt = prompt

    def on_event(self, event: SwarmEvent) -> None:
        self.tree.on_event(event)
        if self.prompt is not None:
            self.prompt.on_event(event)

    def on_question(self, node: SwarmNode, question: Question) -> None:
        self.tree.on_question(node, question)
        if self.prompt is not None:
            self.prompt.ask(question)


def _stdin_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


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


def _run_swarm(
    swarm: Swarm,
    args: argparse.Namespace,
    limits: Limits | None,
    out: TextIO,
    *,
    models: ModelSettings | None = None,
    retry: Sequence[str] = (),
) -> int:
    # Wait for answers only when someone can type them here; --json never prompts
    # (it is for scripts: it returns with the questions, exit 3).
    json_out = getattr(args, "json", False)
    waiting = not args.no_input and not json_out and _stdin_tty()
    # On a terminal the live tree redraws in place (and asks inline); piped, the line log.
    tree = None if json_out else live_tree_for(swarm, out, waiting)
    prompt = InlinePrompt(out, sys.stdin.fileno(), tree.hold if tree is not None else None) if waiting else None
    view = LiveView(out, prompt)
    shown: Any = view if tree is None else TreeView(tree, prompt)
    prefix = command_prefix(args)
    again = _run_only_flags(args) if models is not None else ""  # resume/retry: this run's endpoint

    def attach(engine: Engine) -> None:
        view.attach(engine)
        if tree is not None:
            tree.engine = engine

    async def go() -> RunOutcome:
        if prompt is not None:
            prompt.start()
        try:
            return await swarm.run(
                limits=limits,
                interactive=waiting,
                on_question=shown.on_question,
                on_event=None if json_out else shown.on_event,
                on_engine=attach,
                models=models,
                retry=retry,
                executor=executor_from(args),
            )
        finally:
            if prompt is not None:
                prompt.stop()

    if not json_out:
        out.write(f"swarm {swarm.id}: {short(swarm.state.record.directive, 80)}\n")
        out.flush()
    try:
        with tree if tree is not None else contextlib.nullcontext():
            outcome = asyncio.run(go())
    except KeyboardInterrupt:
        out.write(f"\ninterrupted; state saved. Continue with: {prefix} resume {swarm.id}{again}\n")
        out.flush()
        return EXIT["interrupted"]
    if json_out:
        out.write(json.dumps(_outcome_json(swarm, outcome), indent=2) + "\n")
        return OUTCOME_EXIT[outcome.status]
    out.write(f"\n{usage_line(swarm.state)}\n")
    if outcome.status == "finished":
        out.write(f"\nFinal report:\n{outcome.report}\n")
    elif outcome.status == "questions":
        out.write("\nQuestions are pending:\n")
        for node, q in outcome.questions:
            out.write(f"  [{q.id}] (node {node}) {q.text}\n")
        out.write(
            f'Answer with: {prefix} answer {swarm.id} QUESTION_ID "TEXT"\nthen: {prefix} resume {swarm.id}{again}\n'
        )
    elif outcome.status == "limit":
        out.write(f"\nStopped: {outcome.reason}. Raise it and continue:\n  {_raise_hint(swarm, prefix, again)}\n")
    elif outcome.status == "unreachable":
        out.write(f"\nPaused: {outcome.reason}. State saved; when it is back: {prefix} resume {swarm.id}{again}\n")
    else:
        out.write(f"\nThe swarm failed: {outcome.reason}\n")
        if any(n.status == "failed" for n in swarm.state.nodes.values()):
            out.write(f"Re-run the failed nodes with: {prefix} retry {swarm.id}\n")
    out.write(where_to_look(swarm, prefix))
    return OUTCOME_EXIT[outcome.status]


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
        raise InputError(f"invalid limit --{_flag_for(str(first['loc'][0]))}: {first['msg']}") from exc


def _directive(args: argparse.Namespace) -> str:
    """The directive from the argument, standard input (``-``) or ``--directive-file``."""
    if args.directive_file is not None:
        if args.directive is not None:
            raise InputError("give the directive either as an argument or with --directive-file, not both")
        path = Path(args.directive_file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read directive file {path}: {exc.strerror or exc}") from exc
    elif args.directive == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        path = Path("<stdin>")
    elif args.directive is None:
        raise InputError("say what the swarm should do: run TEXT, run - (standard input) or --directive-file FILE")
    else:
        return str(args.directive)
    if len(data) > MAX_DIRECTIVE_BYTES:
        raise InputError(f"the directive from {path} is larger than {MAX_DIRECTIVE_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"the directive from {path} is not UTF-8 text") from exc


def _check_space(args: argparse.Namespace) -> None:
    """A ``--space`` that is a file is a usage error, said before anything is created."""
    from swarm_star.store import resolve_space

    space = resolve_space(args.space)
    if space.exists() and not space.is_dir():
        raise InputError(f"the swarm space {space} is a file, not a folder (see --space, $SWARM_SPACE)")


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _check_space(args)
    directive = _directive(args)
    models = model_settings_from(
        args, ModelSettings(base_url=args.base_url, **({"default_model": args.model} if args.model else {}))
    )
    limits = _limits_from(args, Limits()) or Limits()
    if args.candidates is not None and not 1 <= args.candidates <= 256:
        raise InputError(f"--candidates must be 1-256, got {args.candidates}")
    if args.create_actions and not args.allow_exec:
        raise InputError("--create-actions needs --allow-exec (a new action is code the swarm runs)")
    hostfile = None
    if args.hostfile:
        hostfile = str(Path(args.hostfile).resolve())
        load_hostfile(hostfile)  # a malformed hostfile is a usage error now, not a failed node later
    settings = SwarmSettings(
        limits=limits,
        models=models,
        allow_exec=args.allow_exec,
        code=CodeSettings(create_actions=args.create_actions),
        hostfile=hostfile,
        **({"fanout_candidates": args.candidates} if args.candidates is not None else {}),
    )
    from swarm_star.llm import resolve_endpoint

    resolve_endpoint(models)  # fail fast, before anything is created
    check_prices(models, limits, None if args.json else err)  # --max-cost needs known prices
    swarm = Swarm.create(
        directive,
        context_files=args.context,
        settings=settings,
        space=args.space,
        backend=args.store,
        swarm_id=args.swarm_id,
        user_id=args.user,
    )
    with swarm:
        return _run_swarm(swarm, args, None, out)


def cmd_resume(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _open(args) as swarm:
        status = swarm.state.status
        root = swarm.state.root
        if root is not None and root.status.done:  # also heals a swarm an older resume left `stopped`
            status = "finished" if root.status == "terminated" else "failed"
        if status == "finished":  # never re-open a finished swarm, even with new limits
            out.write(f"swarm {swarm.id} already finished; nothing to resume\n")
            return EXIT["ok"]
        if status == "failed":
            error = short(swarm.state.root.error if swarm.state.root else "", 80)
            err.write(
                f"swarm-star: swarm {swarm.id} failed ({error}); resume continues only stopped or waiting"
                " swarms: use `retry` to run failed nodes again\n"
            )
            return EXIT["failure"]
        limits = _limits_from(args, swarm.state.limits)
        models = swarm.settings.models
        if args.model or args.base_url:
            models = models.model_copy(
                update={k: v for k, v in (("default_model", args.model), ("base_url", args.base_url)) if v}
            )
            models = ModelSettings.model_validate(models.model_dump())  # re-check the URL
        models = model_settings_from(args, models)
        if limits is not None and limits.max_cost is not None:
            check_prices(models, limits)
        return _run_swarm(swarm, args, limits, out, models=models)


def _open(args: argparse.Namespace) -> Swarm:
    return Swarm.open(args.swarm_id, space=args.space, backend=args.store, user_id=args.user)


def cmd_questions(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _open(args) as swarm:
        pending = swarm.questions()
        if args.json:
            out.write(json.dumps([{"id": q.id, "node": n.id, "text": q.text} for n, q in pending], indent=2) + "\n")
            return 0
        if not pending:
            out.write("no pending questions\n")
        for node, q in pending:
            out.write(f"[{q.id}] (node {node.id}) {q.text}\n")
        if pending:
            out.write(f'Answer with: {command_prefix(args)} answer {swarm.id} QUESTION_ID "TEXT"\n')
    return 0


def cmd_answer(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _open(args) as swarm:
        swarm.answer(args.question_id, args.text)
        out.write(
            f"answer recorded for {args.question_id}; a running swarm picks it up within 0.25 s, "
            f"otherwise: {command_prefix(args)} resume {swarm.id}\n"
        )
    return 0


def cmd_tree(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.depth is not None and args.depth < 0:
        raise InputError(f"--depth must be 0 or more, got {args.depth}")
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
        width = terminal_width(out)
        head = f"swarm {swarm.id} [{state.status}] at frame {state.frame_count - 1} — {usage_line(state)}"
        out.write(fit(head, width))
        out.write("\n" + "\n".join(render_tree(state, width=width, depth=args.depth)) + "\n")
    return 0


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _open(args) as swarm:
        if args.frame is not None:
            event = swarm.log.frame(args.frame)
            if event is None:
                raise InputError(f"frame {args.frame} does not exist in swarm {swarm.id}")
            out.write(json.dumps(event.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
            return 0
        if args.node is not None and args.node not in swarm.state.nodes:
            raise InputError(f"no node {args.node!r} in swarm {swarm.id} (see: tree {swarm.id})")
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


def _owner_text(status: str, store: Any) -> tuple[str, dict[str, Any]]:
    """``running (pid 12 on host)`` when a live process holds the swarm, ``stopped (owner gone)``
    when the record says running but its owner's lease has lapsed."""
    from swarm_star.state.lease import owner_status

    owner = owner_status(store)
    info = {"alive": owner.alive, "pid": owner.pid, "host": owner.host}
    if status == "running":
        if owner.alive:
            return f"running (pid {owner.pid} on {owner.host})", info
        return "stopped (owner gone)", info
    return status, info


def cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.state.history import SwarmLog
    from swarm_star.store import StoreLocator, resolve_space

    _check_space(args)
    locator = StoreLocator(resolve_space(args.space), args.store, user_id=args.user)
    rows = []
    for swarm_id in locator.list_swarm_ids():
        try:  # one damaged swarm is reported in its own row, never breaks the list
            with locator.open(swarm_id) as store:
                log = SwarmLog(store)
                record, meta = log.record(), log.read_meta() or {}
                shown, owner = _owner_text(meta.get("status", "created"), store)
        except SwarmStarError as exc:
            rows.append(
                {
                    "swarm_id": swarm_id,
                    "status": "damaged",
                    "shown": "damaged",
                    "owner": None,
                    "directive": str(exc),
                    "created_at": time.time(),
                    "cost": 0.0,
                    "unpriced_calls": 0,
                    "nodes": 0,
                    "error": str(exc),
                }
            )
            continue
        rows.append(
            {
                "swarm_id": swarm_id,
                "status": meta.get("status", "created"),
                "shown": shown,
                "owner": owner,
                "directive": record.directive,
                "created_at": record.created_at,
                "cost": (meta.get("usage") or {}).get("cost", 0.0),
                "unpriced_calls": (meta.get("usage") or {}).get("unpriced_calls", 0),
                "nodes": meta.get("nodes", 0),
            }
        )
    if args.json:
        out.write(json.dumps([{k: v for k, v in r.items() if k != "shown"} for r in rows], indent=2) + "\n")
        return 0
    if not rows:
        where = str(locator.space) if args.store == "sqlite" else f"Cosmos DB for user {args.user!r}"
        out.write(f"no swarms in {where}\n")
    width = terminal_width(out)
    for row in rows:
        when = age(time.time() - row["created_at"])
        cost = f"${row['cost']:.4f}{'+?' if row['unpriced_calls'] else ''}"
        line = f"{row['swarm_id']:<26} {row['shown']:<9} {when:>5}  {cost}  {short(row['directive'], 50)}"
        out.write(fit(line, width) + "\n")
    return 0


def cmd_spaces(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.cli.demo import run_demo

    return run_demo(space=args.space, out=out, prefix=command_prefix(args))


# Command groups kept in their own modules; each adds parsers with set_defaults(handler=...).
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (add_primitive_commands, add_model_commands, add_serve_commands)


def _os_error(exc: OSError) -> str:
    """An OSError as one line naming the path, e.g. a --space that is a file or read-only."""
    what = exc.strerror or type(exc).__name__
    where = f": {exc.filename}" if exc.filename else ""
    hint = ""
    if isinstance(exc, NotADirectoryError | FileExistsError):
        hint = " (is --space a file?)"
    elif isinstance(exc, PermissionError):
        hint = " (the swarm space or store is not writable)"
    return f"{what}{where}{hint}"


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out):  # --help and --version go where the caller reads
            args = parser.parse_args(argv)
    except UsageError as exc:
        err.write(f"swarm-star: error: {exc}\n")
        return EXIT["usage"]
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return EXIT["usage"]
    handler: Handler = args.handler
    try:
        return handler(args, out, err)
    except BrokenPipeError:  # `swarm-star history ID | head`: the reader has all it wanted
        return EXIT["ok"]
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
    except sqlite3.Error as exc:  # a store error the store did not translate
        if args.verbose:
            raise
        err.write(f"swarm-star: error: store: {exc}\n")
        return EXIT["failure"]
    except OSError as exc:
        if args.verbose:
            raise
        err.write(f"swarm-star: error: {_os_error(exc)}\n")
        return EXIT["usage"] if isinstance(exc, NotADirectoryError | FileExistsError) else EXIT["failure"]
    except KeyboardInterrupt:
        err.write("swarm-star: interrupted\n")
        return EXIT["interrupted"]


def _quiet_store_threads(args: threading.ExceptHookArgs) -> None:
    """Drop the traceback sqlitedict's connection thread prints when it cannot open a store
    (read-only file or folder): the main thread reports the same failure as one line."""
    if type(args.thread).__name__ == "SqliteMultithread" and "--verbose" not in sys.argv:
        return
    threading.__excepthook__(args)


def run_main() -> None:
    """Console-script entry point."""
    threading.excepthook = _quiet_store_threads
    code = EXIT["ok"]  # a pipe closed before main returned: the reader has what it wanted
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    except KeyboardInterrupt:
        code = EXIT["interrupted"]
    _quiet_stdout()
    sys.exit(code)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise BrokenPipeError."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass
        else:
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
