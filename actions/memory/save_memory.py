"""Keep a note in the swarm's memory space for later nodes to find."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from swarm_star.engine.context import ActionContext
from swarm_star.engine.quality import report_junk
from swarm_star.kit.briefing import brief
from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(
    name="save_memory",
    description="Record a fact, decision or result in the swarm's memory so later work can use it.",
)


class MemoryNote(BaseModel):
    title: str
    content: str


async def run(ctx: ActionContext) -> list[Any]:
    note = await ctx.ask_model(
        [
            {
                "role": "user",
                "content": f"Write a short titled note to remember for: {ctx.node.directive}\n\n{await brief(ctx)}",
            }
        ],
        purpose="memory note",
        schema=MemoryNote,
    )
    title = note.title.strip() or ctx.node.directive[:60]
    junk = report_junk(note.content)
    if junk is not None:
        return [ctx.fail(f"the note to remember is unusable ({junk})")]
    return [
        ctx.save_memory("results", title, note.content),
        ctx.terminate(f"remembered '{title}': {note.content}"),
    ]
