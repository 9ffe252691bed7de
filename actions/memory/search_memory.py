"""Find something in the memory space with a memory router (one level at a time).

What memory does not hold, the user may: a walk that finds nothing asks the user
(the design's "which if they can't find they will ask the user for"), once,
within the swarm's question budget (``max_questions`` per node; 0 never asks).
Only this node waits for the answer; the answer is its report (so it is saved to
memory under results/ like any other).
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, Purpose, directive_chain, memory_space, prompts, route

SPEC = LeafSpec(
    name="search_memory",
    description="Look up what the user provided (directive, context files) or what the swarm already found.",
)


async def run(ctx: ActionContext) -> list[Any]:
    answers = ctx.answers()
    if answers:
        return [ctx.terminate(prompts.worker.transcript(answers))]
    space = memory_space(ctx.memory(), ctx.nodes)
    chain = directive_chain(ctx)
    result = await route(
        ctx,
        space,
        ctx.node.directive,
        purpose=Purpose.MEMORY_ROUTE,
        max_backtracks=ctx.limits.max_backtracks,
        context=prompts.briefing.chain_context(chain) if len(chain) > 1 else "",
    )
    if result.leaf is None:
        if ctx.limits.max_questions > 0:
            return [ctx.ask(prompts.worker.not_in_memory_question(ctx.node.directive))]
        return [ctx.terminate("nothing relevant in memory (" + "; ".join(result.trail) + ")")]
    return [ctx.terminate(f"from memory '{result.leaf.name}':\n{result.leaf.content}")]
