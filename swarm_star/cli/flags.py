"""Flag builders shared by the commands, and reading the flags back into settings.

``global_flags`` (``--space/--store/--user/--verbose``), the limit flags of
``run``/``resume``/``retry``, ``--model/--base-url``, the executor flags; and
``limits_from``/``executor_from``/``open_swarm``/``check_space``, which turn
parsed flags into what the API takes.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import UserString
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast, overload

from swarm_star.errors import InputError

if TYPE_CHECKING:  # imported where used: --help loads neither the API nor the models
    from swarm_star.api import Executor, Swarm
    from swarm_star.models import Limits

__all__ = [
    "ArgParser",
    "HelpFormatter",
    "LazyChoices",
    "UsageError",
    "add_executor_flags",
    "check_space",
    "config_flag",
    "executor_from",
    "executor_scope",
    "flag_for",
    "global_flags",
    "lazy_help",
    "limit_flags",
    "limits_from",
    "model_flags",
    "open_swarm",
    "tool_flags",
]


class UsageError(Exception):
    """argparse errors, turned into exit code 2 instead of SystemExit."""


class ArgParser(argparse.ArgumentParser):
    """Every parser of the CLI (subparsers are made with ``parser_class=ArgParser``).

    ``allow_abbrev=False``: argparse would otherwise take an unknown flag for a prefix
    of a longer one (``retry --model M`` became ``--model-concurrency M``, issue 21).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: …)`` for arguments that have a real default, never ``None``/``False``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, [], argparse.SUPPRESS) or "%(default)" in (action.help or ""):
            return str(action.help or "")
        return str(super()._get_help_string(action) or "")


class _LazyHelp(UserString):
    """Help text made only when help is shown, from what ``make()`` returns.

    Why: a help text that quotes a default kept in the models (a limit, a token cap)
    would import them, and with them pydantic's model building, every time the parser
    is built, ``--help`` included (issue 25: start-up).
    """

    def __init__(self, make: Callable[[], str] | str) -> None:  # UserString's methods pass a str
        self._make = make

    @property
    def data(self) -> str:
        if not isinstance(self._make, str):
            self._make = self._make()
        return self._make

    @data.setter
    def data(self, value: str) -> None:
        self._make = value


class LazyChoices(Sequence[str]):
    """A flag's choices, read from ``make()`` only when a value is checked or help is shown
    (for the same reason as :func:`lazy_help`: the module that holds them is heavy)."""

    def __init__(self, make: Callable[[], Sequence[str]]) -> None:
        self._make = make
        self._items: Sequence[str] | None = None

    def _get(self) -> Sequence[str]:
        if self._items is None:
            self._items = self._make()
        return self._items

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())


def lazy_help(make: Callable[[], str]) -> str:
    """A help text made by ``make()`` only when help is shown (argparse reads it as a str)."""
    return cast(str, _LazyHelp(make))


def global_flags(p: argparse.ArgumentParser, *, after_command: bool) -> None:
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


def limit_flags(p: argparse.ArgumentParser, *, resume: bool) -> None:
    def default(text: str, name: str) -> str:
        """``text`` and what the flag defaults to (the models' default is read when help is shown)."""

        def make() -> str:
            if resume:
                return f"{text} (replaces the stored value)"
            from swarm_star.models import Limits

            value = Limits.model_fields[name].default
            return f"{text} (default {value})" if value is not None else f"{text} (default: none)"

        return lazy_help(make)

    title = "limits (a run stops cleanly at the first one reached"
    title += "; given here they replace the stored ones)" if resume else ")"
    g = p.add_argument_group(title)
    g.add_argument("--max-depth", type=int, metavar="N", help=default("deepest level of the tree", "max_depth"))
    g.add_argument("--max-nodes", type=int, metavar="N", help=default("most nodes in the tree", "max_nodes"))
    g.add_argument("--max-calls", type=int, metavar="N", help=default("most model calls", "max_calls"))
    g.add_argument(
        "--max-total-tokens",
        dest="max_tokens",
        type=int,
        metavar="N",
        help=default("most tokens over all calls, prompt + completion", "max_tokens"),
    )
    g.add_argument("--max-tokens", dest="max_tokens", type=int, help=argparse.SUPPRESS)  # old name
    g.add_argument(
        "--max-cost", type=float, metavar="USD", help=default("most spend, from the price table", "max_cost")
    )
    g.add_argument("--max-time", type=float, metavar="SEC", help=default("wall time of this run", "max_time"))
    g.add_argument("--max-rounds", type=int, metavar="N", help=default("manager review/re-plan rounds", "max_rounds"))
    g.add_argument(
        "--node-concurrency",
        dest="concurrency",
        type=int,
        metavar="N",
        help=default("node activations in flight at once", "concurrency"),
    )
    g.add_argument("--concurrency", dest="concurrency", type=int, help=argparse.SUPPRESS)  # old name


