"""The workspace repository's recent commits."""

from __future__ import annotations

from pathlib import Path

from swarm_star.kit import LeafSpec, Workspace

SPEC = LeafSpec(
    name="git_log", description="Show the latest commits of the workspace repository.", needs=("workspace",)
)


def call(workspace: Path) -> str:
    repo = Workspace(workspace).repo
    if not repo.head.is_valid():
        return "(no commits yet)"
    return "\n".join(f"{c.hexsha[:10]} {c.summary}" for c in repo.iter_commits(max_count=20))
