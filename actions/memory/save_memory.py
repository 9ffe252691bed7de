"""Keep a note in the swarm's memory space for later nodes to find."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, Purpose, brief, prompts, report_junk

SPEC = LeafSpec(
    name="save_memory",
    description="Record a fact, decision or result in the swarm's memory so later work can use it.",
)


async def run(ctx: ActionContext) -> list[Any]:
    note = await ctx.ask_model(
        prompts.worker.note_messages(ctx.node.directive, await brief(ctx)),
        purpose=Purpose.MEMORY_NOTE,
        schema=prompts.worker.MemoryNote,
    )
    title = note.title.strip() or ctx.node.directive[:60]
    junk = report_junk(note.content)
    if junk is not None:
        return [ctx.fail(f"the note to remember is unusable ({junk})")]
    return [
        ctx.save_memory("results", title, note.content),
        ctx.terminate(f"remembered '{title}': {note.content}"),
    ]
