"""List the files of the workspace."""

from __future__ import annotations

from pathlib import Path

from swarm_star.kit import LeafSpec

SPEC = LeafSpec(name="list_files", description="List all files in the workspace.", needs=("workspace",))


def call(workspace: Path) -> str:
    if not workspace.is_dir():
        return "(empty workspace)"
    files = sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*") if p.is_file() and ".git" not in p.parts)
    return "\n".join(files) or "(empty workspace)"
