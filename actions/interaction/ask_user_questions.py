"""Ask the user, possibly over several turns, and report what was learned.

Only this node waits for the answer; the rest of the tree keeps running.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, LeafSpec, Purpose, brief, prompts

SPEC = LeafSpec(
    name="ask_user_questions",
    description="Ask the user for facts, preferences or decisions that only they can provide.",
)


async def run(ctx: ActionContext) -> list[Any]:
    answers = ctx.answers()
    if not answers:
        question = ctx.node.context.get("question")
        if not question:
            asked = await ctx.ask_model(
                prompts.worker.question_messages(ctx.node.directive, await brief(ctx)),
                purpose=Purpose.PHRASE_QUESTION,
                schema=prompts.worker.Question,
            )
            question = asked.question.strip() or ctx.node.directive
        return [ctx.ask(question)]
    transcript = prompts.worker.transcript(answers)
    verdict = await ctx.ask_model(
        prompts.worker.follow_up_messages(ctx.node.directive, transcript),
        purpose=Purpose.FOLLOW_UP,
        schema=prompts.worker.FollowUp,
    )
    limit = ctx.limits.max_questions
    if not verdict.enough and verdict.follow_up.strip() and len(answers) < limit:
        return [ctx.ask(verdict.follow_up.strip())]
    return [ctx.terminate(verdict.summary.strip() or transcript)]
