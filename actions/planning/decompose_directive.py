"""The manager: plan a directive into sub-directives, then review the results.

Phases follow from the node's children, so an interrupted activation resumes
in the right one: no children -> plan (or ask first); only question children
-> plan with their answers; work children -> review; a finished next round ->
report its outcome (together with this round's).

A plan lists parts; a part may name the parts it needs (``after``: their
1-based numbers) and the action that does it (``action``, from the action menu
the planner is shown: the part's router then spawns it without a model call).
Before it plans, the manager walks the memory router once (when its memory
exceeds the briefing's budget); its parts carry the pick, shared below them.
Parts without prerequisites run in parallel; the engine starts a dependent
part only when its prerequisites are done, and the part sees their reports.
A plan is checked before anything is spawned: junk parts (empty, punctuation
only, placeholders, error strings, template or schema debris, fragments of
the planner's own prompt) and duplicates are dropped.
``after`` is an ordering hint, so it never fails a directive (a small model
writes "part 1 needs part 2022"): a reference that does not resolve is
dropped, and a cycle is broken by the plan's order, each with a note in the
part's spawn frame (``context["plan_notes"]``). A plan with no parts makes the
directive its own part (nothing junk is passed on: the directive is the
user's or an accepted part). A plan with no usable part is asked for once
more with the reason; a second one fails the manager with that reason.
"""

from __future__ import annotations

import functools
import graphlib
import json
from dataclasses import dataclass, field
from typing import Any

