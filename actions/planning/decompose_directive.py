"""The manager: plan a directive into sub-directives, then review the results.

Phases follow from the node's children, so an interrupted activation resumes
in the right one: no children -> plan (or ask first); only question children
-> plan with their answers; work children -> review; a finished next round ->
report its outcome (together with this round's).

A plan lists parts; a part may name the parts it needs (``after``: their
1-based numbers). Parts without prerequisites run in parallel; the engine
starts a dependent part only when its prerequisites are done, and the part
sees their reports. A plan is checked before anything is spawned: junk parts
(empty, punctuation only, placeholders, error strings) and duplicates are
dropped; a reference to a part that does not exist, or a cycle, rejects the
plan. A rejected or empty plan is asked for once more with the reason; a
second bad plan fails the manager with that reason, except a second plan
with no parts at all, which means the directive is one part (nothing junk is
passed on: the directive is the user's or an accepted part).
"""

from __future__ import annotations

import graphlib
from typing import Any

from swarm_star.kit import (
    AFTER_KEY,
    ActionContext,
    LeafSpec,
    ModelOutputError,
    NodeRole,
    Purpose,
    brief,
    directive_junk,
    ids,
    normalize_directive,
    prompts,
    report_junk,
)

SPEC = LeafSpec(
    name="decompose_directive",
    description="Manager: splits a directive into sub-directives (parallel, or ordered where one needs another).",
    routable=False,
)
MAX_SUBDIRECTIVES = 8
EARLIER_CHARS = 3000


class PlanRejected(Exception):
    """A plan that cannot be run; the message says why (shown to the planner and the user)."""


async def run(ctx: ActionContext) -> list[Any]:
    children = ctx.children()
    work = [c for c in children if c.action_id != ids.ASK_USER]
    if work and work[-1].action_id == ids.MANAGER:  # the next round finished: its outcome is ours
        return next_round_outcome(ctx, work[-1])
    if work:
        review = ctx.actions.module(ids.REVIEW)
        return await review.review(ctx, work)
    return await plan(ctx, [c for c in children if c.action_id == ids.ASK_USER])


def next_round_outcome(ctx: ActionContext, last: Any) -> list[Any]:
    """This round's report joined with the next round's, or what is left when it failed."""
    before = str(last.context.get("previous_report") or "").strip()
    if last.report is not None and not report_junk(last.report):
        return [ctx.terminate(f"{before}\n\n{last.report.strip()}" if before else last.report.strip())]
    error = last.error or f"it reported nothing usable ({report_junk(last.report)})"
    if before:
        return [ctx.terminate(f"{before}\n\n(A follow-up round failed: {error})")]
    return [ctx.fail(f"next round failed: {error}")]


async def plan(ctx: ActionContext, asked: list[Any]) -> list[Any]:
    answers = "\n".join(f"- {c.report}" for c in asked if c.report)
    briefing = await brief(ctx)
    previous = ctx.node.context
    earlier = prompts.planning.earlier_rounds(
        str(previous["previous_report"])[:EARLIER_CHARS] if previous.get("previous_report") else "",
        str(previous["previous_errors"])[:EARLIER_CHARS] if previous.get("previous_errors") else "",
    )
    messages = prompts.planning.plan_messages(
        ctx.node.directive, briefing, earlier, answers, max_parts=MAX_SUBDIRECTIVES
    )
    rejected = ""
    for attempt in (1, 2):
        purpose = Purpose.PLAN if attempt == 1 else Purpose.PLAN_AGAIN
        try:
            decision = await ctx.ask_model(messages, purpose=purpose, role="planner", schema=prompts.planning.Plan)
        except ModelOutputError as exc:  # unreadable: rejected like any bad plan, asked once more
            if str(exc).startswith("model refused"):
                raise  # a refusal is an answer: asking again would only pay for it twice
            decision, unreadable = None, exc
        try:
            if decision is None:
                raise PlanRejected(str(unreadable))
            if decision.needs_context and decision.question.strip() and not asked:
                question = decision.question.strip()
                return [ctx.spawn(NodeRole.ACTION, ids.ASK_USER, question, {"question": question})]
            proposed = decision.subdirectives
            if attempt == 2 and not proposed:
                proposed = [ctx.node.directive]  # no parts twice: the directive is its own one part
            parts = validate_plan(ctx, proposed)
        except PlanRejected as exc:
            rejected = str(exc)
            messages = prompts.planning.replan_messages(messages, rejected)
            continue
        spawns = [
            ctx.spawn(NodeRole.ROUTER, ids.ROUTER, task, {"round": ctx.node.context.get("round", 1)})
            for task, _ in parts
        ]
        for spawn, (_, needs) in zip(spawns, parts, strict=True):
            if needs:
                spawn.context[AFTER_KEY] = [spawns[i].node_id for i in needs]
        return spawns
    return [ctx.fail(f"no usable plan after asking twice: {rejected}")]


