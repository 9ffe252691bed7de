"""``run``, ``resume`` and ``retry``: start a swarm, show it while it runs, say what to do next."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from swarm_star.cli.flags import (
    HelpFormatter,
    LazyChoices,
    add_executor_flags,
    check_space,
    config_flag,
    executor_scope,
    limit_flags,
    limits_from,
    model_flags,
    open_swarm,
    output_flags,
    tool_flags,
)
from swarm_star.cli.hints import answer_hint, command_prefix, raise_hint, run_only_flags, where_to_look
from swarm_star.cli.models import (
    add_model_flags,
    check_prices,
    model_settings_from,
    note_stripped_url,
    use_served_model,
)
from swarm_star.errors import AlreadyFinished, ConfigError, ExitCode, InputError, SwarmExists

if TYPE_CHECKING:
    from swarm_star.api import (
        OwnerStatus,
        RunHandle,
        RunOptions,
        RunOutcome,
        Swarm,
    )
    from swarm_star.models import Limits, ModelSettings

__all__ = [
    "OUTCOME_EXIT",
    "Screen",
    "add_retry_command",
    "add_run_commands",
    "cmd_resume",
    "cmd_retry",
    "cmd_run",
    "exec_flags",
    "models_from_flags",
    "outcome_exit",
    "run_swarm",
    "screen_from",
    "served_and_priced",
]

OUTCOME_EXIT = {
    "finished": ExitCode.OK,
    "failed": ExitCode.FAILURE,
    "questions": ExitCode.QUESTIONS,
    "limit": ExitCode.LIMIT,
    "unreachable": ExitCode.UNREACHABLE,
    "partial": ExitCode.PARTIAL,  # finished, short of the directive (RunOutcome.partial)
}


def outcome_exit(outcome: RunOutcome) -> ExitCode:
    """The exit code of a run's outcome: a finished swarm that falls short exits 7, not 0."""
    return OUTCOME_EXIT["partial" if outcome.status == "finished" and outcome.partial else outcome.status]


MAX_DIRECTIVE_BYTES = 1_000_000


def _sandboxes() -> tuple[str, ...]:
    from swarm_star.sandbox import SANDBOXES  # asyncio with it: not for --help

    return SANDBOXES


def add_run_commands(sub: Any) -> None:
    """``run`` and ``resume``."""

    def command(name: str, handler: Any, **kw: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, formatter_class=HelpFormatter, **kw)
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
    model_flags(p, resume=False)
    config_flag(p)
    p.add_argument("--hostfile", metavar="FILE", help="LLM endpoints for the swarm's broadcast/scatter actions")
    p.add_argument("--candidates", type=int, metavar="N", help="candidates per fan-out synthesis (default 5)")
    exec_flags(p)
    p.add_argument(
        "--create-actions",
        action="store_true",
        help="with --allow-exec: let the swarm add validated actions to its own action space",
    )
    pattern_flags(p)
    limit_flags(p, resume=False)
    output_flags(p)
    tool_flags(p, resume=False)
    add_model_flags(p)
    add_executor_flags(p)

    p = command(
        "resume",
        cmd_resume,
        help="continue an interrupted, stopped or waiting swarm",
        description="Continue a stopped or waiting swarm. A finished swarm stays finished.",
    )
    p.add_argument("swarm_id", help="the swarm to continue")
    model_flags(p, resume=True)
    limit_flags(p, resume=True)
    output_flags(p)
    tool_flags(p, resume=True)
    add_model_flags(p)
    add_executor_flags(p)


def exec_flags(p: argparse.ArgumentParser) -> None:
    """``--allow-exec`` and ``--sandbox`` (``run`` and ``eval``)."""
    p.add_argument(
        "--allow-exec",
        action="store_true",
        help="let actions run the code they write (in the workspace)",
    )
    p.add_argument(
        "--sandbox",
        choices=LazyChoices(_sandboxes),
        metavar="SANDBOX",  # argparse lists choices when the flag is added: this keeps them lazy
        default="bwrap",
        help="with --allow-exec: what contains the code the swarm runs (default bwrap: no network, "
        "workspace-only writes, private PIDs, no secrets); 'none' runs it unsandboxed, by your choice",
    )


