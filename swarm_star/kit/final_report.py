"""The root's final report: a document a person can read, built from the tree.

Layout (Markdown that renders as it reads: each part a paragraph headed by its
number, its report a block of its own with its line breaks and code fences kept,
a nested plan's parts numbered inside their part); the outcome comes first, so
the first paragraph is the answer::

    <the top manager's consolidated report>

    ## Parts

    **1. <sub-directive>** -- done by core/answer

    <its report, shortened at a line end; a code fence cut open is closed>

    Written: workspace:pkg/a.py@1a2b3c4d5e

    **2. <sub-directive>** -- done by planning/delegate

    **2.1 <a part of the nested plan>** -- done by core/answer

    **3. <sub-directive>** -- FAILED: <error>

    ## Asked the user

    - <question> -- <answer>

    ## Written to the workspace

    `<path>`

    - 1a2b3c4d5e Add parser (pkg/a.py)

The parts are the routers under the top manager and under its follow-up
rounds (or an orchestration pattern's subtasks), in tree order; what each wrote comes from the results saved in
memory (``Terminate.artifacts``) and from the commits of the workspace repo.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from pathlib import Path

from swarm_star.models import NodeRole, NodeStatus, SaveMemory, SwarmNode

__all__ = ["compose_final_report", "parts_of", "workspace_commits"]

PART_REPORT_CHARS = 600
MAX_COMMITS = 30


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def parts_of(nodes: Mapping[str, SwarmNode], manager_id: str) -> list[tuple[int, SwarmNode]]:
    """``(round, router)`` for every part the manager and its follow-up rounds planned."""
    out: list[tuple[int, SwarmNode]] = []
    manager = nodes[manager_id]
    round_no = int(manager.context.get("round", 1))
    for child_id in manager.children:
        child = nodes[child_id]
        if child.role == NodeRole.ROUTER or "wave" in child.context:  # a plan's part, or a pattern's subtask
            out.append((round_no, child))
        elif child.role == NodeRole.MANAGER:
            out.extend(parts_of(nodes, child.id))
    return out


def _nested_manager(nodes: Mapping[str, SwarmNode], router: SwarmNode) -> SwarmNode | None:
    """The manager a delegated part handed its directive to, if any."""
    for action_id in reversed(router.children):
        for child_id in nodes[action_id].children:
            if nodes[child_id].role == NodeRole.MANAGER:
                return nodes[child_id]
    return None


def excerpt(text: str, limit: int) -> str:
    """``text`` kept as written (line breaks, code fences), cut at a line end near ``limit``
    characters; a code fence the cut leaves open is closed, so what follows is not code."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if "\n" in cut[limit // 2 :]:
        cut = cut[: cut.rindex("\n")]
    cut = cut.rstrip() + " …"
    fences = [line.lstrip()[:3] for line in cut.splitlines() if line.lstrip()[:3] in ("```", "~~~")]
    return cut + (f"\n{fences[-1]}" if len(fences) % 2 else "")


class _Written:
    """What the results saved in memory wrote, found per part by a range search over the savers'
    sorted ids: one scan of memory per report, not one per part (that was quadratic in the tree:
    at ~10,000 nodes the root's report cost more CPU than a tenth of the run)."""

    def __init__(self, memory: Mapping[str, SaveMemory]) -> None:
        self._rows = sorted((e.node_id, i, e.artifacts) for i, e in enumerate(memory.values()) if e.artifacts)
        self._ids = [row[0] for row in self._rows]

    def under(self, node_id: str) -> list[str]:
        """The artifacts of the entries saved below ``node_id``, in the order they were saved, once each."""
        # the ids below "a.b" are those from "a.b." up to "a.b/" ('/' sorts right after '.')
        rows = self._rows[bisect_left(self._ids, node_id + ".") : bisect_left(self._ids, node_id + "/")]
        return list(dict.fromkeys(a for _, _, artifacts in sorted(rows, key=lambda r: r[1]) for a in artifacts))


