"""Measured figures per model endpoint, updated from every model-call frame.

Why from frames: a call frame already says which model reference answered,
how long it took, what it used and whether it failed. The swarm's projection
(:class:`~swarm_star.state.projection.SwarmState`) feeds each ``llm_call``
frame to :meth:`StatsBook.observe`, so the figures are exactly a replay of the
history, are committed with the frame that changed them (the projection's meta
record), and survive a resume. Routing (:mod:`swarm_star.llm.routing`) reads
them; ``swarm-star models`` shows them.

Per reference (``provider:model``): calls and failures in all; *health*, an
exponentially weighted success rate (a failure halves it, a success closes half
the gap to 1), so an endpoint that starts failing loses traffic within a few
calls and one that recovers regains it within a few; and a window of the last
:data:`WINDOW` calls for latency p50/p95 (answered calls), tokens per second
(completion tokens over time spent answering) and cost per call.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from swarm_star.models.node import Usage
from swarm_star.models.operations import LLMCall

__all__ = ["HEALTH_STEP", "WINDOW", "EndpointFigures", "StatsBook"]

WINDOW = 50
HEALTH_STEP = 0.5
"""How far one outcome moves health toward 1 (success) or 0 (failure)."""
_NOT_THE_ENDPOINT = ("cancelled", "limit reached")
"""Call errors that say nothing about the endpoint (the run stopped, a budget ran out)."""


class EndpointFigures(BaseModel):
    """What one model reference did in this swarm (persisted; a window of recent calls)."""

    calls: int = 0
    failures: int = 0
    health: float = 1.0
    seq: int = Field(0, description="the book's call counter when this reference was last called")
    recent: list[tuple[bool, float, int, float]] = Field(
        default_factory=list, description="last calls: (ok, latency s, completion tokens, cost)"
    )
    last_error: str | None = None

    def _answered(self) -> list[float]:
        return sorted(lat for ok, lat, _, _ in self.recent if ok)

    def _quantile(self, q: float) -> float | None:
        values = self._answered()
        if not values:
            return None
        return values[min(len(values) - 1, int(q * len(values)))]

    @property
    def measured(self) -> bool:
        return bool(self._answered())

    @property
    def p50(self) -> float | None:
        return self._quantile(0.5)

    @property
    def p95(self) -> float | None:
        return self._quantile(0.95)

    @property
    def success_rate(self) -> float | None:
        """Answered calls over all calls in the window (None before the first call)."""
        return sum(1 for ok, *_ in self.recent if ok) / len(self.recent) if self.recent else None

    @property
    def tokens_per_s(self) -> float | None:
        spent = sum(lat for ok, lat, _, _ in self.recent if ok)
        made = sum(tokens for ok, _, tokens, _ in self.recent if ok)
        return made / spent if spent > 0 else None

    @property
    def cost_per_call(self) -> float | None:
        return sum(cost for *_, cost in self.recent) / len(self.recent) if self.recent else None

    def summary(self) -> dict[str, float | int | str | None]:
        """The figures as plain data (``swarm-star models --json``, a route's reason)."""
        return {
            "calls": self.calls,
            "failures": self.failures,
            "health": round(self.health, 3),
            "success_rate": None if self.success_rate is None else round(self.success_rate, 3),
            "p50_s": None if self.p50 is None else round(self.p50, 3),
            "p95_s": None if self.p95 is None else round(self.p95, 3),
            "tokens_per_s": None if self.tokens_per_s is None else round(self.tokens_per_s, 1),
            "cost_per_call": None if self.cost_per_call is None else round(self.cost_per_call, 6),
            "last_error": self.last_error,
        }


class StatsBook(BaseModel):
    """Figures of every model reference a swarm called (``swarm_state_meta["endpoints"]``)."""

    seq: int = 0
    figures: dict[str, EndpointFigures] = Field(default_factory=dict)
    usage: dict[str, Usage] = Field(
        default_factory=dict, description="what every call frame used, by model reference (failed calls included)"
    )

    def get(self, ref: str) -> EndpointFigures | None:
        return self.figures.get(ref)

    def observe(self, call: LLMCall) -> None:
        """One call frame: its usage always counts; for the figures, primitive results (no
        attempts) and calls stopped by the run or a budget are not the endpoint's doing."""
        self.usage[call.model] = self.usage.get(call.model, Usage()).plus(call.usage)
        if not call.attempt_log:
            return
        if call.error is not None and call.error.startswith(_NOT_THE_ENDPOINT):
            return
        ok = call.error is None
        self.seq += 1
        figures = self.figures.setdefault(call.model, EndpointFigures())
        figures.calls += 1
        figures.seq = self.seq
        if ok:
            figures.health += (1.0 - figures.health) * HEALTH_STEP
        else:
            figures.failures += 1
            figures.health *= 1.0 - HEALTH_STEP
            figures.last_error = call.error[:200] if call.error else None
        figures.recent.append((ok, round(call.latency_s, 4), call.usage.completion_tokens, round(call.usage.cost, 8)))
        del figures.recent[:-WINDOW]

    @classmethod
    def merged(cls, books: Iterable[StatsBook]) -> StatsBook:
        """Several swarms' figures as one (the space's view in ``swarm-star models``): counts add,
        windows are concatenated (newest last, cut to :data:`WINDOW`), health is the worst seen."""
        out = cls()
        for book in books:
            for ref, figures in book.figures.items():
                into = out.figures.get(ref)
                if into is None:
                    out.figures[ref] = figures.model_copy(deep=True)
                    continue
                into.calls += figures.calls
                into.failures += figures.failures
                into.health = min(into.health, figures.health)
                into.recent = [*into.recent, *figures.recent][-WINDOW:]
                into.last_error = figures.last_error or into.last_error
            for ref, used in book.usage.items():
                out.usage[ref] = out.usage.get(ref, Usage()).plus(used)
        return out
