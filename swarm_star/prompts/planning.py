"""The manager's prompts: split a directive into parts (``planning/decompose_directive``).

The planner sees the actions a part can go to, the directive's briefing,
what earlier rounds achieved or how they failed, the user's answers and the
directive; it replies with a :class:`Plan` (built per menu by
:func:`plan_schema`, so each part may name its action: the part's router then
needs no call of its own). The menu's text gives each action in its short form
(:func:`menu_line`); the schema's enum repeats the names (~80 tokens per plan
call) because a grammar then keeps a small model to the menu: without it
SmolLM2 named actions such as "list" or "create-facts", and every such part
cost a routing call. The stable text comes first (system prompt and menu),
the directive last, so a provider's prompt cache can reuse the start. A plan
that cannot be run is asked for once more, with the reason.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from pydantic import Field, create_model

from swarm_star.prompts.labels import DIRECTIVE, NO_ANSWERS, USER_ANSWERS
from swarm_star.prompts.structured import Reply

__all__ = [
    "ACTIONS_HEADER",
    "PLANNER_SYSTEM",
    "Part",
    "Plan",
    "earlier_rounds",
    "menu_line",
    "plan_messages",
    "plan_schema",
    "replan_messages",
]

PLANNER_SYSTEM = (
    "You are a manager. Split the directive into sub-directives (at most "
    "{max_parts}); a small directive is one sub-directive. Parts run in parallel "
    "unless a part lists in 'after' the numbers of the parts whose results it needs. "
    "Set needs_context and ask the user only if facts only they have are missing."
)
ACTIONS_HEADER = (
    "\n\nActions a part can go to (name one as the part's 'action' when it clearly fits, else leave it empty):\n"
)
NO_CONTEXT = "(no further context)"
PREVIOUS_REPORT = "\n\nThe previous round achieved:\n"
PREVIOUS_ERRORS = "\n\nThe previous round failed like this (plan differently):\n"
REJECTED = (
    "\n\nYour previous plan was rejected: {reason}. "
    "Give a corrected plan: complete, distinct instructions, 'after' only naming existing parts, "
    "no cycles."
)


class Part(Reply):
    """A sub-directive."""

    task: str = Field(description="a complete instruction")
    after: list[int | str] = Field(default_factory=list)
    action: str = ""


class Plan(Reply):
    """A plan."""

    # the system prompt says what needs_context and after mean: the schema, sent with every plan
    # call, does not say it again
    needs_context: bool
    question: str = Field("", description="for the user, if needs_context")
    subdirectives: list[Part | str] = Field(default_factory=list)


@functools.lru_cache(maxsize=64)
def plan_schema(actions: tuple[str, ...]) -> type[Plan]:
    """A :class:`Plan` whose parts may name one of ``actions`` (an enum: a grammar keeps a small
    model to the menu). One class per menu, reused: building classes and schemas is costly."""
    if not actions:
        return Plan
    choice = Literal[(*actions, "")]  # type: ignore[valid-type]
    part = create_model(Part.__name__, __base__=Part, __doc__=Part.__doc__, action=(choice, ""))
    return create_model(
        Plan.__name__,
        __base__=Plan,
        __doc__=Plan.__doc__,
        subdirectives=(list[part | str], Field(default_factory=list)),
    )


_ASIDE = re.compile(r"\s*\([^()]*\)")


def menu_line(name: str, description: str, *, folder: bool) -> str:
    """One option of the planner's menu, short: its description without asides in brackets (a
    router that is asked still reads the whole description; a folder's name ends with ``/``)."""
    return f"- {name}{'/' if folder else ''}: {_ASIDE.sub('', description).strip()}"


def earlier_rounds(previous_report: str, previous_errors: str) -> str:
    """What the rounds before this one achieved, or how they failed (empty for the first round)."""
    earlier = ""
    if previous_report:
        earlier += PREVIOUS_REPORT + previous_report
    if previous_errors:
        earlier += PREVIOUS_ERRORS + previous_errors
    return earlier


def plan_messages(
    directive: str, briefing: str, earlier: str, answers: str, *, max_parts: int, menu: str = ""
) -> list[dict[str, str]]:
    """The planner's request: system and the action ``menu`` (stable), then what is known, then the
    directive (it differs between siblings) followed by the user's answers, the order it always
    had (with the answers moved before the directive, SmolLM2 asked the user in 2 of 6 eval tasks,
    0 of 6 before: too few to prove a cause, so the old order stays)."""
    actions = ACTIONS_HEADER + menu if menu else ""
    return [
        {"role": "system", "content": PLANNER_SYSTEM.format(max_parts=max_parts) + actions},
        {
            "role": "user",
            "content": f"{briefing or NO_CONTEXT}{earlier}\n\n{DIRECTIVE}{directive}\n\n"
            f"{USER_ANSWERS}{answers or NO_ANSWERS}",
        },
    ]


def replan_messages(first: list[dict[str, str]], reason: str) -> list[dict[str, str]]:
    """The first request again, its user message followed by why the plan was rejected."""
    return [*first[:1], {"role": "user", "content": first[1]["content"] + REJECTED.format(reason=reason)}]
