"""Fan-out synthesis: sample N candidates in parallel, then merge them into one answer.

The model is reached through an ``Ask`` callable rather than a client, so the
same code serves the CLI (a model client: any provider, ``--model provider:model``) and the
swarm actions (the node's journaled ``call_model``, so a resumed swarm never
pays for a candidate twice). Transport retries (429, 5xx, timeouts) live in
the client; this module adds what is specific to fan-out:

- a failed candidate is kept, marked with its error, never an empty string;
- the synthesis call is retried, and if it still fails the result falls back
  to a majority vote or the first good candidate, flagged in ``meta``;
- ``mode="vote"`` replaces synthesis with self-consistency voting over short
  answers and reports the vote's confidence;
- :func:`synthesize` redoes only the synthesis from stored candidates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from swarm_star.errors import InputError, ModelError, ModelUnreachable
from swarm_star.llm.client import ChatResult
from swarm_star.llm.protocol import ModelClient
from swarm_star.models import Usage
from swarm_star.primitives.aggregators import majority_vote
from swarm_star.primitives.pool import messages_for
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.swarm import SYNTHESIS_PROMPT

__all__ = ["Ask", "Candidate", "FanoutOptions", "FanoutResult", "client_ask", "fanout", "synthesize"]

Ask = Callable[[list[dict[str, str]], float | None, str], Awaitable[ChatResult]]
"""(messages, temperature, purpose) -> reply; purpose is ``Purpose.CANDIDATE`` or ``Purpose.SYNTHESIS``."""
MAX_CANDIDATES = 256
_log = logging.getLogger(__name__)  # shown by the CLI's --verbose at $LOG_LEVEL (StochasticSwarm's habit)


@dataclass(frozen=True)
class FanoutOptions:
    """Everything but the prompt. Temperatures: high for variety, low to merge."""

    n: int = 5
    system: str | None = None
    stop: tuple[str, ...] = ()
    model: str | None = None
    max_tokens: int | None = None
    candidate_temperature: float = 0.9
    synthesis_temperature: float = 0.2
    concurrency: int = 16
    synthesis_attempts: int = 2
    mode: Literal["synthesis", "vote"] = "synthesis"

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_CANDIDATES:
            raise InputError(f"candidate count must be 1-{MAX_CANDIDATES}, got {self.n}")
        if self.concurrency < 1 or self.synthesis_attempts < 1:
            raise InputError("concurrency and synthesis attempts must be at least 1")
        if self.mode not in ("synthesis", "vote"):
            raise InputError(f"mode must be synthesis or vote, got {self.mode!r}")


@dataclass
class Candidate:
    index: int
    ok: bool
    text: str = ""
    error: str | None = None
    latency_s: float = 0.0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Candidate:
        return cls(**data)


@dataclass
class FanoutResult:
    """``final`` is None only when no candidate succeeded (``meta['error']`` says so)."""

    final: str | None
    candidates: list[Candidate]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"final": self.final, "candidates": [asdict(c) for c in self.candidates], "meta": self.meta}


def client_ask(client: ModelClient, options: FanoutOptions, role: str = "worker") -> Ask:
    """An ``Ask`` over a plain client, with the options' model, stop and max tokens."""

    async def ask(messages: list[dict[str, str]], temperature: float | None, purpose: str) -> ChatResult:
        return await client.chat(
            messages,
            role=role,
            temperature=temperature,
            max_tokens=options.max_tokens,
            stop=list(options.stop) or None,
            model=options.model,
        )

    return ask


