"""A scripted model that knows each evaluation task's answer and is right with probability p.

Why: the evaluation harness must itself be tested, and the strategies it
compares (one call, a vote, a swarm, a swarm with verification) must do with
a model of *known* per-call accuracy what arithmetic says they should — vote
of 5 at p = 0.6 reaches P(at least 3 of 5 right) ≈ 0.68; a verifier that is
right with probability q lifts a checked answer above p (see
:func:`expected_pass_rate`). If they do not, the
wiring is wrong, whatever a real model would have scored.

Each task's directive carries a tag ``[task ID]`` (``prompts/evaluation.py``).
Every answering call (a plain text reply: the swarm's answer leaf, one call,
one vote sample) is right with probability ``accuracy``, independently per
call: it says ``answers[ID]``, else ``wrong[ID]``. The dice are a hash of
(seed, task, kind of call, how many such calls came before), so a run is
reproducible whatever order concurrent tasks arrive in. The plan is the task
itself, routing goes to ``core/answer``, the review passes on the answer its
part reported, and a verifier call judges the result it is shown correctly
with probability ``verifier_accuracy``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from swarm_star.models import Limits
from swarm_star.models.config import VerifySettings
from swarm_star.prompts.briefing import CHAIN_HEADER, MEMORY_HEADER, PREREQUISITES_HEADER
from swarm_star.prompts.evaluation import task_tag
from swarm_star.prompts.labels import DIRECTIVE, USER_ANSWERS
from swarm_star.prompts.planning import NO_CONTEXT
from swarm_star.testing.scripted import ScriptedModel

__all__ = ["NO_ANSWER", "AnswerKeyModel", "expected_pass_rate", "task_tag"]

NO_ANSWER = "I do not know."
_TAG = re.compile(r"\[task ([^\]\s]+)\]")
_AFTER_DIRECTIVE = (NO_CONTEXT, CHAIN_HEADER, PREREQUISITES_HEADER, MEMORY_HEADER, USER_ANSWERS)
"""What may follow the directive in the planner's request (see ``prompts/planning.py``)."""


@dataclass
class AnswerKeyModel(ScriptedModel):
    """``answers``: task id -> what a right call says; ``wrong``: task id -> what a wrong one says
    (default :data:`NO_ANSWER`). ``accuracy`` is p, ``verifier_accuracy`` the verifier's q."""

    answers: dict[str, str] = field(default_factory=dict)
    wrong: dict[str, str] = field(default_factory=dict)
    accuracy: float = 1.0
    verifier_accuracy: float = 1.0
    seed: int = 0
    rolls: Counter[tuple[str, str]] = field(default_factory=Counter)

    def _task(self, request: dict[str, Any]) -> str:
        for message in request.get("messages", []):
            match = _TAG.search(str(message.get("content", "")))
            if match:
                return match.group(1)
        return ""

    def _roll(self, task: str, kind: str, chance: float) -> bool:
        """True with probability ``chance``: the n-th roll of this kind for this task, hashed."""
        with self._lock:
            n = self.rolls[(task, kind)]
            self.rolls[(task, kind)] += 1
        digest = hashlib.sha256(f"{self.seed}|{task}|{kind}|{n}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < chance

    def _right(self, task: str) -> str:
        return self.answers.get(task, NO_ANSWER)

    def _wrong(self, task: str) -> str:
        return self.wrong.get(task, NO_ANSWER)

    def _is_right(self, task: str, text: str) -> bool | None:
        """Whether ``text`` carries the right answer (True), the wrong one (False), or neither (None)."""
        wrong, right = self._wrong(task), self._right(task)
        if wrong != NO_ANSWER and wrong in text:  # first: a right answer may be a prefix of the wrong one
            return False
        if right != NO_ANSWER and right in text:
            return True
        return None

    def _plan(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        body = str(request["messages"][-1]["content"])
        whole = body.split(DIRECTIVE, 1)[-1]
        for section in _AFTER_DIRECTIVE:  # the directive may span lines: it ends where the next section starts
            whole = whole.split(f"\n\n{section}", 1)[0]
        return {"needs_context": False, "question": "", "subdirectives": [whole]}

    def _text(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> str:
        task = self._task(request)
        return self._right(task) if self._roll(task, "answer", self.accuracy) else self._wrong(task)

    def _review(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        task = self._task(request)
        found = self._is_right(task, str(request["messages"][-1]["content"]))
        report = {True: self._right(task), False: self._wrong(task), None: NO_ANSWER}[found]
        return {"directive_met": True, "report": report, "next_directive": ""}

    def _resultverdict(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        task = self._task(request)
        truth = self._is_right(task, str(request["messages"][-1]["content"])) is True
        ok = truth if self._roll(task, "verify", self.verifier_accuracy) else not truth
        return {"ok": ok, "reasons": [] if ok else ["the result does not solve the task"]}


def expected_pass_rate(strategy: str, p: float, q: float = 1.0, *, votes: int = 5, attempts: int = 0) -> float:
    """What arithmetic says ``strategy`` scores on this model (right with probability ``p`` per call,
    one fixed wrong answer per task, a verifier right with probability ``q``).

    ``single`` and ``swarm``: p (one answering call). ``vote``: a strict majority of ``votes`` calls
    is right (the wrong answers all agree, so a wrong majority loses). ``swarm+verify``: an attempt
    passes when it is right and accepted (p·q); a rejected one (right and refused, or wrong and caught:
    r = p(1 − q) + (1 − p)q) is followed by another, up to ``attempts``; a wrong answer accepted, or the
    last attempt rejected, fails. A swarm's default is (``VerifySettings.repairs`` + 1) ×
    ``Limits.max_rounds`` = 6: the answer is repaired once, and when the part still fails its manager
    plans it again as a new round (``actions/planning/review_reports.py``).
    """
    if strategy in ("single", "swarm"):
        return p
    if strategy == "vote":
        return sum(math.comb(votes, k) * p**k * (1 - p) ** (votes - k) for k in range(votes // 2 + 1, votes + 1))
    if strategy == "swarm+verify":
        attempts = attempts or (VerifySettings().repairs + 1) * Limits().max_rounds
        rejected = p * (1 - q) + (1 - p) * q
        return p * q * sum(rejected**i for i in range(attempts))
    raise ValueError(f"unknown strategy {strategy!r}")
