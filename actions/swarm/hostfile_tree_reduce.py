"""Every agent in the hostfile answers; answers are summarized group by group into one."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, AgentPool, AgentReply, LeafSpec, Purpose, Usage, replies_usage, tree_reduce

SPEC = LeafSpec(
    name="hostfile_tree_reduce",
    description="Gather answers from every LLM endpoint in the swarm's hostfile and condense them "
    "level by level into one report (surveys, brainstorming at scale, broad coverage). Needs a hostfile.",
    needs=("hostfile",),
)


async def run(ctx: ActionContext) -> list[Any]:
    pool = AgentPool.for_swarm(ctx.settings)
    prompt = ctx.node.directive
    fan_in = ctx.settings.tree_fan_in
    # n leaves, then about n/(fan_in-1) summaries in all
    expected = len(pool) + len(pool) // (fan_in - 1) + 1

    async def work() -> tuple[dict[str, Any], Usage]:
        async with pool:
            result = await tree_reduce(pool, prompt, fan_in=fan_in)
        return result.to_json(), replies_usage([*result.leaves, *(r for level in result.levels for r in level)])

    data = await ctx.run_primitive(Purpose.TREE_REDUCE, prompt, expected, work)
    leaves = [AgentReply.from_json(r) for r in data["leaves"]]
    failed_groups = data["failed_groups"]
    if data["final"] is None:
        return [ctx.fail(f"tree-reduce produced no answer: {data['error']}")]
    note = f"[tree-reduce: {len(data['covered'])} of {len(leaves)} answers covered"
    if failed_groups:
        note += f"; {len(failed_groups)} summary group(s) failed and were carried up unsummarized"
    return [ctx.terminate(f"{data['final'].strip()}\n\n{note}]")]
