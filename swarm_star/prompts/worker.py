"""The workers' prompts: answer, ask the user, keep a note, fill a util's arguments.

Each template here is one leaf action's request (``core/answer``,
``interaction/ask_user_questions``, ``memory/save_memory``, ``utils/use_util``);
code has its own module (:mod:`swarm_star.prompts.code`). Each is laid out for
a provider's prompt cache: what is the same for every call of the action (its
instructions, a util's input schema) in the system message, then the briefing
siblings share, then the task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field

from swarm_star.prompts.labels import NEED, QA_ANSWER, QA_QUESTION, TASK
from swarm_star.prompts.structured import Reply

__all__ = [
    "ANSWER_SYSTEM",
    "FOLLOW_UP_SYSTEM",
    "NOTE_SYSTEM",
    "QUESTION_SYSTEM",
    "UTIL_ARGS_SYSTEM",
    "FollowUp",
    "MemoryNote",
    "Question",
    "UtilArgs",
    "answer_messages",
    "follow_up_messages",
    "not_in_memory_question",
    "note_messages",
    "question_messages",
    "transcript",
    "util_args_messages",
]

ANSWER_SYSTEM = "Do the task. Reply with the result only, complete and concise."
REJECTED_ANSWER = "\n\nA reviewer rejected a previous answer:\n"
FOLLOW_UP_SYSTEM = "Decide whether these answers settle the question."
QUESTION_SYSTEM = "Write one clear question to the user for the task."
NOTE_SYSTEM = "Write a short titled note to remember for the task."
UTIL_ARGS_SYSTEM = "Fill the arguments {input_schema} for {name}."


class Question(Reply):
    question: str


class FollowUp(Reply):
    """Whether the answers so far are enough."""

    enough: bool
    follow_up: str = Field("", description="the next question, if not enough")
    summary: str = Field("", description="what was learned, if enough")


class MemoryNote(Reply):
    title: str
    content: str


class UtilArgs(Reply):
    args: dict[str, str] = Field(default_factory=dict)


def answer_messages(directive: str, briefing: str, notes: list[str]) -> list[dict[str, str]]:
    """Do the task; ``notes`` are a verifier's reasons when this is a repair. The briefing (shared
    with the siblings) comes before the task, so a prompt cache can reuse it."""
    repair = REJECTED_ANSWER + "\n".join(f"- {n}" for n in notes) if notes else ""
    return [
        {"role": "system", "content": ANSWER_SYSTEM},
        {"role": "user", "content": _briefed(briefing, directive) + repair},
    ]


def _briefed(briefing: str, directive: str) -> str:
    """A worker's user message: the briefing (what siblings share) first, the task last."""
    return f"{briefing}\n\n{TASK}{directive}".strip()


def question_messages(directive: str, briefing: str) -> list[dict[str, str]]:
    """Phrase the one question to ask the user."""
    return [{"role": "system", "content": QUESTION_SYSTEM}, {"role": "user", "content": _briefed(briefing, directive)}]


def not_in_memory_question(directive: str) -> str:
    """What a memory search that found nothing asks the user."""
    return f"I could not find this in what you gave me or in what the swarm found so far: {directive}. Can you tell me?"


def transcript(answers: Iterable[tuple[str, str]]) -> str:
    """The questions asked so far and the user's answers."""
    return "\n".join(f"{QA_QUESTION}{q}\n{QA_ANSWER}{a}" for q, a in answers)


def follow_up_messages(directive: str, asked: str) -> list[dict[str, str]]:
    """Are the answers in ``asked`` (a :func:`transcript`) enough, or what to ask next."""
    return [
        {"role": "system", "content": FOLLOW_UP_SYSTEM},
        {"role": "user", "content": f"{NEED}{directive}\n\n{asked}"},
    ]


def note_messages(directive: str, briefing: str) -> list[dict[str, str]]:
    """Write a titled note for the memory space."""
    return [{"role": "system", "content": NOTE_SYSTEM}, {"role": "user", "content": _briefed(briefing, directive)}]


def util_args_messages(
    directive: str, name: str, input_schema: Mapping[str, Any], briefing: str
) -> list[dict[str, str]]:
    """Fill the arguments of the util ``name`` (its ``input_schema`` is shown as it is: the same for
    every call of that util, so it is in the system message, before the briefing and the task)."""
    system = UTIL_ARGS_SYSTEM.format(input_schema=input_schema, name=name)
    return [{"role": "system", "content": system}, {"role": "user", "content": _briefed(briefing, directive)}]
