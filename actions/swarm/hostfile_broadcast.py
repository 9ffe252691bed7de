"""Put the directive to every agent in the hostfile and combine their answers.

The whole result (every reply, failures included, and the combined answer)
is stored with this node as one journaled record, so a crash after the
broadcast never asks the agents again.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import (
    ActionContext,
    AgentPool,
    AgentReply,
    LeafSpec,
    Purpose,
    Usage,
    broadcast,
    failure_report,
    replies_usage,
)

SPEC = LeafSpec(
    name="hostfile_broadcast",
    description="Ask every LLM endpoint in the swarm's hostfile the same question and combine the "
    "answers into one (polls, many independent opinions, large ensembles). Needs a hostfile.",
    needs=("hostfile",),
)


async def run(ctx: ActionContext) -> list[Any]:
    pool = AgentPool.for_swarm(ctx.settings)
    prompt = ctx.node.directive

    async def work() -> tuple[dict[str, Any], Usage]:
        async with pool:
            result = await broadcast(pool, prompt, reduce=True)
        return result.to_json(), replies_usage([*result.replies, result.reduced])

    data = await ctx.run_primitive(Purpose.BROADCAST, prompt, len(pool) + 1, work)
    replies = [AgentReply.from_json(r) for r in data["replies"]]
    summary = failure_report(replies).summary()
    reduced = AgentReply.from_json(data["reduced"]) if data["reduced"] else None
    if reduced is None or not reduced.ok:
        why = reduced.error if reduced is not None else "nothing to combine"
        return [ctx.fail(f"broadcast could not combine the answers: {why}; {summary}")]
    return [ctx.terminate(f"{reduced.text.strip()}\n\n[broadcast: {summary}]")]
