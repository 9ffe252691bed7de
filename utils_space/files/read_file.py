"""Read a text file from the workspace (refuses paths outside it)."""

from __future__ import annotations

from pathlib import Path

from swarm_star.kit import LeafSpec, Workspace

SPEC = LeafSpec(
    name="read_file",
    description="Read a file of the workspace.",
    input_schema={"path": "relative path"},
    needs=("workspace",),
)


def call(workspace: Path, path: str = "") -> str:
    return Workspace(workspace).resolve(path).read_text(encoding="utf-8")[:20_000]
