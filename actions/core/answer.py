"""Solve a small directive directly with one model call and report the answer."""

from __future__ import annotations

from typing import Any

from swarm_star.briefing import brief
from swarm_star.engine.context import ActionContext
from swarm_star.quality import report_junk
from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(
    name="answer",
    description="Answer or solve a small, self-contained directive directly in one model reply "
    "(explanations, short texts, calculations, advice).",
)


async def run(ctx: ActionContext) -> list[Any]:
    briefing = await brief(ctx)
    reply = await ctx.ask_model(
        [
            {
                "role": "system",
                "content": "Do the task. Reply with the result only, complete and concise.",
            },
            {"role": "user", "content": f"Task: {ctx.node.directive}\n\n{briefing}".strip()},
        ],
        purpose="answer",
        role="worker",
    )
    junk = report_junk(reply)
    if junk is not None:
        return [ctx.fail(f"the model's answer is unusable ({junk})")]
    return [ctx.terminate(reply.strip())]
