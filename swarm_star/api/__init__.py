"""The public Python API, and the only door the CLI and the HTTP server go through.

* :class:`Swarm` — create, open, run, resume, retry, answer, tree, history, tail, owner
  (:mod:`swarm_star.api.swarm`);
* :class:`RunOptions` — how one run goes (:mod:`swarm_star.api.options`);
* :class:`RunHandle` — a run in progress: its frames and questions, answer, stop
  (:mod:`swarm_star.api.handle`);
* :func:`list_swarms` / :class:`SwarmRow` — the swarms of a space (:mod:`swarm_star.api.listing`);
* :mod:`swarm_star.api.model_setup` — which models a swarm uses: ``swarm-star.toml``, ``.env``,
  ``--model``/``--role-model``, and what ``swarm-star models`` shows;
* :mod:`swarm_star.api.rules` — each rule the clients share, once;
* :mod:`swarm_star.api.context_files` — ``--context`` ingestion;
* :func:`build_timeline` / :class:`Timeline` — what ran when, from a history's frames
  (:mod:`swarm_star.state.timeline`; ``Swarm.timeline`` builds it for one swarm);
* :class:`SwarmReader` — one swarm's store as read, without a replay
  (:mod:`swarm_star.state.reader`: the key layout and the frame codec are its business).
"""

from swarm_star.api.handle import RunHandle
from swarm_star.api.listing import SwarmRow, list_swarms
from swarm_star.api.model_setup import (
    ModelSetup,
    find_config,
    load_env_file,
    model_setup,
    models_report,
    space_figures,
    unpriced_models,
    with_flags,
)
from swarm_star.api.options import RunOptions, ray_executor
from swarm_star.api.swarm import ROOT_NODE_ID, Swarm, lease_seconds, load_spaces, locate, new_swarm_id
from swarm_star.engine import Executor, RunOutcome
from swarm_star.state.lease import OwnerStatus
from swarm_star.state.reader import SwarmReader
from swarm_star.state.timeline import Timeline, build_timeline
from swarm_star.store import Backend, resolve_space

__all__ = [
    "ROOT_NODE_ID",
    "Backend",
    "Executor",
    "ModelSetup",
    "OwnerStatus",
    "RunHandle",
    "RunOptions",
    "RunOutcome",
    "Swarm",
    "SwarmReader",
    "SwarmRow",
    "Timeline",
    "build_timeline",
    "find_config",
    "lease_seconds",
    "list_swarms",
    "load_env_file",
    "load_spaces",
    "locate",
    "model_setup",
    "models_report",
    "new_swarm_id",
    "ray_executor",
    "resolve_space",
    "space_figures",
    "unpriced_models",
    "with_flags",
]
