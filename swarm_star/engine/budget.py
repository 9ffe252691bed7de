"""Budgets: limits checked, and reserved before a call is sent."""

from __future__ import annotations

import time

from swarm_star.errors import LimitReached
from swarm_star.models import (
    Usage,
)


class Budget:
    """Part of :class:`~swarm_star.engine.loop.Engine`: the limits, reserved per attempt."""

    def _reserve(self, held: list[Usage], model: str, prompt_tokens: int, max_tokens: int) -> None:
        """Before an attempt is sent: reserve one call and the most tokens and cost it can use.

        An attempt starts only if what is used, what calls in flight reserved and its
        own reservation all fit the limit. Calls are exact. Tokens and cost hold as long
        as no request costs more than reserved: ``prompt_tokens`` is an upper bound for
        byte-level tokenizers (see ``estimate_tokens``) and ``max_tokens`` caps the reply.
        """
        if self._stopping is not None:
            raise self._stopping
        self._check_time()
        limits, used, reserved = self.state.limits, self.state.usage, self._reserved
        if used.calls + reserved.calls + 1 > limits.max_calls:
            raise LimitReached("max_calls", f"{used.calls} model calls made, {reserved.calls} in flight")
        need = prompt_tokens + max_tokens
        if used.tokens + reserved.tokens + need > limits.max_tokens:
            raise LimitReached(
                "max_tokens",
                f"{used.tokens} tokens used, {reserved.tokens} reserved in flight, "
                f"the next request may use {need} (prompt up to {prompt_tokens} + reply cap {max_tokens})",
            )
        cost = self.llm.prices.cost(model, prompt_tokens, max_tokens) if self.llm is not None else None
        if limits.max_cost is not None and used.cost + reserved.cost + (cost or 0.0) > limits.max_cost:
            raise LimitReached(
                "max_cost",
                f"${used.cost:.4f} spent, ${reserved.cost:.4f} reserved in flight, "
                f"the next request may cost ${cost or 0.0:.4f}",
            )
        share = Usage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=max_tokens, cost=cost or 0.0)
        held.append(share)
        self._reserved = self._reserved.plus(share)

    def _release(self, held: list[Usage]) -> None:
        for share in held:
            self._reserved = Usage(
                calls=self._reserved.calls - share.calls,
                prompt_tokens=self._reserved.prompt_tokens - share.prompt_tokens,
                completion_tokens=self._reserved.completion_tokens - share.completion_tokens,
                cost=round(self._reserved.cost - share.cost, 10),
            )
        held.clear()

    def _check_budget(self) -> None:
        if self._stopping is not None:
            raise self._stopping
        limits, used = self.state.limits, self.state.usage
        if used.calls + self._reserved.calls >= limits.max_calls:
            in_flight = f", {self._reserved.calls} in flight" if self._reserved.calls else ""
            raise LimitReached("max_calls", f"{used.calls} model calls{in_flight}")
        if used.tokens >= limits.max_tokens:
            raise LimitReached("max_tokens", f"{used.tokens} tokens")
        if limits.max_cost is not None and used.cost >= limits.max_cost:
            raise LimitReached("max_cost", f"${used.cost:.4f} spent")
        self._check_time()

    def _check_time(self) -> None:
        limit = self.state.limits.max_time
        if limit is not None and time.monotonic() - self._started > limit:
            raise LimitReached("max_time", f"{limit:g} s of wall time")
