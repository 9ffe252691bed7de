"""The manager's prompts: split a directive into parts (``planning/decompose_directive``).

The planner sees the directive, its briefing, what earlier rounds achieved or
how they failed, and the user's answers; it replies with a :class:`Plan`. A
plan that cannot be run is asked for once more, with the reason.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from swarm_star.prompts.labels import DIRECTIVE, NO_ANSWERS, USER_ANSWERS

__all__ = ["PLANNER_SYSTEM", "Part", "Plan", "earlier_rounds", "plan_messages", "replan_messages"]

PLANNER_SYSTEM = (
    "You are a manager. Split the directive into sub-directives (at most "
    "{max_parts}); a small directive is one sub-directive. Parts run in parallel "
    "unless a part lists in 'after' the numbers of the parts whose results it needs. "
    "Ask the user only if facts only they have are missing."
)
NO_CONTEXT = "(no further context)"
PREVIOUS_REPORT = "\n\nThe previous round achieved:\n"
PREVIOUS_ERRORS = "\n\nThe previous round failed like this (plan differently):\n"
REJECTED = (
    "\n\nYour previous plan was rejected: {reason}. "
    "Give a corrected plan: complete, distinct instructions, 'after' only naming existing parts, "
    "no cycles."
)


class Part(BaseModel):
    """One sub-directive and the parts it needs first."""

    task: str = Field(description="the sub-directive, a complete instruction")
    after: list[int | str] = Field(
        default_factory=list, description="numbers (1-based) of the parts that must finish first"
    )


class Plan(BaseModel):
    """The planner's decision for one directive."""

    needs_context: bool = Field(description="true only if facts only the user has are missing")
    question: str = Field("", description="the question for the user, if needs_context")
    subdirectives: list[Part | str] = Field(
        default_factory=list,
        description="the parts in order; a plain string is a part with no prerequisites",
    )


def earlier_rounds(previous_report: str, previous_errors: str) -> str:
    """What the rounds before this one achieved, or how they failed (empty for the first round)."""
    earlier = ""
    if previous_report:
        earlier += PREVIOUS_REPORT + previous_report
    if previous_errors:
        earlier += PREVIOUS_ERRORS + previous_errors
    return earlier


def plan_messages(directive: str, briefing: str, earlier: str, answers: str, *, max_parts: int) -> list[dict[str, str]]:
    """The planner's request: system, then the directive with what is known about it."""
    return [
        {"role": "system", "content": PLANNER_SYSTEM.format(max_parts=max_parts)},
        {
            "role": "user",
            "content": f"{DIRECTIVE}{directive}\n\n{briefing or NO_CONTEXT}{earlier}\n\n"
            f"{USER_ANSWERS}{answers or NO_ANSWERS}",
        },
    ]


def replan_messages(first: list[dict[str, str]], reason: str) -> list[dict[str, str]]:
    """The first request again, its user message followed by why the plan was rejected."""
    return [*first[:1], {"role": "user", "content": first[1]["content"] + REJECTED.format(reason=reason)}]
