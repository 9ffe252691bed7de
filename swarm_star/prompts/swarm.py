"""The swarm primitives' prompts: fan-out synthesis, the hostfile patterns, batch splitting.

The templates with ``{placeholders}`` are filled with ``str.format`` by
``primitives/fanout.py`` and ``primitives/patterns.py``; a caller may pass its
own template with the same placeholders instead.
"""

from __future__ import annotations

from pydantic import Field

from swarm_star.prompts.labels import TASK
from swarm_star.prompts.structured import Reply

__all__ = [
    "BOARD_PROMPT",
    "FANOUT_SYSTEM",
    "MAX_PROMPTS",
    "REDUCE_PROMPT",
    "SPLIT_SYSTEM",
    "SYNTHESIS_PROMPT",
    "TREE_PROMPT",
    "ScatterPlan",
    "split_messages",
]

FANOUT_SYSTEM = "Do the task. Reply with the result only."
"""The system prompt of every candidate of ``swarm/fanout_synthesis``."""
SYNTHESIS_PROMPT = (
    TASK + "{prompt}\n\nIndependent attempts at this task follow. Write the single best final "
    "answer: keep what is correct, fix what is wrong, resolve disagreements, and do not "
    "mention the attempts.\n\n{candidates}"
)
REDUCE_PROMPT = (
    TASK + "{prompt}\n\nHere are {count} answers from different agents. Combine them into one "
    "answer that keeps what is correct and useful in each and resolves disagreements.\n\n{answers}"
)
TREE_PROMPT = (
    TASK + "{prompt}\n\nSummarize these {count} partial answers into one answer to the task, "
    "keeping every distinct fact or point.\n\n{answers}"
)
BOARD_PROMPT = (
    TASK + "{task}\n\nShared board (round {round}):\n{board}\n\nRewrite the section "
    "'{section}' to move the task forward, consistent with the other sections. Reply with "
    "the new text of that section only."
)
SPLIT_SYSTEM = "Split the batch task into one self-contained prompt per item. Each prompt must make sense on its own."
MAX_PROMPTS = 1000


class ScatterPlan(Reply):
    """One self-contained prompt per item of the batch."""

    prompts: list[str] = Field(description="one complete, self-contained prompt per item", max_length=MAX_PROMPTS)


def split_messages(directive: str) -> list[dict[str, str]]:
    """Split a batch directive into one prompt per item (``swarm/hostfile_scatter``)."""
    return [
        {"role": "system", "content": SPLIT_SYSTEM},
        {"role": "user", "content": f"{TASK}{directive}"},
    ]
