"""Steering a swarm beyond run/stop/answer: retrying failed nodes.

Why a separate seam: re-running failed nodes needs a new kind of frame in the
projection, which belongs to the engine and ``swarm-star retry`` (issue #12).
The server calls :func:`retry_failed`; until ``Swarm.retry`` exists in the API
it says so plainly (HTTP 501) instead of pretending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarm_star.api import Swarm

if TYPE_CHECKING:
    from swarm_star.serve.hub import SwarmHub

__all__ = ["retry_failed"]


def retry_failed(hub: SwarmHub, swarm_id: str, node_id: str | None = None) -> list[str]:
    """Re-run ``node_id`` (or every failed node) with its subtree through ``Swarm.retry``.

    Returns the node ids queued for a re-run; the caller then resumes the swarm.
    """
    with Swarm.open(swarm_id, space=hub.space, backend=hub.backend, user_id=hub.user_id, env=hub.env) as swarm:
        retry = getattr(swarm, "retry", None)
        if retry is None:
            raise NotImplementedError(
                "retrying failed nodes is not available in this build (Swarm.retry, from swarm-star retry); "
                "use resume with raised limits"
            )
        return list(retry(node_id) or [])
