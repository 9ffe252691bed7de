"""Ask the user, possibly over several turns, and report what was learned.

Only this node waits for the answer; the rest of the tree keeps running.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swarm_star.engine.context import ActionContext
from swarm_star.kit.briefing import brief
from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(
    name="ask_user_questions",
    description="Ask the user for facts, preferences or decisions that only they can provide.",
)


class FollowUp(BaseModel):
    """Whether the answers so far are enough."""

    enough: bool
    follow_up: str = Field("", description="the next question, if not enough")
    summary: str = Field("", description="what was learned, if enough")


class Question(BaseModel):
    question: str


async def run(ctx: ActionContext) -> list[Any]:
    answers = ctx.answers()
    if not answers:
        question = ctx.node.context.get("question")
        if not question:
            asked = await ctx.ask_model(
                [
                    {
                        "role": "user",
                        "content": f"Write one clear question to the user for: {ctx.node.directive}"
                        + (f"\n\n{briefing}" if (briefing := await brief(ctx)) else ""),
                    }
                ],
                purpose="phrase question",
                schema=Question,
            )
            question = asked.question.strip() or ctx.node.directive
        return [ctx.ask(question)]
    transcript = "\n".join(f"Q: {q}\nA: {a}" for q, a in answers)
    verdict = await ctx.ask_model(
        [
            {"role": "system", "content": "Decide whether these answers settle the question."},
            {"role": "user", "content": f"Need: {ctx.node.directive}\n\n{transcript}"},
        ],
        purpose="follow up",
        schema=FollowUp,
    )
    limit = ctx.limits.max_questions
    if not verdict.enough and verdict.follow_up.strip() and len(answers) < limit:
        return [ctx.ask(verdict.follow_up.strip())]
    return [ctx.terminate(verdict.summary.strip() or transcript)]
