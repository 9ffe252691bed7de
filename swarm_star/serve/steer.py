"""Steering a swarm beyond run/stop/answer: retrying failed nodes.

The same rule as ``swarm-star retry``: :func:`~swarm_star.engine.engine.retry_targets`
picks the failed nodes to re-open (the deepest failures of a subtree; the
failed managers above them re-open to re-review), and the run that follows
records a ``retry`` frame for each before anything else happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarm_star.engine.engine import retry_targets
from swarm_star.errors import InputError

if TYPE_CHECKING:
    from swarm_star.serve.hub import SwarmHub

__all__ = ["retry_failed"]


def retry_failed(hub: SwarmHub, swarm_id: str, node_id: str | None = None) -> list[str]:
    """The failed nodes to re-run for ``node_id``'s subtree (the whole tree by default).

    Reads the committed node records; raises InputError (a 400) for an unknown
    node or when nothing in that subtree failed. The caller starts the run.
    """
    state = hub.log(swarm_id).replay()
    if node_id is not None and node_id not in state.nodes:
        raise InputError(f"no node {node_id!r} in swarm {swarm_id}")
    targets = retry_targets(state, node_id)
    if not targets:
        where = f"node {node_id}'s subtree" if node_id else f"swarm {swarm_id}"
        raise InputError(f"nothing to retry: no failed node in {where}")
    return targets
