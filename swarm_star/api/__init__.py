"""The public Python API, and the only door the CLI and the HTTP server go through.

* :class:`Swarm` — create, open, run, resume, retry, answer, tree, history, tail, owner
  (:mod:`swarm_star.api.swarm`);
* :class:`RunOptions` — how one run goes (:mod:`swarm_star.api.options`);
* :class:`RunHandle` — a run in progress: its frames and questions, answer, stop
  (:mod:`swarm_star.api.handle`);
* :func:`list_swarms` / :class:`SwarmRow` — the swarms of a space (:mod:`swarm_star.api.listing`);
* :mod:`swarm_star.api.rules` — each rule the clients share, once;
* :mod:`swarm_star.api.context_files` — ``--context`` ingestion.
"""

from swarm_star.api.handle import RunHandle
from swarm_star.api.listing import SwarmRow, list_swarms
from swarm_star.api.options import RunOptions, ray_executor
from swarm_star.api.swarm import ROOT_NODE_ID, Swarm, lease_seconds, load_spaces, locate, new_swarm_id
from swarm_star.engine.engine import Executor, RunOutcome
from swarm_star.state.lease import OwnerStatus
from swarm_star.store import resolve_space

__all__ = [
    "ROOT_NODE_ID",
    "Executor",
    "OwnerStatus",
    "RunHandle",
    "RunOptions",
    "RunOutcome",
    "Swarm",
    "SwarmRow",
    "lease_seconds",
    "list_swarms",
    "load_spaces",
    "locate",
    "new_swarm_id",
    "ray_executor",
    "resolve_space",
]
