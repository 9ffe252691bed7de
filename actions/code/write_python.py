"""Write a Python file into the swarm's git workspace, one commit per change.

Paths outside the workspace are refused. The file is executed only if the
user opted in (``allow_exec``); otherwise the report says it was not run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swarm_star.engine.context import ActionContext
from swarm_star.errors import WorkspaceError
from swarm_star.spaces import LeafSpec
from swarm_star.workspace import Workspace

SPEC = LeafSpec(
    name="write_python",
    description="Write or change a Python source file (a script, module or test) in the swarm's workspace.",
    input_schema={"path": "relative path inside the workspace", "code": "file content"},
)


class PythonFile(BaseModel):
    """One file to write."""

    path: str = Field(description="relative path inside the workspace, e.g. 'tools/parse.py'")
    code: str
    commit_message: str = Field(description="one line saying what the change does")


async def run(ctx: ActionContext) -> list[Any]:
    spec = await ctx.ask_model(
        [
            {
                "role": "system",
                "content": "Write the Python file the task needs. Paths are relative to the workspace root.",
            },
            {"role": "user", "content": ctx.node.directive},
        ],
        purpose="write code",
        schema=PythonFile,
    )
    workspace = Workspace(ctx.workspace)
    try:
        sha = workspace.write(spec.path, spec.code, spec.commit_message)
    except WorkspaceError as exc:
        return [ctx.fail(str(exc))]
    done = f"wrote {spec.path} ({len(spec.code.splitlines())} lines)"
    done += f", commit {sha[:10]}: {spec.commit_message}" if sha else " (unchanged, no new commit)"
    if ctx.settings.allow_exec:
        try:
            done += "\n\nran it:\n" + workspace.run_python(spec.path, allowed=True)
        except (WorkspaceError, OSError) as exc:
            done += f"\n\ncould not run it: {exc}"
    else:
        done += "\nnot executed (execution is off unless the user opts in)"
    return [ctx.terminate(done)]
