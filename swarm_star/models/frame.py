"""One history frame: a numbered, timestamped, executed operation."""

from __future__ import annotations

from pydantic import BaseModel, Field

from swarm_star.models.operations import DEFERRED, Operation


class SwarmEvent(BaseModel):
    """Frame ``frame`` of a swarm. Frames are numbered 0, 1, 2, … with no gaps."""

    model_config = DEFERRED

    schema_version: int = 1
    frame: int
    time: float
    op: Operation
    nodes: list[str] = Field(default_factory=list, description="node ids the op touched")
