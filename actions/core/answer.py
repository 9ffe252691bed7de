"""Solve a small directive directly with one model call and report the answer."""

from __future__ import annotations

from typing import Any

from swarm_star.engine.context import ActionContext
from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(
    name="answer",
    description="Answer or solve a small, self-contained directive directly in one model reply "
    "(explanations, short texts, calculations, advice).",
)


async def run(ctx: ActionContext) -> list[Any]:
    notes = "\n".join(f"- {e.title}: {e.content[:500]}" for e in ctx.memory() if e.folder == "context")
    reply = await ctx.ask_model(
        [
            {
                "role": "system",
                "content": "Do the task. Reply with the result only, complete and concise.",
            },
            {"role": "user", "content": f"Task: {ctx.node.directive}\n\nKnown context:\n{notes}"},
        ],
        purpose="answer",
        role="worker",
    )
    if not reply.strip():
        return [ctx.fail("the model returned an empty answer")]
    return [ctx.terminate(reply.strip())]