def add_retry_command(sub: Any) -> None:
    p = sub.add_parser(
        "retry",
        help="re-run failed nodes (one node, or every failed node) and re-review above them",
        description="Re-open failed nodes: a failed leaf runs again, a failed manager re-reviews; "
        "finished or failed managers above them re-review once they are done. Recorded in the history.",
    )
    p.set_defaults(handler=cmd_retry)
    p.add_argument("swarm_id", help="the swarm whose failed nodes to re-run")
    p.add_argument("node", nargs="?", help="retry the failed nodes in this node's subtree (default: the whole tree)")
    model_flags(p, resume=True)
    limit_flags(p, resume=True)
    output_flags(p)
    add_model_flags(p)


def outcome_json(swarm: Swarm, outcome: RunOutcome) -> dict[str, Any]:
    from swarm_star.render.text import usage_by_model

    state = swarm.state
    return {
        "swarm_id": swarm.id,
        "status": outcome.status,
        "outcome": "partial" if outcome.partial else outcome.status,
        "partial": outcome.partial,
        "reason": outcome.reason,
        "report": outcome.report,
        "questions": [{"id": q.id, "node": node, "text": q.text} for node, q in outcome.questions],
        "usage": state.usage.model_dump(),
        "usage_by_model": [
            {"provider": provider, "model": model, **used.model_dump()}
            for provider, model, used in usage_by_model(
                state.endpoints.usage, set(state.record.settings.models.providers)
            )
        ],
        "nodes": len(state.nodes),
        "frames": state.frame_count,
    }


@dataclass(frozen=True)
class Screen:
    """How a run is shown here: ``prefix`` reaches this swarm in pasteable hints, ``again``
    are the run-only flags a hint to resume must repeat; ``json_out`` prints one JSON
    object instead of the live view; ``no_input`` never waits for answers; ``stream`` keeps the
    line log on a terminal too (Ai3's ``run --stream``)."""

    prefix: str
    json_out: bool = False
    no_input: bool = False
    again: str = ""
    stream: bool = False


def screen_from(args: argparse.Namespace, *, again: str = "") -> Screen:
    json_out, stream = bool(getattr(args, "json", False)), bool(getattr(args, "stream", False))
    return Screen(command_prefix(args), json_out, bool(args.no_input), again, stream)


