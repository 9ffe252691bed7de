"""Checked results: a verifier call, one repair with its notes, then a fallback model.

Why: a worker's reply used to become the node's report whatever it said. Here
an action hands over a *produce* function (model, notes) -> attempt; the
result is judged against the directive by a verifier call (role
``settings.verify.verifier_role``), a failing verdict gets ``repairs`` more
attempts with the verifier's reasons, and then the next model of the worker
role (``ModelSettings.models_for``) starts afresh, up to ``fallbacks`` of them.

Every verdict becomes a :class:`~swarm_star.models.Verdict` frame (returned
with the action's operations), so the tree shows what was checked, by which
model's attempt, and why it failed. The verifier's own call is an ordinary
journaled model call, so a re-run after a crash pays nothing twice.

An attempt that could not even be made (a refused path, an unparseable
reply) counts as a failing verdict with that reason, without a verifier call:
it is repaired the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from swarm_star.models import Verdict
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.verify import ResultVerdict, judge_messages

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext

__all__ = ["Attempt", "Checked", "ResultVerdict", "checked", "judge"]

T = TypeVar("T")
MAX_JUDGED_CHARS = 12_000


@dataclass
class Attempt(Generic[T]):
    """One try at the directive: the result, the text a verifier reads, or why it failed."""

    result: T | None
    text: str = ""
    error: str | None = None


@dataclass
class Checked(Generic[T]):
    """The attempt that was kept, the verdict frames, and whether it passed."""

    attempt: Attempt[T]
    verdicts: list[Verdict] = field(default_factory=list)
    verified: bool | None = None  # None: this action's results are not checked

    @property
    def reasons(self) -> list[str]:
        return self.verdicts[-1].reasons if self.verdicts else []

    def note(self) -> str:
        """A line for the report saying how the result was checked."""
        if self.verified is None:
            return ""
        tries = len(self.verdicts)
        if self.verified:
            return f"[verified{'' if tries == 1 else f' after {tries} attempts'}]"
        return f"[not verified after {tries} attempts: {'; '.join(self.reasons)[:300]}]"


Produce = Callable[[str | None, list[str]], Awaitable[Attempt[T]]]


async def judge(ctx: ActionContext, text: str, *, role: str) -> ResultVerdict:
    """One verifier call: does ``text`` do what the node's directive asks?"""
    return await ctx.ask_model(
        judge_messages(ctx.node.directive, text[:MAX_JUDGED_CHARS]),
        purpose=Purpose.VERIFY,
        role=role,
        schema=ResultVerdict,
    )


async def checked(ctx: ActionContext, produce: Produce[T], role: str | None = None) -> Checked[T]:
    """Produce a result and, if this action's results are checked, verify/repair/fall back.

    ``produce(model, notes)``: ``model`` None means the role's primary model;
    ``notes`` are the verifier's reasons when this is a repair.
    """
    settings = ctx.settings.verify
    if not settings.applies(ctx.node.action_id):
        return Checked(await produce(None, []))
    fallbacks = ctx.settings.models.models_for(role or settings.worker_role)[1 : 1 + settings.fallbacks]
    verdicts: list[Verdict] = []
    attempt: Attempt[T] = Attempt(None, error="no attempt was made")
    for model in [None, *fallbacks]:
        notes: list[str] = []
        for repair in range(settings.repairs + 1):
            stage: Literal["first", "repair", "fallback"] = (
                "repair" if repair else ("first" if model is None else "fallback")
            )
            attempt = await produce(model, notes)
            if attempt.error is not None:
                verdict = ResultVerdict(ok=False, reasons=[attempt.error])
            else:
                verdict = await judge(ctx, attempt.text, role=settings.verifier_role)
                if not verdict.ok and not verdict.reasons:
                    verdict = ResultVerdict(ok=False, reasons=["the verifier rejected it without a reason"])
            verdicts.append(
                Verdict(node_id=ctx.node.id, stage=stage, model=model, ok=verdict.ok, reasons=verdict.reasons)
            )
            if verdict.ok:
                return Checked(attempt, verdicts, True)
            notes = verdict.reasons
    return Checked(attempt, verdicts, False)
