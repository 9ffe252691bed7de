"""The ``swarm-star`` command. ``main(argv) -> int`` so tests call it directly.

The parser is built in :mod:`swarm_star.cli.parser` from the command modules
(``run``, ``inspect``, ``models``, ``primitives``, ``serve``, ``demo``); this
module dispatches and turns errors into one line and an exit code. What is
shown comes from :mod:`swarm_star.render.text`.

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
import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TextIO

from swarm_star.cli.flags import UsageError
from swarm_star.cli.parser import build_parser
from swarm_star.cli.run import EXIT
from swarm_star.errors import (
    ConfigError,
    ConflictError,
    InputError,
    QuestionNotFound,
    SwarmNotFound,
    SwarmStarError,
)

__all__ = ["EXIT", "build_parser", "main", "run_main"]

USAGE_ERRORS = (InputError, ConfigError, SwarmNotFound, QuestionNotFound, ConflictError)

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
