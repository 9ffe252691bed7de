"""Run the ``swarm-star`` command in the test's process: ``main(argv)`` with captured output."""

from __future__ import annotations

import io

from swarm_star.cli import main

__all__ = ["cli"]


def cli(*argv: str) -> tuple[int, str, str]:
    """The exit code, standard output and standard error of ``swarm-star ARGV``."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()