from swarm_star.kit import (
    AFTER_KEY,
    MEMORY_PICK,
    PLANNED_ACTION,
    ActionContext,
    LeafSpec,
    ModelOutputError,
    NodeRole,
    Purpose,
    action_menu,
    brief,
    directive_junk,
    ids,
    memory_walk,
    menu_text,
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
PLAN_NOTES = "plan_notes"  # a part's spawn context: what the plan's check changed about it


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
        report = f"{before}\n\n{last.report.strip()}" if before else last.report.strip()
        return [ctx.terminate(report, partial=last.partial)]
    error = last.error or f"it reported nothing usable ({report_junk(last.report)})"
    if before:
        return [ctx.terminate(f"{before}\n\n(A follow-up round failed: {error})", partial="a follow-up round failed")]
    return [ctx.fail(f"next round failed: {error}")]


async def plan(ctx: ActionContext, asked: list[Any]) -> list[Any]:
    answers = "\n".join(f"- {c.report}" for c in asked if c.report)
    pick = await memory_walk(ctx)  # one walk for this plan; its parts and everything below reuse it
    briefing = await brief(ctx, pick=pick)
    previous = ctx.node.context
    earlier = prompts.planning.earlier_rounds(
        str(previous["previous_report"])[:EARLIER_CHARS] if previous.get("previous_report") else "",
        str(previous["previous_errors"])[:EARLIER_CHARS] if previous.get("previous_errors") else "",
    )
    menu = action_menu(ctx)  # each part may name its action: its router then needs no call
    schema = prompts.planning.plan_schema(tuple(menu))
    messages = prompts.planning.plan_messages(
        ctx.node.directive, briefing, earlier, answers, max_parts=MAX_SUBDIRECTIVES, menu=menu_text(menu, short=True)
    )
    rejected = ""
    for attempt in (1, 2):
        purpose = Purpose.PLAN if attempt == 1 else Purpose.PLAN_AGAIN
        try:
            decision = await ctx.ask_model(messages, purpose=purpose, role="planner", schema=schema)
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
            parts = validate_plan(ctx, decision.subdirectives, prompt_text(messages))
        except PlanRejected as exc:
            rejected = str(exc)
            messages = prompts.planning.replan_messages(messages, rejected)
            continue
        spawns = []
        for part in parts:
            context: dict[str, Any] = {"round": ctx.node.context.get("round", 1), MEMORY_PICK: pick}
            if part.notes:
                context[PLAN_NOTES] = part.notes
            if part.action in menu:
                context[PLANNED_ACTION] = part.action
            spawns.append(ctx.spawn(NodeRole.ROUTER, ids.ROUTER, part.task, context))
        for spawn, part in zip(spawns, parts, strict=True):
            if part.needs:
                spawn.context[AFTER_KEY] = [spawns[i].node_id for i in part.needs]
        return spawns
    return [ctx.fail(f"no usable plan after asking twice: {rejected}")]


@dataclass
class PlannedPart:
    """A part that will be spawned: its task, the indices of the parts it waits for, and
    what the check changed about it (kept in its spawn frame)."""

    task: str
    needs: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    action: str = ""


def prompt_text(messages: list[dict[str, str]]) -> str:
    """The planner's own words: its system prompt and the reply schema with its descriptions
    (a small model copies them into a plan; such a "part" is junk). Not the action menu: a part
    may well say what an action does ("run the tests")."""
    system = " ".join(
        m["content"].split(prompts.planning.ACTIONS_HEADER)[0] for m in messages if m.get("role") == "system"
    )
    return f"{system} {_plan_schema()}"


@functools.cache
def _plan_schema() -> str:
    """The Plan schema as text, made once: pydantic builds it anew on every call (2 ms, a tenth
    of a plan's CPU on the engine bench)."""
    return json.dumps(prompts.planning.Plan.model_json_schema())


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


def validate_plan(ctx: ActionContext, proposed: list[prompts.planning.Part | str], prompt: str) -> list[PlannedPart]:
    """The parts to spawn, or PlanRejected when none is usable.

    Junk and duplicate parts are dropped. ``after`` is a hint: references that do not
    resolve, and those that close a cycle against the plan's order, are dropped, each
    with a note on the part. No parts at all: the directive is its own one part.
    """
    if not proposed:
        return [PlannedPart(ctx.node.directive, notes=["the plan had no parts: the directive is its own part"])]
    items = [p if isinstance(p, prompts.planning.Part) else prompts.planning.Part(task=p) for p in proposed]
    own = normalize_directive(ctx.node.directive)
    seen = {normalize_directive(a.directive) for a in ctx.ancestors()} - {own}
    kept: dict[int, PlannedPart] = {}  # 1-based number in the proposal -> part
    dropped: dict[int, str] = {}
    for number, item in enumerate(items, 1):
        task = item.task.strip()
        key = normalize_directive(task)
        # the directive itself (a one-part plan) is the user's or an accepted part: never junk here
        reason = None if key == own else directive_junk(task, prompt=prompt if key not in own else "")
        if reason is None and key in seen:
            reason = "repeats another part or an enclosing directive"
        if reason is None and key == own and len(items) > 1:
            reason = "the whole directive is not one of its own parts"
        if reason is not None:
            dropped[number] = f"part {number} {task[:40]!r}: {reason}"
            continue
        seen.add(key)
        kept[number] = PlannedPart(task, action=item.action)
        if len(kept) == MAX_SUBDIRECTIVES:
            break
    if not kept:
        detail = "; ".join(dropped.values()) if dropped else "the plan had no parts"
        raise PlanRejected(f"no usable sub-directive ({detail})")
    graph: dict[int, list[int]] = {}
    for number, part in kept.items():
        graph[number] = []
        for given in items[number - 1].after:
            ref = _part_number(given, items)
            why = None
            if ref is None:
                why = "not a part of this plan"
            elif ref == number:
                why = "a part cannot wait for itself"
            elif not 1 <= ref <= len(items):
                why = f"part {ref} does not exist (parts 1-{len(items)})"
            elif ref not in kept:
                why = f"that part was left out ({dropped[ref]})" if ref in dropped else "that part was left out"
            if why is not None:
                part.notes.append(f"dropped 'after' {given!r}: {why}")
            elif ref is not None and ref not in graph[number]:
                graph[number].append(ref)
    _break_cycles(graph, kept)
    numbers = list(kept)
    for number, part in kept.items():
        part.needs = sorted(numbers.index(r) for r in graph[number])
    return list(kept.values())


def _break_cycles(graph: dict[int, list[int]], kept: dict[int, PlannedPart]) -> None:
    """Drop, one cycle at a time, the reference that goes against the plan's order (a part
    waiting for a later one; every cycle has one), the earliest such part first."""
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
            return
        except graphlib.CycleError as exc:
            cycle = set(exc.args[1])
        part, later = min((n, r) for n in cycle for r in graph[n] if r in cycle and r > n)
        path = _path(graph, later, part, cycle)
        graph[part].remove(later)
        loop = " -> ".join(str(n) for n in [part, *path])
        kept[part].notes.append(f"dropped 'after' {later}: a cycle ({loop}); the plan's order is kept")


def _path(graph: dict[int, list[int]], start: int, end: int, within: set[int]) -> list[int]:
    """A path of references from ``start`` to ``end`` inside a cycle (for the note)."""
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        if path[-1] == end:
            return path
        paths += [[*path, n] for n in graph[path[-1]] if n in within and n not in path]
    return [start, end]