def output_flags(p: argparse.ArgumentParser) -> None:
    """How a run that drives a swarm shows it: ``--no-input``, ``--json``, ``--stream``."""
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
    p.add_argument(
        "--stream",
        action="store_true",
        help="the live log, one line per event as it happens, also on a terminal (instead of the redrawn tree)",
    )


def model_flags(p: argparse.ArgumentParser, *, resume: bool) -> None:
    scope = " for this run (the stored setting is kept)" if resume else ""
    p.add_argument("--model", metavar="M", help=f"model for every role, as [provider:]model{scope}")
    p.add_argument(
        "--role-model",
        action="append",
        default=[],
        metavar="ROLE=M",
        help="model of one role: planner, router, worker (answer), reviewer, verifier, coder, synthesizer; "
        f"repeat a role for fallbacks, primary first{scope}",
    )
    p.add_argument(
        "--base-url", metavar="URL", help=f"OpenAI-compatible endpoint of bare model names, e.g. a local vLLM{scope}"
    )


def config_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="project file with providers, roles, routing and limits (default: ./swarm-star.toml if present)",
    )


def tool_flags(p: argparse.ArgumentParser, *, resume: bool) -> None:
    """``--mcp FILE``, ``--approve PATTERN=POLICY`` and (for ``run``) ``--web-private``."""
    scope = " for this run (the stored file is kept)" if resume else ""
    g = p.add_argument_group("tools (MCP servers, the web) and approvals")
    g.add_argument(
        "--mcp",
        metavar="FILE",
        help=f"MCP servers file (the mcpServers JSON of Claude Desktop / Cursor){scope}",
    )
    g.add_argument(
        "--approve",
        action="append",
        default=[],
        metavar="PATTERN=POLICY",
        help="approval policy for tool paths, e.g. 'tools/filesystem/*=ask' (allow, ask, deny; repeatable; "
        "default: read-only tools allow, others ask)",
    )
    g.add_argument(
        "--yes",
        action="store_true",
        help="with --allow-exec: run the swarm's commands (tests, scripts) without asking first (this run)",
    )
    if not resume:
        g.add_argument(
            "--web-private",
            action="store_true",
            help="let web/fetch reach loopback and private addresses (refused by default)",
        )


def flag_for(limit: str) -> str:
    """The command-line flag (without ``--``) that sets the ``Limits`` field ``limit``."""
    return {"max_tokens": "max-total-tokens", "concurrency": "node-concurrency"}.get(limit, limit.replace("_", "-"))


def limits_from(args: argparse.Namespace, base: Limits) -> Limits | None:
    from pydantic import ValidationError

    from swarm_star.models import Limits

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
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"invalid limit --{flag_for(str(first['loc'][0]))}: {first['msg']}") from exc


def check_space(args: argparse.Namespace) -> None:
    """A ``--space`` that is a file is a usage error, said before anything is created."""
    from swarm_star.api import resolve_space

    space = resolve_space(args.space)
    if space.exists() and not space.is_dir():
        raise InputError(f"the swarm space {space} is a file, not a folder (see --space, $SWARM_SPACE)")


def open_swarm(args: argparse.Namespace) -> Swarm:
    from swarm_star.api import Swarm

    return Swarm.open(args.swarm_id, space=args.space, backend=args.store, user_id=args.user)


def add_executor_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where activations run")
    g.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: in this process (default); ray: as Ray tasks, this process still writes the store",
    )
    g.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to use (e.g. ray://head:10001 or auto; implies --executor ray); "
        "default: start a local Ray instance",
    )


def executor_from(args: argparse.Namespace) -> Executor | None:
    """The executor the flags ask for (None: in-process; Ray is imported only for ``ray``)."""
    from swarm_star.api import ray_executor

    executor = getattr(args, "executor", "local")
    address = getattr(args, "ray_address", None)
    if executor != "ray" and not address:
        return None
    return ray_executor(address)


@contextlib.contextmanager
def executor_scope(args: argparse.Namespace) -> Iterator[Executor | None]:
    """The executor the flags ask for, for one command; a Ray instance it started is shut down after.

    Ray's driver prints worker-death notices on ``sys.stdout`` from a thread of its
    own, whatever ``ray.init`` is told; meanwhile ``sys.stdout`` points at stderr,
    so the command's stdout (the ``out`` it was given) carries only its own output,
    e.g. nothing but the JSON of ``run --json``.
    """
    executor = executor_from(args)
    if executor is None:
        yield None
        return
    with contextlib.redirect_stdout(sys.stderr):
        try:
            yield executor
        finally:
            executor.close()
