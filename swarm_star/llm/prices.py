"""What a call costs: user overrides first, then the maintained ``genai-prices`` library.

Why a library: a hand-written table is empty or stale the day it ships, and an
empty table made ``--max-cost`` silently useless. ``genai-prices`` (pydantic's)
keeps prices per provider and model. A model on a loopback server costs nothing
(it runs here). A model whose price is unknown costs ``None``: the usage says
how many calls were unpriced, and ``--max-cost`` refuses to start for it.
The library is imported on first use only (it loads its price data), so the
CLI starts fast.
"""

from __future__ import annotations

from collections.abc import Mapping

from swarm_star.llm.endpoint import Endpoint

__all__ = ["PriceBook"]


class PriceBook:
    """Prices for one endpoint: ``cost(model, prompt, completion)`` in USD, or None if unknown."""

    def __init__(self, overrides: Mapping[str, tuple[float, float]], endpoint: Endpoint) -> None:
        self._overrides = dict(overrides)
        self._endpoint = endpoint
        self._known: dict[str, bool] = {}

    def known(self, model: str) -> bool:
        """Whether calls to ``model`` can be priced (override, local, or in the library)."""
        if model not in self._known:
            self._known[model] = self.cost(model, 1000, 1000) is not None
        return self._known[model]

    def source(self, model: str) -> str:
        if model in self._overrides:
            return "user price"
        if self._endpoint.loopback:
            return "local model (free)"
        return "genai-prices" if self.known(model) else "unknown"

    def cost(self, model: str, prompt: int, completion: int, cached: int = 0, cache_write: int = 0) -> float | None:
        """``prompt`` counts every prompt token; ``cached``/``cache_write`` of them were read from or
        written to the provider's prompt cache (the library prices those; a user price does not
        tell them apart)."""
        if model in self._overrides:
            per_in, per_out = self._overrides[model]
            return (prompt * per_in + completion * per_out) / 1_000_000
        if self._endpoint.loopback:
            return 0.0
        if self._known.get(model) is False:
            return None
        return _library_cost(model, self._endpoint.provider, prompt, completion, cached, cache_write)

    def rates(self, model: str) -> tuple[float, float] | None:
        """USD per 1M prompt and completion tokens (what ``cheapest`` routing compares), None if unknown."""
        per_in = self.cost(model, 1000, 0)  # a thousand, not a million: long-context tiers cost more
        per_out = self.cost(model, 0, 1000)
        return None if per_in is None or per_out is None else (per_in * 1000, per_out * 1000)


def _library_cost(
    model: str, provider: str | None, prompt: int, completion: int, cached: int = 0, cache_write: int = 0
) -> float | None:
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    usage = Usage(
        input_tokens=prompt,
        output_tokens=completion,
        cache_read_tokens=cached or None,
        cache_write_tokens=cache_write or None,
    )
    try:
        price = calc_price(usage, model_ref=model, provider_id=provider)
    except (LookupError, ValueError):
        return None
    return float(price.total_price)
