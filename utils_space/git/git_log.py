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
    lines = []
    for commit in repo.iter_commits(max_count=20):
        summary = commit.summary  # str | bytes (bytes: a message GitPython could not decode)
        text = summary if isinstance(summary, str) else summary.decode("utf-8", "replace")
        lines.append(f"{commit.hexsha[:10]} {text}")
    return "\n".join(lines)
