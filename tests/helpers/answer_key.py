"""A scripted model that answers evaluation tasks from an answer key, right or wrong on purpose.

Why: the evaluation harness must itself be tested — a known-good answer must
score 1 and a known-bad one 0, through full swarms, without a real model.
Each task's directive carries a tag ``[task ID]``; the key maps IDs to the
answer to give. The plan is the task itself, routing goes to ``core/answer``,
and the review reports the worker's answer unchanged, so the root report is
exactly the keyed answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from swarm_star.prompts.briefing import CHAIN_HEADER, MEMORY_HEADER, PREREQUISITES_HEADER
from swarm_star.prompts.labels import DIRECTIVE, USER_ANSWERS
from swarm_star.prompts.planning import NO_CONTEXT
from swarm_star.testing.scripted import ScriptedModel

__all__ = ["AnswerKeyModel", "task_tag"]

_TAG = re.compile(r"\[task ([^\]\s]+)\]")
_AFTER_DIRECTIVE = (NO_CONTEXT, CHAIN_HEADER, PREREQUISITES_HEADER, MEMORY_HEADER, USER_ANSWERS)
"""What may follow the directive in the planner's request (see ``prompts/planning.py``)."""


def task_tag(task_id: str) -> str:
    return f"[task {task_id}]"


@dataclass
class AnswerKeyModel(ScriptedModel):
    """``answers``: task id -> the text to answer (the harness builds good and bad keys)."""

    answers: dict[str, str] = field(default_factory=dict)

    def _task(self, request: dict[str, Any]) -> str | None:
        for message in request.get("messages", []):
            match = _TAG.search(str(message.get("content", "")))
            if match:
                return match.group(1)
        return None

    def _answer(self, request: dict[str, Any]) -> str:
        task = self._task(request)
        return self.answers.get(task or "", "I do not know.")

    def _plan(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        body = str(request["messages"][-1]["content"])
        whole = body.split(DIRECTIVE, 1)[-1]
        for section in _AFTER_DIRECTIVE:  # the directive may span lines: it ends where the next section starts
            whole = whole.split(f"\n\n{section}", 1)[0]
        return {"needs_context": False, "question": "", "subdirectives": [whole]}

    def _text(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> str:
        return self._answer(request)

    def _review(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"directive_met": True, "report": self._answer(request), "next_directive": ""}
