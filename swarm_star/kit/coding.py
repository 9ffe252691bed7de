"""The coding loop shared by the ``code`` actions: see the workspace, change it, test, fix.

Why here and not in ``actions/code``: action modules are loaded by path, one
file each, so what several of them share lives in the library.

One *attempt* at a coding directive: the model sees the workspace (file list
and the text of the files that matter), answers with a :class:`PythonFile`
(a whole file, or search/replace edits to an existing one), the change is
committed, and — only with ``allow_exec`` — the tests run; while they fail, the
model gets the output tail and fixes the code, at most ``code.fix_rounds``
times. Command runs are journaled like model calls (``ActionContext.run_primitive``),
so a re-run after a crash sees the same results and asks the same questions;
they run in the sandbox (``swarm_star.sandbox``), never in this process.

What the model is shown is a :class:`Snapshot`, never the live working tree: the
commit the activation started from (journaled, so a re-run finds it again), then
the activation's own latest commit. After a kill the workspace already holds the
node's own commit; a prompt built from it would differ from the recorded one,
and the recorded call would be paid again.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from swarm_star.errors import ModelOutputError, WorkspaceError
from swarm_star.kit.verify import Attempt
from swarm_star.kit.workspace import Change, CommandResult, Workspace
from swarm_star.llm.client import parse_structured
from swarm_star.models import Usage
from swarm_star.prompts.code import Edit, PythonFile, change_messages, rejected_note, tests_fail_note
from swarm_star.prompts.purpose import Purpose
from swarm_star.sandbox import ExecLimits, run_sandboxed

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext

CODER_ROLE = "coder"
"""The model role code is written by (``--role-model coder=M``); with no models of its own, the worker's."""

__all__ = [
    "CODER_ROLE",
    "NOT_RUN",
    "CodeWork",
    "Edit",
    "PythonFile",
    "Snapshot",
    "apply_change",
    "check_command",
    "code_attempt",
    "run_command",
    "start_snapshot",
    "workspace_view",
]

NOT_RUN = "not executed (execution is off unless the user opts in with --allow-exec)"
VIEW_CHARS = 12_000
TEXT_SUFFIXES = (".py", ".md", ".txt", ".toml", ".cfg", ".ini", ".json", ".yaml", ".yml")


@dataclass
class CodeWork:
    """What one attempt did: its commits, the last test run (None: not run), fix rounds used."""

    changes: list[Change] = field(default_factory=list)
    test: CommandResult | None = None
    fixes: int = 0

    def report(self, allow_exec: bool, show_code: str | None = None) -> str:
        lines = [f"wrote {c.summary()}" for c in self.changes]
        if show_code is not None:
            lines.append(f"```python\n{show_code.rstrip()}\n```")
        elif self.changes and self.changes[-1].diff:
            lines.append(f"```diff\n{self.changes[-1].diff}\n```")
        if self.test is None:
            lines.append(NOT_RUN if not allow_exec else "no tests to run")
        else:
            state = "passed" if self.test.passed else "FAILED"
            fixed = f" after {self.fixes} fix round(s)" if self.fixes else ""
            lines.append(f"tests {state}{fixed}:\n{self.test.summary(1500)}")
        return "\n".join(lines)


@dataclass
class Snapshot:
    """The commit the model's view of the workspace is read from (None: before the first commit)."""

    sha: str | None

    def advance(self, change: Change) -> None:
        """Show the activation's own change from now on (a re-run finds the same commit)."""
        if change.sha is not None:
            self.sha = change.sha


async def start_snapshot(ctx: ActionContext, workspace: Workspace) -> Snapshot:
    """The workspace's HEAD when this activation first ran, journaled like a command run."""

    async def work() -> tuple[dict[str, Any], Usage]:
        return {"head": workspace.head()}, Usage()  # a cheap read under .git: no thread needed

    stored = await ctx.run_primitive("workspace start", "the commit this activation starts from", 0, work)
    return Snapshot(stored["head"])


def apply_change(workspace: Workspace, spec: PythonFile, change_id: str | None = None) -> Change:
    """Commit one :class:`PythonFile` (the path is checked before anything is written)."""
    if spec.edits:
        edits = [(e.old, e.new) for e in spec.edits]
        return workspace.edit(spec.path, edits, spec.commit_message, change_id=change_id)
    return workspace.write(spec.path, spec.code, spec.commit_message, change_id=change_id)


def workspace_view(workspace: Workspace, directive: str, at: Snapshot, limit: int = VIEW_CHARS) -> str:
    """The file list, then the text of the files most likely to matter (named ones first),
    as commit ``at`` has them."""
    files = workspace.files_at(at.sha)
    if not files:
        return "The workspace is empty."
    named = [f for f in files if f in directive or f.rsplit("/", 1)[-1] in directive]
    rest = [f for f in files if f not in named and f.endswith(TEXT_SUFFIXES)]
    parts = ["Files in the workspace:", *(f"- {f}" for f in files), ""]
    budget = limit
    for name in [*named, *rest]:
        try:
            text = workspace.read_at(at.sha, name, budget)
        except WorkspaceError:
            continue
        parts.append(f"--- {name}\n{text}")
        budget -= len(text)
        if budget <= 0:
            parts.append("(more files not shown)")
            break
    return "\n".join(parts)


