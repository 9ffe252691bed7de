"""The orchestration patterns' words (geepers' five): what each tier, step, branch and round is told.

Each pattern node spawns workers (``core/answer``, or ``tools/web/search`` for
Dream Swarm) whose directive is built here; the pattern node itself asks a
model only to judge a condition (Conditional) or a draft (Iterative, through
:mod:`swarm_star.prompts.verify`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from swarm_star.prompts.labels import TASK
from swarm_star.prompts.structured import Reply

__all__ = [
    "NO_SEARCH_NOTE",
    "ConditionVerdict",
    "analyst",
    "branch",
    "condition_messages",
    "domain_no_search",
    "domain_search",
    "refine",
    "researcher",
    "sequential_step",
    "synthesizer",
]

NO_SEARCH_NOTE = (
    "Note: no web search is configured (add a search MCP server, e.g. one named 'search', with "
    "--mcp); each domain was covered from the model's own knowledge, not searched."
)


def _numbered(texts: Sequence[str]) -> str:
    return "\n\n".join(f"[{i + 1}] {t.strip()}" for i, t in enumerate(texts))


def researcher(task: str, index: int, count: int) -> str:
    return f"Research one angle ({index} of {count}) of this task and report your findings only: {task}"


def analyst(task: str, findings: Sequence[str]) -> str:
    return f"Analyze these research findings for the task '{task}': what holds, what conflicts, what matters.\n\n" + (
        _numbered(findings)
    )


def synthesizer(task: str, inputs: Sequence[str]) -> str:
    return f"Write the final answer to the task '{task}' from these inputs.\n\n" + _numbered(inputs)


def domain_search(task: str, domain: str) -> str:
    return f"Search the web about: {task} (focus: {domain}) and report what the sources say, with their URLs"


def domain_no_search(task: str, domain: str) -> str:
    return f"Cover the {domain} side of this task from what you know, saying what you are unsure of: {task}"


def sequential_step(task: str, step: str, previous: Sequence[str]) -> str:
    before = f"\n\nThe previous steps produced:\n\n{_numbered(previous)}" if previous else ""
    return f"{step}\n\n(This is one step of the task: {task}){before}"


def branch(task: str, instruction: str) -> str:
    return f"{instruction}\n\n(The task: {task})"


def refine(task: str, draft: str, notes: Sequence[str], criteria: str | None) -> str:
    aim = f"\nIt must meet: {criteria}" if criteria else ""
    told = "\nA reviewer said:\n" + "\n".join(f"- {n}" for n in notes) if notes else ""
    return f"Improve this draft of the task '{task}'.{aim}{told}\n\nDraft:\n{draft.strip()}"


class ConditionVerdict(Reply):
    """Whether the condition holds for the task."""

    holds: bool = Field(description="true if the condition holds")
    reason: str = Field(default="", description="one sentence why")


def condition_messages(task: str, condition: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Judge whether the condition holds. Answer in the requested JSON."},
        {"role": "user", "content": f"{TASK}{task}\n\nCondition: {condition}"},
    ]
