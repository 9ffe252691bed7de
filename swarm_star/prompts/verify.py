"""The verifier's prompt: does a result do what the directive asks (``kit/verify.py``)?"""

from __future__ import annotations

from pydantic import Field

from swarm_star.prompts.labels import TASK
from swarm_star.prompts.structured import Reply

__all__ = ["VERIFIER_SYSTEM", "ResultVerdict", "judge_messages"]

VERIFIER_SYSTEM = (
    "You check another worker's result. Judge strictly against the task: is it "
    "correct and complete? Give concrete reasons for anything wrong or missing."
)


class ResultVerdict(Reply):
    """What the verifier model answers."""

    ok: bool = Field(description="true only if the result fully does what the directive asks")
    reasons: list[str] = Field(default_factory=list, description="what is wrong or missing; empty if ok")


def judge_messages(directive: str, result: str) -> list[dict[str, str]]:
    """The verifier's request: the task, then the result to judge (already cut to size)."""
    return [
        {"role": "system", "content": VERIFIER_SYSTEM},
        {"role": "user", "content": f"{TASK}{directive}\n\nResult:\n{result}"},
    ]
