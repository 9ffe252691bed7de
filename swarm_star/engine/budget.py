"""Budgets: the run's limits, checked before work starts and reserved before a call is sent.

Why reserve, not just count: calls run concurrently, so counting only what
finished would let every branch in flight start one more call each and
overshoot the limit by the number of branches. Each attempt reserves what it
may use at most (one call, prompt bytes + template allowance + its
``max_tokens`` reply cap, the cost of those) and starts only if what is used,
what calls in flight reserved and its own share all fit; the share is released
when the attempt ends and its real usage is in the state.

A :class:`Budget` is owned by whoever makes the calls: the writer's loop, or
a Ray worker for the activations it runs (each reserves against the snapshot
it was given; see ``engine/ray_executor.py``).
"""

from __future__ import annotations

import time

from swarm_star.errors import ExecutorUnreachable, LimitReached, ModelUnreachable
from swarm_star.llm.protocol import Prices
from swarm_star.models import Limits, Usage
from swarm_star.state.projection import SwarmState

__all__ = ["Budget", "Outage"]

Outage = ModelUnreachable | ExecutorUnreachable  # pauses the swarm (resumable), never fails a node


class Budget:
    """Limit checks and the reservations of calls in flight, for one run."""

    def __init__(self, prices: Prices | None = None) -> None:
        self.prices = prices  # None: no model endpoint, nothing is priced
        self.reserved = Usage()  # held by calls in flight (see reserve)
        self.started = time.monotonic()  # max_time counts from here (see restart_clock)
        self.stopping: LimitReached | Outage | None = None  # once set, no new call starts

    def restart_clock(self) -> None:
        """Wall time counts from the start of this run, not from when the engine was built."""
        self.started = time.monotonic()

    def check(self, state: SwarmState) -> None:
        """Before a step starts: raise the stop reason, or a limit that is already reached."""
        if self.stopping is not None:
            raise self.stopping
        limits, used = state.limits, state.usage
        if used.calls + self.reserved.calls >= limits.max_calls:
            in_flight = f", {self.reserved.calls} in flight" if self.reserved.calls else ""
            raise LimitReached("max_calls", f"{used.calls} model calls{in_flight}")
        if used.tokens >= limits.max_tokens:
            raise LimitReached("max_tokens", f"{used.tokens} tokens")
        if limits.max_cost is not None and used.cost >= limits.max_cost:
            raise LimitReached("max_cost", f"${used.cost:.4f} spent")
        self.check_time(limits)

    def check_time(self, limits: Limits) -> None:
        limit = limits.max_time
        if limit is not None and time.monotonic() - self.started > limit:
            raise LimitReached("max_time", f"{limit:g} s of wall time")

    def reserve(self, state: SwarmState, held: list[Usage], model: str, prompt_tokens: int, max_tokens: int) -> None:
        """Before an attempt is sent: reserve one call and the most tokens and cost it can use.

        An attempt starts only if what is used, what calls in flight reserved and its
        own reservation all fit the limit. Calls are exact. Tokens and cost hold as long
        as no request costs more than reserved: ``prompt_tokens`` is an upper bound for
        byte-level tokenizers (see ``estimate_tokens``) and ``max_tokens`` caps the reply.
        The share is added to ``held``; :meth:`release` gives it back.
        """
        if self.stopping is not None:
            raise self.stopping
        self.check_time(state.limits)
        limits, used, reserved = state.limits, state.usage, self.reserved
        if used.calls + reserved.calls + 1 > limits.max_calls:
            raise LimitReached("max_calls", f"{used.calls} model calls made, {reserved.calls} in flight")
        need = prompt_tokens + max_tokens
        if used.tokens + reserved.tokens + need > limits.max_tokens:
            raise LimitReached(
                "max_tokens",
                f"{used.tokens} tokens used, {reserved.tokens} reserved in flight, "
                f"the next request may use {need} (prompt up to {prompt_tokens} + reply cap {max_tokens})",
            )
        cost = self.prices.cost(model, prompt_tokens, max_tokens) if self.prices is not None else None
        if limits.max_cost is not None and used.cost + reserved.cost + (cost or 0.0) > limits.max_cost:
            raise LimitReached(
                "max_cost",
                f"${used.cost:.4f} spent, ${reserved.cost:.4f} reserved in flight, "
                f"the next request may cost ${cost or 0.0:.4f}",
            )
        share = Usage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=max_tokens, cost=cost or 0.0)
        held.append(share)
        self.reserved = self.reserved.plus(share)

    def reserve_calls(self, state: SwarmState, expected_calls: int, what: str) -> list[Usage]:
        """Reserve ``expected_calls`` calls at once (a primitive asking many agents), with
        the calls other branches have in flight; the held shares, for :meth:`release`."""
        limits, used = state.limits, state.usage
        if used.calls + self.reserved.calls + expected_calls > limits.max_calls:
            raise LimitReached(
                "max_calls",
                f"{what} needs {expected_calls} calls, {used.calls} made, {self.reserved.calls} in flight",
            )
        held = [Usage(calls=expected_calls)]
        self.reserved = self.reserved.plus(held[0])
        return held

    def release(self, held: list[Usage]) -> None:
        for share in held:
            self.reserved = Usage(
                calls=self.reserved.calls - share.calls,
                prompt_tokens=self.reserved.prompt_tokens - share.prompt_tokens,
                completion_tokens=self.reserved.completion_tokens - share.completion_tokens,
                cost=round(self.reserved.cost - share.cost, 10),
            )
        held.clear()