def _part_lines(nodes: Mapping[str, SwarmNode], written_by: _Written, manager_id: str, prefix: str) -> list[str]:
    """Each part a paragraph headed by its number (``2.1`` inside part 2), its report a block
    of its own under it with a blank line around, so nothing runs together and a code fence
    stays a code block (no list indentation for a renderer to get wrong)."""
    lines: list[str] = []
    parts = parts_of(nodes, manager_id)
    rounds = {r for r, _ in parts}
    for number, (round_no, router) in enumerate(parts, 1):
        label = f" (round {round_no})" if len(rounds) > 1 else ""
        head = f"**{prefix}{number}{'.' if not prefix else ''} {_short(router.directive, 160)}**{label}"
        if router.status == NodeStatus.TERMINATED:
            lines += [f"{head} — done by {_doer(nodes, router)}", ""]
            report = excerpt(router.report or "", PART_REPORT_CHARS)
            lines += [report, ""] if report else []
        elif router.status == NodeStatus.FAILED:
            lines += [f"{head} — FAILED: {_short(router.error or '', 240)}", ""]
        else:
            lines += [f"{head} — {router.status.word}", ""]
        written = written_by.under(router.id)
        if written:
            lines += [f"Written: {', '.join(written)}", ""]
        nested = _nested_manager(nodes, router)
        if nested is not None and len(prefix) < 12:
            lines += _part_lines(nodes, written_by, nested.id, f"{prefix}{number}.")
    return lines


def _doer(nodes: Mapping[str, SwarmNode], router: SwarmNode) -> str:
    if router.role == NodeRole.ACTION:  # a pattern's subtask does its work itself
        return router.action_id.replace(".", "/")
    acting = [nodes[c] for c in router.children]
    return acting[-1].action_id.replace(".", "/") if acting else "no action"


def _text(value: str | bytes) -> str:
    """GitPython types a commit's summary ``str | bytes`` (bytes: a message it could not decode)."""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def workspace_commits(workspace: Path) -> list[str]:
    """``sha message (files)`` lines of the swarm's workspace repo, newest first."""
    if not (workspace / ".git").is_dir():
        return []
    import git  # only when there is a workspace: keeps the import off paths that never write

    from swarm_star.errors import WorkspaceError
    from swarm_star.sandbox.safe_git import safe_repo

    try:
        repo = safe_repo(workspace)  # no hook or configured program runs (sandbox/safe_git.py)
        lines = []
        for commit in list(repo.iter_commits(max_count=MAX_COMMITS)):
            files = ", ".join(sorted(str(f) for f in commit.stats.files))
            lines.append(f"{commit.hexsha[:10]} {_text(commit.summary)} ({files})")
        return lines
    except (git.GitError, ValueError, WorkspaceError):  # unreadable, or a config that could run a program
        return []


def compose_final_report(
    nodes: Mapping[str, SwarmNode],
    manager_id: str,
    outcome: str,
    memory: Mapping[str, SaveMemory],
    workspace: Path | None = None,
) -> str:
    """The readable document the root reports."""
    lines = [outcome.strip(), ""]
    parts = _part_lines(nodes, _Written(memory), manager_id, "")
    if parts:
        lines += ["## Parts", "", *parts]
    asked = [(q.text, q.answer) for n in nodes.values() for q in n.questions if q.answer is not None]
    if asked:
        lines += ["## Asked the user", "", *(f"- {_short(q, 200)} — {_short(a or '', 300)}" for q, a in asked), ""]
    commits = workspace_commits(workspace) if workspace is not None else []
    if commits:  # the path on its own line: a long path in a heading wraps badly
        lines += ["## Written to the workspace", "", f"`{workspace}`", "", *(f"- {c}" for c in commits), ""]
    return "\n".join(lines).rstrip() + "\n"
