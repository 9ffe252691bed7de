"""Swarm Star: a persistent, recursive tree of LLM agents.

Public API: create or open a :class:`Swarm`, run it, answer its questions,
read its tree (now or at any frame) and its history.
"""

from swarm_star.api import Swarm, load_spaces
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
    "RunOutcome",
    "Swarm",
    "SwarmEvent",
    "SwarmNode",
    "SwarmSettings",
    "SwarmStarError",
    "SwarmState",
    "VerifySettings",
    "load_spaces",
    "resolve_endpoint",
]
