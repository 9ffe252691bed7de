"""Review a manager's finished children: report honestly, re-plan if needed.

What the review may conclude is bounded by what the children did:

- every part failed (or reported nothing usable): no model call; re-plan the
  same directive with the errors as context while ``limits.max_rounds``
  allows, else fail with the children's errors;
- some parts failed: the report says which and why;
- the reviewer's report is empty or junk: the consolidated report is built
  from the children's reports instead (never lost, never empty);
- a junk or error-looking ``next_directive`` is ignored, never planned;
- not met after the last round: the report says so;
- a one-part plan whose part is the directive itself, its result already
  passed by a verifier against that directive: no model call (the review
  would ask the same question again); the part's report is the outcome. An
  unverified one-part result is still reviewed: the review is its only check,
  and the only step that can ask for a next round.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import (
    MEMORY_PICK,
    ActionContext,
    LeafSpec,
    ModelOutputError,
    NodeRole,
    NodeStatus,
    Purpose,
    SwarmNode,
    brief,
    directive_junk,
    ids,
    normalize_directive,
    prompts,
    report_junk,
)

SPEC = LeafSpec(
    name="review_reports",
    description="Manager review: judges children's reports against the directive and re-plans if needed.",
    routable=False,
)
CHILD_REPORT_CHARS = 1500


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def usable(child: SwarmNode) -> bool:
    """A child that finished with a report worth passing on."""
    return child.status == NodeStatus.TERMINATED and report_junk(child.report) is None


def trouble(child: SwarmNode) -> str:
    """Why a child gave nothing usable, in one line."""
    if child.status == NodeStatus.FAILED:
        return _one_line(child.error or "failed")
    return f"reported nothing usable ({report_junk(child.report)})"


def describe(children: list[SwarmNode]) -> str:
    lines = []
    for number, child in enumerate(children, 1):
        if usable(child):
            lines.append(
                prompts.review.report_entry(number, child.directive, (child.report or "")[:CHILD_REPORT_CHARS])
            )
        else:
            lines.append(prompts.review.failed_entry(number, child.directive, trouble(child)))
    return "\n".join(lines)


def consolidate(children: list[SwarmNode]) -> str:
    """A report made of the children's own reports (when the reviewer gave none)."""
    good = [c for c in children if usable(c)]
    if len(good) == 1:
        return (good[0].report or "").strip()
    return "\n\n".join(f"{_one_line(c.directive, 120)}:\n{(c.report or '').strip()}" for c in good)


def failures_note(children: list[SwarmNode]) -> str:
    bad = [c for c in children if not usable(c)]
    if not bad:
        return ""
    lines = "\n".join(f"- {_one_line(c.directive, 120)}: {trouble(c)}" for c in bad)
    return f"\n\nPartly done: {len(bad)} of {len(children)} parts failed:\n{lines}"


NOT_MET = "the reviewer judged the directive not met"


def shortfall(children: list[SwarmNode], met: bool = True) -> str | None:
    """Why a round's outcome falls short, for the outcome's ``partial`` (None: complete):
    failed parts first, then the reviewer's verdict, then parts that were partial themselves."""
    bad = [c for c in children if not usable(c)]
    if bad:
        return f"{len(bad)} of {len(children)} parts failed"
    if not met:
        return NOT_MET
    short = [c for c in children if c.partial]
    return f"{len(short)} of {len(children)} parts partial" if short else None


def already_verified(ctx: ActionContext, children: list[SwarmNode]) -> str | None:
    """The report of a one-part round that a verifier already judged against this very directive
    (the part is the directive itself, not partial, and the action that produced its report has a
    passing check as its last); else None."""
    if len(children) != 1 or not usable(children[0]) or children[0].partial:
        return None
    part = children[0]
    if normalize_directive(part.directive) != normalize_directive(ctx.node.directive):
        return None
    doers = [ctx.get(i) for i in part.children]
    done = [d for d in doers if d.status == NodeStatus.TERMINATED and d.report == part.report]
    if not done or not done[-1].checks or not done[-1].checks[-1].ok:
        return None
    return (part.report or "").strip()


async def ask_reviewer(ctx: ActionContext, children: list[SwarmNode], briefing: str) -> prompts.review.Review:
    return await ctx.ask_model(
        prompts.review.review_messages(ctx.node.directive, briefing, describe(children)),
        purpose=Purpose.REVIEW,
        role="reviewer",
        schema=prompts.review.Review,
    )


async def review(ctx: ActionContext, children: list[SwarmNode]) -> list[Any]:
    round_no = int(ctx.node.context.get("round", 1))
    if not any(usable(c) for c in children):
        errors = "; ".join(f"[{c.id}] {_one_line(c.directive, 80)}: {trouble(c)}" for c in children)
        if round_no < ctx.limits.max_rounds:
            return [
                ctx.spawn(
                    NodeRole.MANAGER,
                    ids.MANAGER,
                    ctx.node.directive,
                    {"round": round_no + 1, "previous_errors": errors},
                )
            ]
        return [ctx.fail(f"every part failed (round {round_no} of {ctx.limits.max_rounds}): {errors}")]
    verified = already_verified(ctx, children)
    if verified is not None:
        return [ctx.terminate(verified)]
    # the memory its plan walked to (in its parts' spawn context): the review walks no more
    picks = [c.context[MEMORY_PICK] for c in children if isinstance(c.context.get(MEMORY_PICK), list)]
    briefing = await brief(ctx, pick=picks[0] if picks else None)
    try:
        verdict = await ask_reviewer(ctx, children, briefing)
    except ModelOutputError as exc:  # an unreadable verdict is a junk verdict: the parts speak
        note = f"\n\n(The review could not be read ({exc}); this report is the parts' own.)"
        return [ctx.terminate(consolidate(children) + failures_note(children) + note, partial=shortfall(children))]
    report = verdict.report.strip()
    if report_junk(report) is not None:
        report = consolidate(children)
    report += failures_note(children)
    next_directive = verdict.next_directive.strip()
    if next_directive and directive_junk(next_directive) is not None:
        next_directive = ""
    if verdict.directive_met:
        return [ctx.terminate(report, partial=shortfall(children))]
    partial = shortfall(children, met=False)
    if not next_directive:
        return [ctx.terminate(f"{report}\n\n(The reviewer judged the directive not fully met.)", partial=partial)]
    if round_no >= ctx.limits.max_rounds:
        return [
            ctx.terminate(f"{report}\n\n(Not fully met after {round_no} rounds: {next_directive})", partial=partial)
        ]
    return [
        ctx.spawn(
            NodeRole.MANAGER,
            ids.MANAGER,
            next_directive,
            {"round": round_no + 1, "previous_report": report},
        )
    ]


async def run(ctx: ActionContext) -> list[Any]:
    """Standalone use: review this node's own children."""
    return await review(ctx, ctx.children())
