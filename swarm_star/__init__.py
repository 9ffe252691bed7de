"""Swarm Star: a persistent, recursive tree of LLM agents.

Public API: create or open a :class:`Swarm`, run it (``Swarm.run`` gives a
:class:`RunHandle`; :class:`RunOptions` says how), answer its questions, read
its tree (now or at any frame) and its history.

Names are imported on first use (module ``__getattr__``), so importing one
module (``swarm_star.errors``, the CLI) does not load the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swarm_star.lazy import export

if TYPE_CHECKING:
    from swarm_star.api import RunHandle, RunOptions, Swarm, SwarmRow, list_swarms, load_spaces
    from swarm_star.engine import Engine, RunOutcome
    from swarm_star.errors import SwarmStarError
    from swarm_star.llm import Endpoint, LLMClient, resolve_endpoint
    from swarm_star.models import (
        CodeSettings,
        Limits,
        ModelSettings,
        SwarmEvent,
        SwarmNode,
        SwarmSettings,
        VerifySettings,
    )
    from swarm_star.state.projection import SwarmState

__all__ = [
    "CodeSettings",
    "Endpoint",
    "Engine",
    "LLMClient",
    "Limits",
    "ModelSettings",
    "RunHandle",
    "RunOptions",
    "RunOutcome",
    "Swarm",
    "SwarmEvent",
    "SwarmNode",
    "SwarmRow",
    "SwarmSettings",
    "SwarmStarError",
    "SwarmState",
    "VerifySettings",
    "list_swarms",
    "load_spaces",
    "resolve_endpoint",
]

_HOME = {
    "CodeSettings": "swarm_star.models",
    "Endpoint": "swarm_star.llm",
    "Engine": "swarm_star.engine",
    "LLMClient": "swarm_star.llm",
    "Limits": "swarm_star.models",
    "ModelSettings": "swarm_star.models",
    "RunHandle": "swarm_star.api",
    "RunOptions": "swarm_star.api",
    "RunOutcome": "swarm_star.engine",
    "Swarm": "swarm_star.api",
    "SwarmEvent": "swarm_star.models",
    "SwarmNode": "swarm_star.models",
    "SwarmRow": "swarm_star.api",
    "SwarmSettings": "swarm_star.models",
    "SwarmStarError": "swarm_star.errors",
    "SwarmState": "swarm_star.state.projection",
    "VerifySettings": "swarm_star.models",
    "list_swarms": "swarm_star.api",
    "load_spaces": "swarm_star.api",
    "resolve_endpoint": "swarm_star.llm",
}


def __getattr__(name: str) -> Any:
    return export(__name__, _HOME, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
