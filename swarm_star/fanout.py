"""``python -m swarm_star.fanout``: StochasticSwarm's command line, for scripts that called it.

The same command as ``swarm-star fanout`` (``-p/--prompt``, ``-n/--n-runs``,
``--system``, ``--stop``, ``--model``, ``--max-tokens``, ``--timeout``,
``--verbose`` with ``$LOG_LEVEL``, ``--print-candidates``, ``--json``); the
library entry is :func:`swarm_star.primitives.stochastic.stochasticswarm`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from swarm_star.cli import main as cli_main

    return cli_main(["fanout", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
