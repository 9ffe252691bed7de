"""The root node: remember the directive and context, hand it to a manager, report.

A swarm created with an orchestration pattern (``--pattern``, ``Swarm.create(pattern=…)``)
hands the directive to the pattern's node (``patterns/run``) instead of a planning manager.

Each context file is its own memory entry. With more context files than a
menu shows, the root first spawns ``memory/organize_context`` (one model call
that sorts them into topic folders of the memory space) and the manager only
once it is done, whatever its outcome: an unusable grouping leaves the files
grouped by folder, it does not stop the swarm. The root finishes only with a real
report: the manager's consolidated report, written out as a document (outcome,
then the parts, then what was written where). A manager that ends with nothing
usable fails the swarm instead of "finishing" empty.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import (
    FILE_TITLE,
    ActionContext,
    LeafSpec,
    NodeRole,
    compose_final_report,
    ids,
    organizable,
    report_junk,
)

SPEC = LeafSpec(
    name="root",
    description="Start of every swarm: stores the directive and context, spawns the first manager.",
    routable=False,
)


async def run(ctx: ActionContext) -> list[Any]:
    children = ctx.children()
    if not children:
        files = ctx.node.context.get("files", {})
        ops: list[Any] = [ctx.save_memory("context", "Directive", ctx.node.directive)]
        for name, content in sorted(files.items()):
            ops.append(ctx.save_memory("context", f"{FILE_TITLE}{name}", content))
        if organizable(len(files)):
            ops.append(ctx.spawn(NodeRole.ACTION, ids.ORGANIZE, f"Sort the {len(files)} context files into topics"))
        else:
            ops.append(_lead(ctx))
        return ops
    last = children[-1]
    if last.action_id == ids.ORGANIZE:  # its report (or error) says how memory is grouped
        return [_lead(ctx)]
    if last.report is None:
        return [ctx.fail(f"{'pattern' if last.action_id == ids.PATTERN else 'manager'} failed: {last.error}")]
    junk = report_junk(last.report)
    if junk is not None:
        return [ctx.fail(f"manager reported nothing usable ({junk})")]
    memory = {e.entry_id: e for e in ctx.memory()}
    report = compose_final_report(ctx.nodes, last.id, last.report, memory, ctx.workspace)
    return [ctx.terminate(report, partial=last.partial)]


def _lead(ctx: ActionContext) -> Any:
    """The node that does the directive: the pattern's, or a planning manager."""
    pattern = ctx.node.context.get("pattern")
    if pattern:
        return ctx.spawn(NodeRole.MANAGER, ids.PATTERN, ctx.node.directive, {"pattern": pattern})
    return ctx.spawn(NodeRole.MANAGER, ids.MANAGER, ctx.node.directive, {"round": 1})
