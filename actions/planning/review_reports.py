"""Review a manager's finished children: report if the directive is met, else re-plan.

Failed children are shown to the reviewer as failures, never hidden. Re-plan
rounds are bounded by ``limits.max_rounds``; the last round reports whatever
it has, saying the directive was not fully met.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swarm_star.engine.context import ActionContext
from swarm_star.models import NodeRole, NodeStatus, SwarmNode
from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(
    name="review_reports",
    description="Manager review: judges children's reports against the directive and re-plans if needed.",
    routable=False,
)


class Review(BaseModel):
    """The reviewer's verdict on one round."""

    directive_met: bool
    report: str = Field(description="consolidated report of what was achieved")
    next_directive: str = Field("", description="what still needs doing, if not met")


def describe(children: list[SwarmNode]) -> str:
    lines = []
    for child in children:
        if child.status == NodeStatus.FAILED:
            lines.append(f"- [{child.id}] FAILED: {child.directive}\n  error: {child.error}")
        else:
            lines.append(f"- [{child.id}] {child.directive}\n  report: {child.report}")
    return "\n".join(lines)


async def review(ctx: ActionContext, children: list[SwarmNode]) -> list[Any]:
    verdict = await ctx.ask_model(
        [
            {
                "role": "system",
                "content": "You review the reports of parallel workers against the directive. "
                "Write one consolidated report. If something essential is missing or failed, "
                "say what still needs doing.",
            },
            {
                "role": "user",
                "content": f"Directive: {ctx.node.directive}\n\nReports:\n{describe(children)}",
            },
        ],
        purpose="review",
        role="reviewer",
        schema=Review,
    )
    round_no = int(ctx.node.context.get("round", 1))
    next_directive = verdict.next_directive.strip()
    if verdict.directive_met or not next_directive:
        return [ctx.terminate(verdict.report)]
    if round_no >= ctx.limits.max_rounds:
        return [ctx.terminate(f"{verdict.report}\n\n(Not fully met after {round_no} rounds: {next_directive})")]
    return [
        ctx.spawn(
            NodeRole.MANAGER,
            "planning.decompose_directive",
            next_directive,
            {"round": round_no + 1, "previous_report": verdict.report},
        )
    ]


async def run(ctx: ActionContext) -> list[Any]:
    """Standalone use: review this node's own children."""
    return await review(ctx, ctx.children())