def check_command(
    ctx: ActionContext, workspace: Workspace, changed: str | None, at: Snapshot | None = None
) -> list[str] | None:
    """The command that checks the workspace: the user's, else pytest if there are tests,
    else running the changed Python file; None if there is nothing to run. ``at``: decide
    from that commit's files (a re-run decides the same), else from the working tree."""
    if ctx.settings.code.test_command:
        return list(ctx.settings.code.test_command)
    files = workspace.files_at(at.sha) if at is not None else workspace.files()
    if any(f.rsplit("/", 1)[-1].startswith("test_") or f.endswith("_test.py") for f in files):
        return [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    if changed and changed.endswith(".py"):
        return [sys.executable, changed]
    return None


async def run_command(ctx: ActionContext, workspace: Workspace, argv: list[str]) -> CommandResult:
    """Run ``argv`` in the workspace (opt-in only), in the swarm's sandbox, journaled so a
    re-run replays the result. The result names the sandbox that ran it. Cancelling the
    activation (``--max-time``, Ctrl-C) kills the command's whole process tree at once; the
    journal then records the run as interrupted and a resume runs it again."""
    code = ctx.settings.code
    if not ctx.settings.allow_exec:
        raise WorkspaceError("executing swarm-written code is off (opt in with --allow-exec)")

    shown = [a if a != sys.executable else "python" for a in argv]

    async def work() -> tuple[dict[str, Any], Usage]:
        # asked here, only when the command is about to run: a recorded run (made under an
        # earlier run's --yes, or approved) replays on a resume without asking again
        ctx.check_exec(" ".join(shown))
        limits = ExecLimits(timeout=code.timeout, output_cap=code.output_cap)
        hidden = [ctx.swarm_dir.parent]  # the swarm space: stores, other swarms, own actions
        result = await run_sandboxed(argv, sandbox=code.sandbox, workspace=workspace.root, limits=limits, hidden=hidden)
        fields = {"exit_code": result.exit_code, "output": result.output, "timed_out": result.timed_out}
        return {**fields, "sandbox": result.sandbox}, Usage()

    stored = await ctx.run_primitive(Purpose.RUN_TESTS, " ".join(shown), 0, work)
    return CommandResult(shown, stored["exit_code"], stored["output"], bool(stored["timed_out"]), stored.get("sandbox"))


async def _ask_change(
    ctx: ActionContext, workspace: Workspace, at: Snapshot, model: str | None, extra: str, purpose: Purpose
) -> tuple[PythonFile, str]:
    """The model's change, and an id for it that a re-run after a crash computes again
    (the node and the recorded call's key), so the workspace can find its commit."""
    call = await ctx.call_model(
        change_messages(ctx.node.directive, workspace_view(workspace, ctx.node.directive, at), extra),
        purpose=purpose,
        role=CODER_ROLE,
        schema=PythonFile,
        model=model,
    )
    return parse_structured(call.response, PythonFile), f"{ctx.node.id}@{call.call_key}"


async def code_attempt(
    ctx: ActionContext, model: str | None, notes: list[str], at: Snapshot | None = None
) -> Attempt[CodeWork]:
    """One attempt: change, then (opt-in) test and fix up to ``code.fix_rounds`` times.
    ``at``: what the model is shown, shared by the attempts of one activation (default:
    where this activation started, see :func:`start_snapshot`)."""
    workspace = Workspace(ctx.workspace)
    if at is None:
        at = await start_snapshot(ctx, workspace)
    work = CodeWork()
    extra = ""
    if notes:
        extra = rejected_note(notes)
    try:
        purpose = Purpose.WRITE_CODE if not notes else Purpose.REPAIR_CODE
        spec, change_id = await _ask_change(ctx, workspace, at, model, extra, purpose)
        work.changes.append(apply_change(workspace, spec, change_id))
        at.advance(work.changes[-1])
        argv = check_command(ctx, workspace, spec.path, at) if ctx.settings.allow_exec else None
        if argv is not None:
            work.test = await run_command(ctx, workspace, argv)
            while not work.test.passed and work.fixes < ctx.settings.code.fix_rounds:
                work.fixes += 1
                tail = work.test.summary(ctx.settings.code.output_cap)
                fix, change_id = await _ask_change(
                    ctx, workspace, at, model, extra + tests_fail_note(tail), Purpose.FIX_CODE
                )
                work.changes.append(apply_change(workspace, fix, change_id))
                at.advance(work.changes[-1])
                work.test = await run_command(ctx, workspace, check_command(ctx, workspace, fix.path, at) or argv)
    except (WorkspaceError, ModelOutputError) as exc:
        return Attempt(work, error=str(exc))
    text = _judged(ctx, workspace, work, at)
    if work.test is not None and not work.test.passed:
        last = next((line for line in reversed(work.test.output.splitlines()) if line.strip()), "")
        failed = "timed out" if work.test.timed_out else f"exit {work.test.exit_code}"
        return Attempt(work, text, f"tests still fail after {work.fixes} fix round(s) ({failed}): {last[:200]}")
    return Attempt(work, text)


def _judged(ctx: ActionContext, workspace: Workspace, work: CodeWork, at: Snapshot) -> str:
    """What the verifier reads: the changed files as commit ``at`` has them (a re-run reads
    the same), and the test outcome."""
    seen: list[str] = []
    for change in work.changes:
        if change.path not in seen:
            seen.append(change.path)
    parts = []
    for path in seen:
        try:
            text = workspace.read_at(at.sha, path, limit=None)
        except WorkspaceError:
            text = "(missing)"
        parts.append(f"--- {path}\n{text}")
    parts.append(work.report(ctx.settings.allow_exec).split("\n")[-1] if work.test is None else work.test.summary())
    return "\n".join(parts)
