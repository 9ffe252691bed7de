"""Run the workspace's tests (pytest, or the user's test command) and report pass/fail.

Only with ``allow_exec``: the command runs in the workspace, from an argument
list (no shell), with a timeout and an output cap. Without it nothing runs and
the report says so.
"""

from __future__ import annotations

import sys
from typing import Any

from swarm_star.kit import NOT_RUN, ActionContext, LeafSpec, Workspace, run_command

SPEC = LeafSpec(
    name="run_tests",
    description="Run the tests of the code in the swarm's workspace (pytest or the configured command) "
    "and report whether they pass.",
)


async def run(ctx: ActionContext) -> list[Any]:
    if not ctx.settings.allow_exec:
        return [ctx.terminate(f"tests not run: {NOT_RUN}")]
    workspace = Workspace(ctx.workspace)
    argv = ctx.settings.code.test_command or [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = await run_command(ctx, workspace, list(argv))
    if result.exit_code == 5 and not ctx.settings.code.test_command:
        return [ctx.terminate("no tests found in the workspace (pytest collected nothing)")]
    state = "passed" if result.passed else "FAILED"
    return [ctx.terminate(f"tests {state}:\n{result.summary(2000)}")]
