"""Write or edit a source file in the swarm's git workspace, one commit per change.

The model sees the workspace (files and their text, as committed when the
activation started, then with its own commits) and answers with a whole
file or search/replace edits. Paths are checked before anything is written.
With ``allow_exec`` the tests run and failures are fixed within a bound;
without it the report says the code was not run. By default the result is
checked by a verifier (repair once, then the next worker model).
"""

from __future__ import annotations

from typing import Any

from swarm_star.kit import (
    CODER_ROLE,
    ActionContext,
    CodeWork,
    LeafSpec,
    Workspace,
    checked,
    code_attempt,
    start_snapshot,
)

SPEC = LeafSpec(
    name="write_python",
    description="Write a new source file or change an existing one (script, module, test) in the swarm's "
    "workspace, and test it when execution is allowed.",
    input_schema={"path": "relative path inside the workspace", "code": "file content or edits"},
)


async def run(ctx: ActionContext) -> list[Any]:
    workspace = Workspace(ctx.workspace)
    at = await start_snapshot(ctx, workspace)  # what the model sees: never the live tree (a re-run sees the same)
    result = await checked(ctx, lambda model, notes: code_attempt(ctx, model, notes, at), role=CODER_ROLE)
    work = result.attempt.result or CodeWork()
    ops: list[Any] = list(result.verdicts)
    shown = None
    if work.changes and work.changes[-1].created and len(work.changes) == 1:
        shown = workspace.read_at(work.changes[-1].sha, work.changes[-1].path, limit=None)
    report = work.report(ctx.settings.allow_exec, show_code=shown)
    if result.attempt.error is not None or result.verified is False:
        why = result.attempt.error if result.verified is None else result.note()
        last = f" (last: {work.changes[-1].summary()})" if work.changes else ""
        return [*ops, ctx.fail(f"{why}{last}")]
    note = result.note()
    return [*ops, ctx.terminate(f"{report}\n{note}" if note else report)]
