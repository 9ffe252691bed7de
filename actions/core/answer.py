"""Solve a small directive directly with one model call and report the answer."""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, Attempt, LeafSpec, Purpose, brief, checked, prompts, report_junk

SPEC = LeafSpec(
    name="answer",
    description="Answer or solve a small, self-contained directive directly in one model reply "
    "(explanations, short texts, calculations, advice).",
)


async def run(ctx: ActionContext) -> list[Any]:
    briefing = await brief(ctx)

    async def produce(model: str | None, fix: list[str]) -> Attempt[str]:
        reply = await ctx.ask_model(
            prompts.worker.answer_messages(ctx.node.directive, briefing, fix),
            purpose=Purpose.ANSWER if not fix else Purpose.REPAIR_ANSWER,
            role="worker",
            model=model,
        )
        text = reply.strip()
        junk = report_junk(text)
        return Attempt(text, text, None if junk is None else f"the model's answer is unusable ({junk})")

    result = await checked(ctx, produce)  # checked only if settings.verify lists this action
    if result.attempt.error is not None and result.verified is None:
        return [ctx.fail(result.attempt.error)]
    if result.verified is False:
        return [*result.verdicts, ctx.fail(f"answer {result.note()}")]
    note = result.note()
    answer = result.attempt.text
    return [*result.verdicts, ctx.terminate(f"{answer}\n{note}" if note else answer)]