def _part_number(ref: int | str, items: list[prompts.planning.Part]) -> int | None:
    """A reference as a part number: an int, digits ("2", "part 2"), or a part's own text."""
    if isinstance(ref, int):
        return ref
    text = ref.strip()
    digits = text.lower().removeprefix("part").strip().lstrip("#")
    if digits.isdigit():
        return int(digits)
    key = normalize_directive(text)
    return next((i for i, item in enumerate(items, 1) if normalize_directive(item.task) == key), None)


def validate_plan(ctx: ActionContext, proposed: list[prompts.planning.Part | str]) -> list[tuple[str, list[int]]]:
    """Usable parts as ``(task, indices of prerequisites)``, or PlanRejected saying why.

    Junk and duplicate parts are dropped (a dependency on a dropped part is
    dropped with it); an unknown reference or a cycle rejects the whole plan.
    """
    items = [p if isinstance(p, prompts.planning.Part) else prompts.planning.Part(task=p) for p in proposed]
    own = normalize_directive(ctx.node.directive)
    seen = {normalize_directive(a.directive) for a in ctx.ancestors()} - {own}
    kept: dict[int, str] = {}  # 1-based number in the proposal -> task
    dropped: list[str] = []
    for number, item in enumerate(items, 1):
        task = item.task.strip()
        key = normalize_directive(task)
        reason = directive_junk(task)
        if reason is None and key in seen:
            reason = "repeats another part or an enclosing directive"
        if reason is None and key == own and len(items) > 1:
            reason = "the whole directive is not one of its own parts"
        if reason is not None:
            dropped.append(f"part {number} {task[:40]!r}: {reason}")
            continue
        seen.add(key)
        kept[number] = task
        if len(kept) == MAX_SUBDIRECTIVES:
            break
    if not kept:
        detail = "; ".join(dropped) if dropped else "the plan had no parts"
        raise PlanRejected(f"no usable sub-directive ({detail})")
    graph: dict[int, set[int]] = {}
    for number in kept:
        needs: set[int] = set()
        for given in items[number - 1].after:
            ref = _part_number(given, items)
            if ref is None:
                raise PlanRejected(f"part {number} needs {given!r}, which is not a part of this plan")
            if ref == number:
                raise PlanRejected(f"part {number} lists itself in 'after'")
            if not 1 <= ref <= len(items):
                raise PlanRejected(f"part {number} needs part {ref}, which does not exist (parts 1-{len(items)})")
            if ref in kept:
                needs.add(ref)
        graph[number] = needs
    try:
        graphlib.TopologicalSorter(graph).prepare()  # raises on a cycle, naming it
    except graphlib.CycleError as exc:
        cycle = " -> ".join(str(n) for n in exc.args[1])
        raise PlanRejected(f"the parts depend on each other in a cycle ({cycle})") from exc
    numbers = list(kept)
    return [(kept[n], sorted(numbers.index(r) for r in graph[n])) for n in numbers]
