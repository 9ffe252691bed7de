"""The manager: plan a directive into parallel sub-directives, then review the results.

Phases follow from the node's children, so an interrupted activation resumes
in the right one: no children -> plan (or ask first); only question children
-> plan with their answers; work children -> review; a finished next round ->
report its outcome.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swarm_star.engine.context import ActionContext, normalize_directive
from swarm_star.models import NodeRole
from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(
    name="decompose_directive",
    description="Manager: splits a directive into independent parallel sub-directives.",
    routable=False,
)
ASK = "interaction.ask_user_questions"
SELF = "planning.decompose_directive"
MAX_SUBDIRECTIVES = 8


class Plan(BaseModel):
    """The planner's decision for one directive."""

    needs_context: bool = Field(description="true only if facts only the user has are missing")
    question: str = Field("", description="the question for the user, if needs_context")
    subdirectives: list[str] = Field(default_factory=list, description="independent parts that can run in parallel")


async def run(ctx: ActionContext) -> list[Any]:
    children = ctx.children()
    work = [c for c in children if c.action_id != ASK]
    if work and work[-1].action_id == SELF:  # the next round finished: its outcome is ours
        last = work[-1]
        return (
            [ctx.terminate(last.report)] if last.report is not None else [ctx.fail(f"next round failed: {last.error}")]
        )
    if work:
        review = ctx.actions.module("planning.review_reports")
        return await review.review(ctx, work)
    return await plan(ctx, [c for c in children if c.action_id == ASK])


async def plan(ctx: ActionContext, asked: list[Any]) -> list[Any]:
    answers = "\n".join(f"- {c.report}" for c in asked if c.report)
    context = "\n".join(f"- {e.title}: {e.content[:300]}" for e in ctx.memory() if e.folder == "context")
    decision = await ctx.ask_model(
        [
            {
                "role": "system",
                "content": "You are a manager. Split the directive into independent sub-directives "
                f"that can run in parallel (at most {MAX_SUBDIRECTIVES}); a small directive is one "
                "sub-directive. Ask the user only if facts only they have are missing.",
            },
            {
                "role": "user",
                "content": f"Directive: {ctx.node.directive}\n\nContext:\n{context}\n\n"
                f"User answers:\n{answers or '(none)'}",
            },
        ],
        purpose="plan",
        role="planner",
        schema=Plan,
    )
    if decision.needs_context and decision.question.strip() and not asked:
        return [
            ctx.spawn(
                NodeRole.ACTION,
                ASK,
                decision.question.strip(),
                {"question": decision.question.strip()},
            )
        ]
    subs = unique_subdirectives(ctx, decision.subdirectives) or [ctx.node.directive]
    return [
        ctx.spawn(
            NodeRole.ROUTER,
            "routing.route_action",
            sub,
            {"round": ctx.node.context.get("round", 1)},
        )
        for sub in subs[:MAX_SUBDIRECTIVES]
    ]


def unique_subdirectives(ctx: ActionContext, proposed: list[str]) -> list[str]:
    """Drop empty ones, repeats among siblings, and repeats of ancestors' directives."""
    seen = {normalize_directive(a.directive) for a in ctx.ancestors()}
    own = normalize_directive(ctx.node.directive)
    out: list[str] = []
    for sub in proposed:
        key = normalize_directive(sub)
        if not key or key in seen:
            continue
        if key == own and len(proposed) > 1:
            continue  # the whole directive is not one of its own parts
        seen.add(key)
        out.append(sub.strip())
    return out
