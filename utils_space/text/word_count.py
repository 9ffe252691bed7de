"""Count words, lines and characters of a text."""

from __future__ import annotations

from pathlib import Path

from swarm_star.kit import LeafSpec

SPEC = LeafSpec(
    name="word_count",
    description="Count words, lines and characters of a text.",
    input_schema={"text": "the text"},
)


def call(workspace: Path, text: str = "") -> str:
    return f"{len(text.split())} words, {len(text.splitlines())} lines, {len(text)} characters"
