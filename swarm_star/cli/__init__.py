"""The ``swarm-star`` command. ``main(argv) -> int`` so tests call it directly.

The parser is built in :mod:`swarm_star.cli.parser` from the command modules
(``run``, ``inspect``, ``models``, ``primitives``, ``serve``, ``demo``); this
module dispatches and turns errors into one line and an exit code. What is
shown comes from :mod:`swarm_star.render.text`.

Exit codes are :class:`~swarm_star.errors.ExitCode` (stable, documented in the
README): each error class carries its own ``exit_code``, and a run's outcome
maps to the same table (``cli.run.OUTCOME_EXIT``). ``EXIT`` is that table by
lower-case name (``ExitCode.USAGE == 2``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TextIO

from swarm_star.cli.flags import UsageError
from swarm_star.cli.parser import build_parser
from swarm_star.errors import ExitCode, SwarmStarError

__all__ = ["EXIT", "build_parser", "main", "run_main"]

EXIT: Mapping[str, int] = MappingProxyType({code.name.lower(): int(code) for code in ExitCode})

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


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
        return ExitCode.USAGE
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return ExitCode.USAGE
    handler: Handler = args.handler
    level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() if args.verbose else None
    if level is not None and not isinstance(logging.getLevelName(level), int):
        err.write(f"swarm-star: error: LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}\n")
        return ExitCode.USAGE
    try:
        from swarm_star import eventloop

        eventloop.check()  # a bad SWARM_STAR_EVENT_LOOP: refused before the command does anything
        with _log_to(err, level):
            return handler(args, out, err)
    except BrokenPipeError:  # `swarm-star history ID | head`: the reader has all it wanted
        return ExitCode.OK
    except SwarmStarError as exc:
        if args.verbose:
            raise
        err.write(f"swarm-star: error: {exc}\n")
        return exc.exit_code
    except sqlite3.Error as exc:  # a store error the store did not translate
        if args.verbose:
            raise
        err.write(f"swarm-star: error: store: {exc}\n")
        return ExitCode.FAILURE
    except OSError as exc:
        if args.verbose:
            raise
        err.write(f"swarm-star: error: {_os_error(exc)}\n")
        return ExitCode.USAGE if isinstance(exc, NotADirectoryError | FileExistsError) else ExitCode.FAILURE
    except KeyboardInterrupt:
        err.write("swarm-star: interrupted\n")
        return ExitCode.INTERRUPTED


@contextlib.contextmanager
def _log_to(err: TextIO, level: str | None) -> Iterator[None]:
    """With ``--verbose``, Swarm Star's log records go to ``err`` at ``$LOG_LEVEL`` (default INFO), as
    StochasticSwarm's command did; the handler is removed afterwards (tests call ``main`` many times)."""
    if level is None:
        yield
        return
    logger = logging.getLogger("swarm_star")
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def _quiet_store_threads(args: threading.ExceptHookArgs) -> None:
    """Drop the traceback sqlitedict's connection thread prints when it cannot open a store
    (read-only file or folder): the main thread reports the same failure as one line."""
    if type(args.thread).__name__ == "SqliteMultithread" and "--verbose" not in sys.argv:
        return
    threading.__excepthook__(args)


def run_main() -> None:
    """Console-script entry point."""
    threading.excepthook = _quiet_store_threads
    code: int = ExitCode.OK  # a pipe closed before main returned: the reader has what it wanted
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
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
