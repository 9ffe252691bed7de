"""A subtask of a pattern that does its subtasks in Python: the pattern's ``execute`` hook, in this node."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, run_step

SPEC = LeafSpec(
    name="step",
    description="Do one subtask of a pattern with the pattern's own execute hook.",
    routable=False,
)


async def run(ctx: ActionContext) -> list[Any]:
    return await run_step(ctx)