def run_swarm(
    swarm: Swarm,
    out: TextIO,
    screen: Screen,
    start: Callable[[RunOptions], RunHandle],
    options: RunOptions,
) -> int:
    """Start a run with ``start(options)`` (``swarm.run``, ``resume`` or a ``retry``), show it
    until it ends, say what to do next, and return the exit code of its outcome."""
    from swarm_star import eventloop
    from swarm_star.cli.interact import InlinePrompt, LiveView, TreeView, live_tree_for, stdin_tty
    from swarm_star.models import NodeStatus
    from swarm_star.render.text import short, usage_by_model_lines, usage_line

    # Wait for answers only when someone can type them here; --json never prompts
    # (it is for scripts: it returns with the questions, exit 3).
    json_out = screen.json_out
    waiting = not screen.no_input and not json_out and stdin_tty()
    # On a terminal the live tree redraws in place (and asks inline); piped, the line log.
    tree = None if json_out or screen.stream else live_tree_for(swarm, out, waiting)
    prompt = InlinePrompt(out, sys.stdin.fileno(), tree.hold if tree is not None else None) if waiting else None
    view = LiveView(out, prompt)
    shown: Any = view if tree is None else TreeView(tree, prompt)
    prefix, again = screen.prefix, screen.again

    async def go() -> RunOutcome:
        handle = start(replace(options, interactive=waiting))  # refused here: nothing shown yet
        if not json_out:
            if handle.retried:
                out.write(f"retrying {', '.join(handle.retried)}\n")
            out.write(f"swarm {swarm.id}: {short(swarm.state.record.directive, 80)}\n")
            out.flush()
            handle.subscribe(shown.on_event)
        handle.on_question(shown.on_question)
        view.follow(handle)
        if tree is not None:
            tree.source = handle
        if prompt is not None:
            prompt.start()
        try:
            with tree if tree is not None else contextlib.nullcontext():
                return await handle
        finally:
            if prompt is not None:
                prompt.stop()

    try:
        outcome = eventloop.run(go())
    except KeyboardInterrupt:
        out.write(f"\ninterrupted; state saved. Continue with: {prefix} resume {swarm.id}{again}\n")
        out.flush()
        return ExitCode.INTERRUPTED
    if json_out:
        out.write(json.dumps(outcome_json(swarm, outcome), indent=2) + "\n")
        return outcome_exit(outcome)
    out.write(f"\n{usage_line(swarm.state)}\n")
    for line in usage_by_model_lines(swarm.state):
        out.write(line + "\n")
    if outcome.status == "finished":
        out.write(f"\nFinal report:\n{outcome.report}\n")
        if outcome.partial:
            out.write(f"\nFinished, partial: {outcome.partial} (the report says which).\n")
    elif outcome.status == "questions":
        out.write("\nQuestions are pending:\n")
        for node, q in outcome.questions:
            out.write(f"  [{q.id}] (node {node}) {q.text}\n")
        out.write(
            answer_hint(prefix, swarm.id, [q.id for _, q in outcome.questions])
            + f"\nthen: {prefix} resume {swarm.id}{again}\n"
        )
    elif outcome.status == "limit":
        out.write(f"\nStopped: {outcome.reason}. Raise it and continue:\n  {raise_hint(swarm, prefix, again)}\n")
    elif outcome.status == "unreachable":
        out.write(f"\nPaused: {outcome.reason}. State saved; when it is back: {prefix} resume {swarm.id}{again}\n")
    else:
        out.write(f"\nThe swarm failed: {outcome.reason}\n")
        if any(n.status == NodeStatus.FAILED for n in swarm.state.nodes.values()):
            out.write(f"Re-run the failed nodes with: {prefix} retry {swarm.id}\n")
    out.write(where_to_look(swarm, prefix))
    return outcome_exit(outcome)


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


def owner_notice(swarm: Swarm, err: TextIO) -> Callable[[OwnerStatus, float], None]:
    """What ``resume``/``retry`` say while they wait for a lease that is still held."""

    def notify(owner: OwnerStatus, seconds: float) -> None:
        err.write(
            f"swarm-star: swarm {swarm.id} is held by pid {owner.pid} on {owner.host}: "
            f"waiting up to {math.ceil(seconds)} s for the previous owner's lease to expire…\n"
        )
        err.flush()

    return notify


PATTERN_NAMES = ("cascade", "swarm", "sequential", "conditional", "iterative")
"""The built-in orchestration patterns (``kit.pattern.PATTERNS``; a test keeps the two equal)."""


def pattern_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("orchestration patterns (geepers'; instead of the planning manager)")
    g.add_argument("--pattern", choices=PATTERN_NAMES, help="run this pattern as the swarm")
    g.add_argument("--tiers", metavar="N,N,N", help="cascade: workers per tier, e.g. 8,3,1 (default 5,2,1)")
    g.add_argument("--domain", action="append", default=[], metavar="D", help="swarm: a domain to search (repeatable)")
    g.add_argument(
        "--step", action="append", default=[], metavar="TEXT", help="sequential: a step, in order (repeatable)"
    )
    g.add_argument("--condition", metavar="TEXT", help="conditional: a condition the model judges for the directive")
    g.add_argument("--if-true", metavar="TEXT", help="conditional: what to do when the condition holds")
    g.add_argument("--if-false", metavar="TEXT", help="conditional: what to do when it does not")
    g.add_argument("--max-iterations", type=int, metavar="N", help="iterative: most drafts (default 3)")
    g.add_argument("--until", metavar="TEXT", help="iterative: what a draft must meet (the verifier judges it)")


