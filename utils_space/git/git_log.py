"""The workspace repository's recent commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swarm_star.spaces import LeafSpec
from swarm_star.workspace import Workspace

SPEC = LeafSpec(
    name="git_log", description="Show the latest commits of the workspace repository.", needs=("workspace",)
)


def call(workspace: Path) -> str:
    repo = Workspace(workspace).repo
    if not repo.head.is_valid():
        return "(no commits yet)"
    return "\n".join(f"{c.hexsha[:10]} {_summary(c)}" for c in repo.iter_commits(max_count=20))


def _summary(commit: Any) -> str:
    """GitPython types a summary ``str | bytes``: bytes when it cannot decode the message."""
    summary = commit.summary
    return summary.decode("utf-8", "replace") if isinstance(summary, bytes) else str(summary)