async def fanout(ask: Ask, prompt: str, options: FanoutOptions | None = None) -> FanoutResult:
    """Sample ``options.n`` candidates concurrently, then synthesize (or vote)."""
    opts: FanoutOptions = options or FanoutOptions()
    if not prompt.strip():
        raise InputError("the prompt is empty")
    started = time.perf_counter()
    gate = asyncio.Semaphore(opts.concurrency)
    messages = messages_for(prompt, opts.system)
    models: list[str] = []
    temperature = opts.candidate_temperature

    async def sample(index: int) -> Candidate:
        async with gate:
            began = time.perf_counter()
            try:
                result = await ask(messages, temperature, Purpose.CANDIDATE)
            except ModelUnreachable:  # an outage is not a failed candidate either: the swarm pauses
                raise
            except ModelError as exc:  # a limit or a bug is not a failed candidate: it propagates
                _log.warning("candidate %d failed: %s", index + 1, exc)
                return Candidate(index, False, error=str(exc), latency_s=round(time.perf_counter() - began, 4))
        _log.info("candidate %d: %d tokens in %.2f s", index + 1, result.usage.completion_tokens, result.latency_s)
        models.append(result.model)
        candidate = Candidate(
            index,
            True,
            result.text,
            latency_s=round(result.latency_s, 4),
            attempts=result.attempts,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
        )
        if not result.text.strip():
            candidate.ok, candidate.error = False, "empty reply"
        return candidate

    # Let every started candidate finish even if one raises (a limit): calls in flight are
    # paid for either way, and finishing them gets them recorded; then the error propagates.
    outcomes = await asyncio.gather(*(sample(i) for i in range(opts.n)), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    candidates = [o for o in outcomes if isinstance(o, Candidate)]
    sampled = time.perf_counter() - started
    if opts.model is None and models:
        opts = replace(opts, model=models[0])
    result = await synthesize(ask, prompt, candidates, opts)
    result.meta["timings"]["candidates_s"] = round(sampled, 4)
    result.meta["timings"]["total_s"] = round(time.perf_counter() - started, 4)
    return result


async def synthesize(
    ask: Ask, prompt: str, candidates: Sequence[Candidate], options: FanoutOptions | None = None
) -> FanoutResult:
    """Merge existing candidates (fresh, or loaded from an earlier ``--json`` run)."""
    options = options or FanoutOptions()
    started = time.perf_counter()
    good = [c for c in candidates if c.ok]
    usage = Usage(
        calls=len(good),
        prompt_tokens=sum(c.prompt_tokens for c in candidates),
        completion_tokens=sum(c.completion_tokens for c in candidates),
    )
    meta: dict[str, Any] = {
        "model": options.model,
        "mode": options.mode,
        "candidates": len(candidates),
        "succeeded": len(good),
        "failed": len(candidates) - len(good),
        "failures": {str(c.index): c.error for c in candidates if not c.ok},
        "timings": {"candidate_latencies_s": [c.latency_s for c in candidates]},
    }
    final: str | None = None
    if not good:
        meta["error"] = f"all {len(candidates)} candidates failed"
    elif options.mode == "vote":
        vote = majority_vote([c.text for c in good])
        final = vote.answer
        meta["vote"] = asdict(vote)
    else:
        final, usage = await _synthesis(ask, prompt, good, options, meta, usage)
    meta["timings"]["synthesis_s"] = round(time.perf_counter() - started, 4)
    meta["usage"] = usage.model_dump()
    return FanoutResult(final, list(candidates), meta)


async def _synthesis(
    ask: Ask,
    prompt: str,
    good: list[Candidate],
    options: FanoutOptions,
    meta: dict[str, Any],
    usage: Usage,
) -> tuple[str, Usage]:
    if len(good) == 1:
        meta["synthesis"] = {"skipped": "only one candidate succeeded"}
        return good[0].text, usage
    numbered = "\n\n".join(f"--- attempt {i + 1} ---\n{c.text.strip()}" for i, c in enumerate(good))
    messages = messages_for(SYNTHESIS_PROMPT.format(prompt=prompt, candidates=numbered), options.system)
    error = "synthesis failed"
    for attempt in range(1, options.synthesis_attempts + 1):
        try:
            result = await ask(messages, options.synthesis_temperature, Purpose.SYNTHESIS)
        except ModelUnreachable:
            raise
        except ModelError as exc:
            error = str(exc)
            _log.warning("synthesis attempt %d failed: %s", attempt, exc)
            continue
        usage = usage.plus(result.usage)
        meta["model"] = meta["model"] or result.model
        if result.text.strip():
            _log.info("synthesis of %d candidates done in %.2f s", len(good), result.latency_s)
            meta["synthesis"] = {"ok": True, "attempts": attempt, "latency_s": round(result.latency_s, 4)}
            return result.text, usage
        error = "empty synthesis reply"
    vote = majority_vote([c.text for c in good])
    if vote.answer is not None and vote.votes > 1:
        fallback, text = "majority vote over candidates", vote.answer
    else:
        fallback, text = "first successful candidate", good[0].text
    meta["synthesis"] = {"ok": False, "attempts": options.synthesis_attempts, "error": error, "fallback": fallback}
    meta["fallback"] = True
    return text, usage
