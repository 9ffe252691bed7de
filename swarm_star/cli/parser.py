"""The argument parser: the global flags, then each command module's parsers.

Each command module has a function ``add_…(subparsers)`` that adds its parsers
with ``set_defaults(handler=...)``, a handler being
``handler(args, out, err) -> int``; the global flags are added to every command
afterwards, so the modules need not repeat them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from swarm_star.cli.demo import add_demo_command
from swarm_star.cli.evaluate import add_eval_command
from swarm_star.cli.flags import ArgParser, HelpFormatter, global_flags
from swarm_star.cli.inspect import add_inspect_commands
from swarm_star.cli.mcp import add_mcp_command
from swarm_star.cli.models import add_model_commands
from swarm_star.cli.primitives import add_primitive_commands
from swarm_star.cli.run import add_retry_command, add_run_commands
from swarm_star.cli.serve import add_serve_commands
from swarm_star.cli.travel import add_travel_commands

__all__ = ["COMMANDS", "build_parser"]

# In the order `--help` lists them.
COMMANDS: tuple[Callable[[Any], None], ...] = (
    add_run_commands,
    add_inspect_commands,
    add_demo_command,
    add_primitive_commands,
    add_model_commands,
    add_eval_command,
    add_retry_command,
    add_travel_commands,
    add_serve_commands,
    add_mcp_command,
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("swarm-star")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """``--version``, the version looked up only when asked: ``importlib.metadata`` and the
    look-up cost every command 15-40 ms when the parser was built (issue 25)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        parser._print_message(f"swarm-star {_version()}\n", sys.stdout)  # where argparse's own prints it
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = ArgParser(
        prog="swarm-star",
        description="Run a persistent, recursive tree of LLM agents from one directive.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage error, 3 questions pending, 4 limit reached, "
        "5 model endpoint or Ray cluster unreachable, 6 another process runs the swarm, 130 interrupted.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, help="show program's version number and exit")
    global_flags(parser, after_command=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgParser)
    for register in COMMANDS:
        register(sub)
    accept_global_flags_after_commands(parser)
    return parser


def accept_global_flags_after_commands(parser: argparse.ArgumentParser) -> None:
    """Let ``--space`` etc. follow any command (``swarm-star list --space DIR``), nested ones too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                taken = {s for a in child._actions for s in a.option_strings}
                if not taken & {"--space", "--store", "--user", "--verbose"}:
                    global_flags(child, after_command=True)
                accept_global_flags_after_commands(child)
