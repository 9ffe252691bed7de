"""Pydantic v2 types for everything Swarm Star persists or passes around.

Every persisted record carries ``schema_version`` so a later release can
migrate old swarm spaces instead of misreading them.
"""

from swarm_star.models.config import Limits, ModelSettings, SwarmRecord, SwarmSettings
from swarm_star.models.frame import SwarmEvent
from swarm_star.models.node import NodeRole, NodeStatus, Question, SwarmNode, Usage
from swarm_star.models.operations import (
    AskUser,
    Attempt,
    AwaitChildren,
    Fail,
    LLMCall,
    Operation,
    ResumeSwarm,
    RetryNode,
    RunAction,
    SaveMemory,
    Spawn,
    StopSwarm,
    Terminate,
    UserAnswer,
)
from swarm_star.models.space import SpaceEntry, SpaceFolder, SpaceLeaf

SCHEMA_VERSION = 1

__all__ = [
    "SCHEMA_VERSION",
    "AskUser",
    "Attempt",
    "AwaitChildren",
    "Fail",
    "LLMCall",
    "Limits",
    "ModelSettings",
    "NodeRole",
    "NodeStatus",
    "Operation",
    "Question",
    "ResumeSwarm",
    "RetryNode",
    "RunAction",
    "SaveMemory",
    "SpaceEntry",
    "SpaceFolder",
    "SpaceLeaf",
    "Spawn",
    "StopSwarm",
    "SwarmEvent",
    "SwarmNode",
    "SwarmRecord",
    "SwarmSettings",
    "Terminate",
    "Usage",
    "UserAnswer",
]
