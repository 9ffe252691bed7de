"""An orchestration pattern's node: decompose into a wave of subtasks, then synthesize each finished wave
(into the next wave or the final text). The pattern is named in this node's context (see kit/pattern.py)."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, drive_pattern

SPEC = LeafSpec(
    name="run",
    description="Run the orchestration pattern the swarm was created with (cascade, swarm, sequential, "
    "conditional, iterative or a pattern given to the run).",
    routable=False,
)


async def run(ctx: ActionContext) -> list[Any]:
    return await drive_pattern(ctx)
