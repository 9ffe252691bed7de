"""Pydantic v2 types for everything Swarm Star persists or passes around.

Every persisted record carries ``schema_version`` so a later release can
migrate old swarm spaces instead of misreading them.
"""

from swarm_star.models.config import (
    CodeSettings,
    Limits,
    ModelSettings,
    SwarmRecord,
    SwarmSettings,
    ToolSettings,
    VerifySettings,
)
from swarm_star.models.frame import SwarmEvent
from swarm_star.models.node import (
    AFTER_KEY,
    ROOT_NODE_ID,
    Check,
    NodeRole,
    NodeStatus,
    Question,
    SwarmNode,
    SwarmStatus,
    Usage,
)
from swarm_star.models.operations import (
    ActionCreated,
    AskUser,
    AwaitChildren,
    Fail,
    HttpAttempt,
    LLMCall,
    Operation,
    ResumeSwarm,
    RetryNode,
    RunAction,
    SaveMemory,
    Spawn,
    StopSwarm,
    Terminate,
    ToolCall,
    UserAnswer,
    Verdict,
)
from swarm_star.models.space import SpaceEntry, SpaceFolder, SpaceLeaf

SCHEMA_VERSION = 1

__all__ = [
    "AFTER_KEY",
    "ROOT_NODE_ID",
    "SCHEMA_VERSION",
    "ActionCreated",
    "AskUser",
    "AwaitChildren",
    "Check",
    "CodeSettings",
    "Fail",
    "HttpAttempt",
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
    "SwarmStatus",
    "Terminate",
    "ToolCall",
    "ToolSettings",
    "Usage",
    "UserAnswer",
    "Verdict",
    "VerifySettings",
]
