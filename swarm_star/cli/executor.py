"""``--executor`` and ``--ray-address`` for ``run`` and ``resume``.

A separate module so the CLI registers it in a few lines and Ray is imported only
when ``--executor ray`` is given (the flags themselves cost nothing).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_executor_flags", "executor_from"]


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


def executor_from(args: argparse.Namespace) -> Any:
    """The executor the flags ask for (None: in-process)."""
    executor = getattr(args, "executor", "local")
    address = getattr(args, "ray_address", None)
    if executor != "ray" and not address:
        return None
    from swarm_star.engine.ray_executor import RayExecutor

    return RayExecutor(address=address)
