"""``eval``: the strategies side by side on checkable tasks, against the user's own endpoint.

``single`` (one call), ``vote`` (self-consistency over ``--votes`` calls),
``swarm`` and ``swarm+verify`` run on the same tasks; the summary (pass rate
with its interval, calls, tokens, cost, wall time, failures by cause, the
paired difference against ``single``) is printed and written, with a plot,
into the evaluation's own swarm space. The harness is :mod:`swarm_star.evaluation`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from swarm_star.cli.flags import HelpFormatter, config_flag, limit_flags, model_flags
from swarm_star.cli.hints import prefix_for, program
from swarm_star.cli.models import add_model_flags
from swarm_star.cli.run import exec_flags, models_from_flags, served_and_priced
from swarm_star.errors import ExitCode, InputError, ModelUnreachable
from swarm_star.evaluation.tasks import DEFAULT_DATASETS, STRATEGIES, SUITES, Task

if TYPE_CHECKING:
    from swarm_star.evaluation import Trial
    from swarm_star.models import ModelSettings

__all__ = ["EVAL_MAX_CALLS", "add_eval_command", "cmd_eval"]

EVAL_MAX_CALLS = 40
"""Model calls per task swarm, unless the project file or a flag says otherwise: a small model can loop
(a number, not ``Limits``: the parser is built without the models, for a fast ``--help``)."""


def _fraction(text: str) -> float:
    named = {"good": 1.0, "bad": 0.0}
    try:
        value = named[text] if text in named else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}")
    return value


def add_eval_command(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        formatter_class=HelpFormatter,
        help="compare one call, a vote, the swarm and the swarm with checks on checkable tasks",
        description="Run the strategies (single call, majority vote, swarm, swarm with verification) on the same "
        "HumanEval problems and reasoning-gym tasks against your endpoint, and report pass rates with their "
        "confidence intervals, calls, tokens, cost and the paired difference against a single call. Needs the "
        "eval extra (pip install 'swarm-star[eval]'). With --allow-exec, HumanEval's tests run in the sandbox.",
    )
    p.set_defaults(handler=cmd_eval)
    g = p.add_argument_group("what to compare")
    g.add_argument("--suite", choices=[*SUITES, "all"], default="all", help="task suite")
    g.add_argument("--count", type=int, default=10, metavar="N", help="tasks per suite")
    g.add_argument("--seed", type=int, default=1234, metavar="N", help="task selection and generation seed")
    g.add_argument(
        "--datasets", default=",".join(DEFAULT_DATASETS), metavar="A,B", help="reasoning-gym datasets, comma-separated"
    )
    g.add_argument(
        "--strategies", default=",".join(STRATEGIES), metavar="A,B", help=f"comma-separated, of {', '.join(STRATEGIES)}"
    )
    g.add_argument("--votes", type=int, default=5, metavar="N", help="samples of the vote strategy")
    g.add_argument(
        "--parallel",
        type=int,
        default=4,
        metavar="N",
        help="tasks at a time, each running its strategies in turn (1 for a small local server)",
    )
    g.add_argument("--check-timeout", type=float, default=10.0, metavar="SEC", help="seconds per code check")
    g.add_argument(
        "--scripted",
        type=_fraction,
        metavar="P",
        help="no model: a local scripted model that knows the answers and is right with probability P per call "
        "(good = 1, bad = 0): the self-test of the strategies",
    )
    g.add_argument(
        "--verifier-accuracy",
        type=_fraction,
        default=0.9,
        metavar="Q",
        help="with --scripted: how often its verifier judges a result correctly",
    )
    model_flags(p, resume=False)
    config_flag(p)
    exec_flags(p)
    limit_flags(p, resume=False)
    p.add_argument("--json", action="store_true", help="print the report as one JSON object (see README)")
    for action in p._actions:  # the limits are each task swarm's; eval's own default for calls
        if action.dest == "max_calls":
            action.help = f"most model calls of each task's swarm (default {EVAL_MAX_CALLS} here)"
    add_model_flags(p)


def _choices(text: str, allowed: tuple[str, ...], flag: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        raise InputError(f"{flag}: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(allowed)}")
    return chosen


def _space(args: argparse.Namespace) -> Path:
    """``--space`` if given, else a new folder under ``./swarm_eval`` ($SWARM_SPACE is not used: an
    evaluation's hundreds of swarms get a space of their own)."""
    if getattr(args, "space", None):
        space = Path(args.space)
        if space.exists() and not space.is_dir():
            raise InputError(f"the swarm space {space} is a file, not a folder")
        return space
    return Path("swarm_eval") / time.strftime("eval-%Y%m%d-%H%M%S")


@contextmanager
def _scripted_server(args: argparse.Namespace, tasks: list[Task]) -> Iterator[str | None]:
    if args.scripted is None:
        yield None
        return
    from swarm_star.testing import LocalOpenAIServer
    from swarm_star.testing.answer_key import AnswerKeyModel

    model = AnswerKeyModel(
        answers={t.id: t.good for t in tasks},
        wrong={t.id: t.bad for t in tasks},
        accuracy=args.scripted,
        verifier_accuracy=args.verifier_accuracy,
        seed=args.seed,
    )
    with LocalOpenAIServer(model) as server:
        yield server.base_url


def cmd_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star import eventloop
    from swarm_star.evaluation import EvalConfig, load_tasks, markdown, run_eval, summarize, write_reports
    from swarm_star.models import Limits, SwarmSettings
    from swarm_star.models.config import CodeSettings

    suites = SUITES if args.suite == "all" else (args.suite,)
    strategies = _choices(args.strategies, STRATEGIES, "--strategies")
    datasets = tuple(n.strip() for n in args.datasets.split(",") if n.strip())
    for flag, value in (("--count", args.count), ("--votes", args.votes), ("--parallel", args.parallel)):
        if value < 1:
            raise InputError(f"{flag} must be at least 1, got {value}")
    if args.scripted is not None and (args.base_url or args.model):
        raise InputError("--scripted is its own model: leave out --model and --base-url")
    space = _space(args)
    tasks = [
        task for suite in suites for task in load_tasks(suite, args.count, args.seed, datasets or DEFAULT_DATASETS)
    ]
    with _scripted_server(args, tasks) as scripted_url:
        if scripted_url is not None:  # a local double: many requests at once, no key
            args.base_url, args.model = scripted_url, "scripted"
            args.model_concurrency = args.model_concurrency or 64
        models, limits = models_from_flags(args, err, Limits(max_calls=EVAL_MAX_CALLS))
        models = served_and_priced(args, models, limits, err)
        settings = SwarmSettings(
            limits=limits, models=models, allow_exec=args.allow_exec, code=CodeSettings(sandbox=args.sandbox)
        )
        model = f"scripted p={args.scripted} q={args.verifier_accuracy}" if scripted_url else _model_name(models)
        described = model if scripted_url or not models.base_url else f"{model} at {models.base_url}"
        config = EvalConfig(
            suites=suites,
            count=args.count,
            seed=args.seed,
            datasets=datasets,
            strategies=strategies,
            votes=args.votes,
            allow_exec=args.allow_exec,
            sandbox=args.sandbox,
            check_timeout=args.check_timeout,
            parallel=args.parallel,
            model=model,
        )
        if not args.json:
            err.write(f"evaluation space: {space} ({len(tasks)} tasks × {len(strategies)} strategies, {described})\n")
        again = _again(space)
        try:
            with _progress(err, len(tasks) * len(strategies)) as advance:
                trials = eventloop.run(run_eval(config, tasks, settings, space, on_trial=advance))
        except KeyboardInterrupt:
            err.write(f"\ninterrupted; finished trials are saved. To continue, {again}\n")
            return ExitCode.INTERRUPTED
        except ModelUnreachable as exc:
            raise ModelUnreachable(f"{exc}; finished trials are saved: when it is back, {again}") from None
    doc = write_reports(space, summarize(trials, strategies), trials, vars(config) | {"space": str(space)})
    if args.json:
        out.write(json.dumps({k: v for k, v in doc.items() if k != "trials"}, indent=2) + "\n")
        return ExitCode.OK
    out.write(markdown(doc["suites"]) + "\n")
    files = doc["files"]
    written = ", ".join(str(f) for f in (files["json"], files["markdown"], files["plot"]) if f)
    prefix = prefix_for(space)  # an evaluation's swarms are in SQLite, in its own space
    first = next((t.swarm_id for t in trials if t.swarm_id), None)
    out.write(f"Written: {written}\n")
    if first:
        out.write(f"Inspect a task's swarm: {prefix} tree {first}  (or history)\n")
    return ExitCode.OK


def _model_name(models: ModelSettings) -> str:
    """The model compared (what a continued evaluation must use again; not the URL: a local server's
    port changes between runs)."""
    return models.default_model or "the configured models"


def _again(space: Path) -> str:
    """How to continue this evaluation."""
    return f"run the same {program()} eval command with --space {shlex.quote(str(space))}"


@contextmanager
def _progress(err: TextIO, total: int) -> Iterator[Callable[[Trial], None]]:
    """A progress bar on a terminal; elsewhere a line per finished trial."""
    if not err.isatty():

        def line(trial: Trial) -> None:
            mark = "pass" if trial.passed else f"fail ({trial.cause})"
            err.write(f"  {trial.strategy:<12} {trial.task}: {mark} · {trial.calls} calls · {trial.seconds:.1f} s\n")
            err.flush()

        yield line
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(file=err), transient=True) as progress:
        bar = progress.add_task("evaluating", total=total)

        def advance(trial: Trial) -> None:
            progress.update(bar, advance=1, description=f"{trial.strategy} {trial.task}")

        yield advance