def pattern_from(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--pattern`` and its options as ``{"name", "options"}`` (checked by ``Swarm.create``)."""
    given = {
        "tiers": args.tiers,
        "domain": args.domain,
        "step": args.step,
        "condition": args.condition,
        "if-true": args.if_true,
        "if-false": args.if_false,
        "max-iterations": args.max_iterations,
        "until": args.until,
    }
    used = [f"--{flag}" for flag, value in given.items() if value not in (None, [])]
    if args.pattern is None:
        if used:
            raise InputError(f"{used[0]} needs --pattern")
        return None
    options: dict[str, Any] = {}
    if args.tiers:
        try:
            options["tiers"] = [int(t) for t in args.tiers.split(",")]
        except ValueError:
            raise InputError(f"--tiers expects counts like 8,3,1, got {args.tiers!r}") from None
    if args.domain:
        options["domains"] = args.domain
    if args.pattern == "sequential":
        options["steps"] = args.step
    if args.pattern == "conditional":
        if not (args.condition and args.if_true and args.if_false):
            raise InputError("--pattern conditional needs --condition, --if-true and --if-false")
        options.update(condition=args.condition, if_true=args.if_true, if_false=args.if_false)
    if args.max_iterations is not None:
        options["max_iterations"] = args.max_iterations
    if args.until:
        options["criteria"] = args.until
    return {"name": args.pattern, "options": options}


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.api import RunOptions, Swarm
    from swarm_star.api.tools import approval_rules, load_mcp
    from swarm_star.models import SwarmSettings, ToolSettings
    from swarm_star.models.config import CodeSettings
    from swarm_star.primitives.hostfile import load_hostfile

    check_space(args)
    directive = _directive(args)
    pattern = pattern_from(args)
    models, limits = models_from_flags(args, err)
    if args.candidates is not None and not 1 <= args.candidates <= 256:
        raise InputError(f"--candidates must be 1-256, got {args.candidates}")
    if args.create_actions and not args.allow_exec:
        raise InputError("--create-actions needs --allow-exec (a new action is code the swarm runs)")
    hostfile = None
    if args.hostfile:
        hostfile = str(Path(args.hostfile).resolve())
        load_hostfile(hostfile)  # a malformed hostfile is a usage error now, not a failed node later
    mcp = None
    if args.mcp:
        mcp = str(Path(args.mcp).resolve())
        load_mcp(mcp)  # a broken servers file is a usage error now, not a failed node later
    tools = ToolSettings(mcp=mcp, approvals=approval_rules(args.approve), web_private=args.web_private)
    settings = SwarmSettings(
        limits=limits,
        models=models,
        tools=tools,
        allow_exec=args.allow_exec,
        code=CodeSettings(create_actions=args.create_actions, sandbox=args.sandbox),
        hostfile=hostfile,
        **({"fanout_candidates": args.candidates} if args.candidates is not None else {}),
    )
    models = served_and_priced(args, models, limits, err)
    settings = settings.model_copy(update={"models": models})
    try:
        swarm = Swarm.create(
            directive,
            context_files=args.context,
            settings=settings,
            space=args.space,
            backend=args.store,
            swarm_id=args.swarm_id,
            user_id=args.user,
            pattern=pattern,
        )
    except SwarmExists as exc:  # the API's words name no flag; here the flag is --swarm-id
        raise SwarmExists(f"{exc} (--swarm-id)") from exc
    with swarm, executor_scope(args) as executor:
        return run_swarm(swarm, out, screen_from(args), swarm.run, RunOptions(executor=executor, yes=args.yes))


def models_from_flags(
    args: argparse.Namespace, err: TextIO, default_limits: Limits | None = None
) -> tuple[ModelSettings, Limits]:
    """The model settings and limits of a new swarm from ``run``'s flags: the project file
    (``--config``), ``./.env`` (never overriding the environment), ``--model/--role-model/--base-url``,
    the model-call and limit flags (``run`` and ``eval``)."""
    from swarm_star.api import find_config, load_env_file, model_setup
    from swarm_star.models import Limits

    load_env_file()
    setup = model_setup(find_config(args.config), model=args.model, role_models=args.role_model, base_url=args.base_url)
    models = model_settings_from(args, setup.settings)
    note_stripped_url(args.base_url, models, err)
    base_limits = setup.limits or default_limits or Limits()
    return models, limits_from(args, base_limits) or base_limits


def served_and_priced(args: argparse.Namespace, models: ModelSettings, limits: Limits, err: TextIO) -> ModelSettings:
    """``models`` naming a local server's own model when none was given (said once); then every
    provider must resolve, and ``--max-cost`` must have prices (``run`` and ``eval``)."""
    if not args.model and has_default_endpoint(models):
        models = use_served_model(models, args.model, err)
    check_prices(models, limits, None if args.json else err)
    return models


def models_for_this_run(args: argparse.Namespace, stored: ModelSettings, err: TextIO) -> ModelSettings:
    """The stored model settings with ``--model``/``--base-url`` and the model-call flags of
    ``resume``/``retry`` applied: for this run only, the stored ones are kept."""
    from swarm_star.api import with_flags

    models = with_flags(
        stored, model=args.model, role_models=getattr(args, "role_model", None) or (), base_url=args.base_url
    )  # this run only; the URL is checked again
    note_stripped_url(args.base_url, models, err)
    return model_settings_from(args, models)


def cmd_resume(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.api import RunOptions, load_env_file, with_flags
    from swarm_star.api.tools import approval_rules, load_mcp

    with open_swarm(args) as swarm:
        swarm.wait_for_owner(owner_notice(swarm, err))  # before the state is read: the owner may finish
        try:  # a finished swarm stays finished, even with new limits: not an error, nothing to do
            swarm.check_resumable()
        except AlreadyFinished as exc:
            out.write(f"{exc}\n")
            return exc.exit_code
        load_env_file()
        limits = limits_from(args, swarm.state.limits)
        models = with_flags(
            swarm.settings.models, model=args.model, role_models=args.role_model, base_url=args.base_url
        )  # this run only; the URL is checked again
        note_stripped_url(args.base_url, models, err)
        models = model_settings_from(args, models)
        if limits is not None and limits.max_cost is not None:
            check_prices(models, limits)
        mcp = str(Path(args.mcp).resolve()) if args.mcp else None
        load_mcp(mcp)
        approvals = approval_rules(args.approve)
        with executor_scope(args) as executor:
            options = RunOptions(
                limits=limits, models=models, executor=executor, mcp=mcp, approvals=approvals, yes=args.yes
            )
            return run_swarm(swarm, out, screen_from(args, again=run_only_flags(args)), swarm.resume, options)


def cmd_retry(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.api import RunOptions, load_env_file

    with open_swarm(args) as swarm:
        swarm.wait_for_owner(owner_notice(swarm, err))
        load_env_file()
        state = swarm.state
        limits = limits_from(args, state.limits)
        models = models_for_this_run(args, swarm.settings.models, err)
        check_prices(models, limits or state.limits, None if args.json else err)
        options = RunOptions(limits=limits, models=models)
        screen = screen_from(args, again=run_only_flags(args))
        return run_swarm(swarm, out, screen, lambda given: swarm.retry(args.node, given), options)


def has_default_endpoint(models: ModelSettings) -> bool:
    """Whether bare model names have an endpoint (a swarm may name providers only)."""
    from swarm_star.llm import resolve_endpoint

    try:
        resolve_endpoint(models)
    except ConfigError:
        return False
    return True
