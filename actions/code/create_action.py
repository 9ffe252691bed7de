"""Grow this swarm's action space: write a new action module, validate it, make it routable here.

Only with ``allow_exec`` and the user's opt-in (``code.create_actions``): the leaf
declares both as needs, so routers do not offer it without them, and run anyway
it refuses (never fails: a refusal sends its router elsewhere). The
module goes into the swarm's own folder in its swarm space, never into the
installed tree; it is checked (parses, ``SPEC``, ``async def run``, loads in the
sandbox) before the ``action_created`` frame makes it routable — for this swarm
only. It runs out of process, in the sandbox, whenever it is used.
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import ActionContext, ActionCreated, LeafSpec, Purpose, SpaceError, install_action, prompts

SPEC = LeafSpec(
    name="create_action",
    description="Create a new reusable action for this swarm (a Python module, possibly using the util "
    "space) when no existing action fits a recurring kind of task.",
    needs=("allow_exec", "create_actions"),
)


async def run(ctx: ActionContext) -> list[Any]:
    allowed = ctx.settings.allow_exec and ctx.settings.code.create_actions
    if not allowed:  # the engine refuses first for unmet needs; kept for a direct call
        return [ctx.refuse("creating actions is off (opt in with --allow-exec and --create-actions)")]
    utils = "\n".join(f"- {leaf.id}: {leaf.description} args {leaf.input_schema}" for leaf in ctx.utils.leaves())
    proposal = await ctx.ask_model(
        prompts.code.create_action_messages(ctx.node.directive, utils),
        purpose=Purpose.CREATE_ACTION,
        role="worker",
        schema=prompts.code.NewAction,
    )
    try:
        created = await install_action(
            ctx.swarm_dir,
            proposal.name,
            proposal.code,
            allowed=allowed,
            sandbox=ctx.settings.code.sandbox,
            timeout=min(30.0, ctx.settings.code.timeout),
        )
    except SpaceError as exc:
        return [ctx.fail(str(exc))]
    path = created.path.relative_to(ctx.swarm_dir).as_posix()
    return [
        ActionCreated(node_id=ctx.node.id, action_id=created.action_id, path=path, sha256=created.sha256),
        ctx.terminate(
            f"created action {created.action_id} ({path}): {proposal.description}\n"
            f"```python\n{proposal.code.rstrip()}\n```"
        ),
    ]
