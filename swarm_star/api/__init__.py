"""The public Python API, and the only door the CLI and the HTTP server go through.

* :class:`Swarm` — create, open, run, resume, retry, answer, tree, history, tail, owner
  (:mod:`swarm_star.api.swarm`);
* :class:`RunOptions` — how one run goes (:mod:`swarm_star.api.options`);
* :class:`RunHandle` — a run in progress: its frames and questions, answer, stop
  (:mod:`swarm_star.api.handle`);
* :class:`SwarmView` — what ``tree`` and ``questions`` show, read without pydantic
  (:mod:`swarm_star.api.reads`, with :func:`locate`);
* :func:`list_swarms` / :class:`SwarmRow` — the swarms of a space (:mod:`swarm_star.api.listing`);
* :mod:`swarm_star.api.model_config` — which models a swarm uses: ``swarm-star.toml``, ``.env``,
  ``--model``/``--role-model``, and what ``swarm-star models`` shows;
* :mod:`swarm_star.api.rules` — each rule the clients share, once;
* :mod:`swarm_star.api.context_files` — ``--context`` ingestion;
* :func:`build_timeline` / :class:`Timeline` — what ran when, from a history's frames
  (:mod:`swarm_star.state.timeline`; ``Swarm.timeline`` builds it for one swarm);
* :class:`SwarmReader` — one swarm's store as read, without a replay
  (:mod:`swarm_star.state.reader`: the key layout and the frame codec are its business).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swarm_star.lazy import export

if TYPE_CHECKING:
    from swarm_star.api.handle import RunHandle
    from swarm_star.api.listing import SwarmRow, list_swarms
    from swarm_star.api.model_config import (
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
    from swarm_star.api.reads import SwarmView, locate
    from swarm_star.api.swarm import ROOT_NODE_ID, Swarm, lease_seconds, new_swarm_id
    from swarm_star.engine import Executor, RunOutcome
    from swarm_star.spaces.installed import load_spaces
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
    "SwarmView",
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

_HOME = {
    "ROOT_NODE_ID": "swarm_star.api.swarm",
    "Backend": "swarm_star.store",
    "Executor": "swarm_star.engine",
    "ModelSetup": "swarm_star.api.model_config",
    "OwnerStatus": "swarm_star.state.lease",
    "RunHandle": "swarm_star.api.handle",
    "RunOptions": "swarm_star.api.options",
    "RunOutcome": "swarm_star.engine",
    "Swarm": "swarm_star.api.swarm",
    "SwarmReader": "swarm_star.state.reader",
    "SwarmRow": "swarm_star.api.listing",
    "SwarmView": "swarm_star.api.reads",
    "Timeline": "swarm_star.state.timeline",
    "build_timeline": "swarm_star.state.timeline",
    "find_config": "swarm_star.api.model_config",
    "lease_seconds": "swarm_star.api.swarm",
    "list_swarms": "swarm_star.api.listing",
    "load_env_file": "swarm_star.api.model_config",
    "load_spaces": "swarm_star.spaces.installed",
    "locate": "swarm_star.api.reads",
    "model_setup": "swarm_star.api.model_config",
    "models_report": "swarm_star.api.model_config",
    "new_swarm_id": "swarm_star.api.swarm",
    "ray_executor": "swarm_star.api.options",
    "resolve_space": "swarm_star.store",
    "space_figures": "swarm_star.api.model_config",
    "unpriced_models": "swarm_star.api.model_config",
    "with_flags": "swarm_star.api.model_config",
}
"""Where each name lives: imported on first use (module ``__getattr__``), so ``tree`` and ``list``
load the readers they need, not the engine, the model client and the tools (issue 25)."""


def __getattr__(name: str) -> Any:
    return export(__name__, _HOME, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
