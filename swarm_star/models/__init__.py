"""Pydantic v2 types for everything Swarm Star persists or passes around.

Every persisted record carries ``schema_version`` so a later release can
migrate old swarm spaces instead of misreading them.

Names are imported on first use (module ``__getattr__``): importing one module of
the package (``models.basics``, the statuses and roles) does not import pydantic
and build every model's class, which the read commands do without (issue 25).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swarm_star.lazy import export

if TYPE_CHECKING:
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

_HOME = {
    "AFTER_KEY": "swarm_star.models.basics",
    "ActionCreated": "swarm_star.models.operations",
    "AskUser": "swarm_star.models.operations",
    "AwaitChildren": "swarm_star.models.operations",
    "Check": "swarm_star.models.node",
    "CodeSettings": "swarm_star.models.config",
    "Fail": "swarm_star.models.operations",
    "HttpAttempt": "swarm_star.models.operations",
    "LLMCall": "swarm_star.models.operations",
    "Limits": "swarm_star.models.config",
    "ModelSettings": "swarm_star.models.config",
    "NodeRole": "swarm_star.models.basics",
    "NodeStatus": "swarm_star.models.basics",
    "Operation": "swarm_star.models.operations",
    "Question": "swarm_star.models.node",
    "ROOT_NODE_ID": "swarm_star.models.basics",
    "ResumeSwarm": "swarm_star.models.operations",
    "RetryNode": "swarm_star.models.operations",
    "RunAction": "swarm_star.models.operations",
    "SaveMemory": "swarm_star.models.operations",
    "SpaceEntry": "swarm_star.models.space",
    "SpaceFolder": "swarm_star.models.space",
    "SpaceLeaf": "swarm_star.models.space",
    "Spawn": "swarm_star.models.operations",
    "StopSwarm": "swarm_star.models.operations",
    "SwarmEvent": "swarm_star.models.frame",
    "SwarmNode": "swarm_star.models.node",
    "SwarmRecord": "swarm_star.models.config",
    "SwarmSettings": "swarm_star.models.config",
    "SwarmStatus": "swarm_star.models.basics",
    "Terminate": "swarm_star.models.operations",
    "ToolCall": "swarm_star.models.operations",
    "ToolSettings": "swarm_star.models.config",
    "Usage": "swarm_star.models.node",
    "UserAnswer": "swarm_star.models.operations",
    "Verdict": "swarm_star.models.operations",
    "VerifySettings": "swarm_star.models.config",
}
"""Where each name lives (see the module docstring)."""


def __getattr__(name: str) -> Any:
    return export(__name__, _HOME, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
