"""A swarm's model client across providers, and the policy that picks a model per call.

:class:`ModelRouter` has the surface of :class:`~swarm_star.llm.client.LLMClient`
(``chat``, ``models_for``, ``prices``, ``remember_mode``, ``redact``, ``aclose``),
so the engine does not know how many providers there are. Behind it there is
one client per provider (an ``LLMClient`` for OpenAI-compatible APIs, an
:class:`~swarm_star.llm.anthropic_client.AnthropicClient` for Anthropic's),
made on first use, each with its own key, URL, prices and concurrency limit. A
provider's limit is one semaphore in its one client, so it holds across every
role that names the provider. A bare model name goes to the default endpoint
(the OpenAI environment or ``--base-url``, as before); when that endpoint *is*
a named provider (same provider, same URL) both share the one client.

**Routing.** For a role with several models, :meth:`ModelRouter.route` orders
them for the next call and says why (the engine tries them in that order and
records the reason in the call's frame):

- ``ordered`` — as configured: the primary, then the fallbacks (the behaviour
  before routing existed);
- ``fastest`` — the lowest median latency measured in this swarm (a model not
  measured yet first, so it gets measured);
- ``cheapest`` — the lowest price of a nominal call (1,000 prompt + 250
  completion tokens) from the price table (``--price``, ``[providers.X.prices]``,
  the price library; a loopback server is free; an unknown price is last);
- ``best`` — the highest score ``0.6·health + 0.25·(fastest p50 / its p50) +
  0.15·(cheapest price / its price)``, unknown figures counted as good.

Under every data-driven policy a model whose health (see
:mod:`swarm_star.models.stats`) fell below one half goes behind the healthy ones,
so a failing endpoint loses traffic within a few calls; and a model that has
not been called in the last :data:`EXPLORE_AFTER` calls of the swarm is tried
first once (*exploration*), so an endpoint that recovered gets traffic again.
The figures are the swarm's own (:class:`~swarm_star.models.stats.StatsBook`,
updated from every call frame); a router made outside a swarm starts with none.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from swarm_star.errors import ConfigError
from swarm_star.llm.anthropic_client import AnthropicClient
from swarm_star.llm.client import ChatResult, Gate, LLMClient, max_tokens_for
from swarm_star.llm.endpoint import Endpoint, resolve_endpoint
from swarm_star.llm.prices import PriceBook
from swarm_star.llm.providers import ProviderEndpoint, known_providers, resolve_provider, split_ref
from swarm_star.llm.redact import known_secrets, redact
from swarm_star.models import ModelSettings
from swarm_star.models.providers import ROLES
from swarm_star.models.stats import StatsBook
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.tools import NativeTools

__all__ = ["DEFAULT", "EXPLORE_AFTER", "WEIGHTS", "ModelRouter", "Resolved", "RouterPrices"]

DEFAULT = ""
"""The provider key of bare model names: the default endpoint."""
EXPLORE_AFTER = 8
"""A model of a role not called in this many calls of the swarm is tried first once."""
WEIGHTS = (0.6, 0.25, 0.15)
"""``best``: weights of health, speed and price."""
NOMINAL_CALL = (1000, 250)
"""Prompt and completion tokens of the call ``cheapest`` and ``best`` price."""
UNHEALTHY = 0.5


@dataclass
class Resolved:
    """Every endpoint a router may call, keys included (in memory only): what a Ray worker gets."""

    default: Endpoint | None = None
    providers: dict[str, ProviderEndpoint] = field(default_factory=dict)


class RouterPrices:
    """Prices by model reference: a :class:`PriceBook` per provider (made without its client)."""

    def __init__(self, router: ModelRouter) -> None:
        self._router = router
        self._books: dict[str, PriceBook] = {}

    def _book(self, ref: str) -> tuple[PriceBook, str]:
        name, bare = self._router.split(ref)
        book = self._books.get(name)
        if book is None:
            book = self._books[name] = self._router.price_book(name)
        return book, bare

    def cost(self, model: str, prompt: int, completion: int, cached: int = 0, cache_write: int = 0) -> float | None:
        book, bare = self._book(model)
        return book.cost(bare, prompt, completion, cached, cache_write)

    def known(self, model: str) -> bool:
        book, bare = self._book(model)
        return book.known(bare)

    def source(self, model: str) -> str:
        book, bare = self._book(model)
        return book.source(bare)

    def rates(self, model: str) -> tuple[float, float] | None:
        book, bare = self._book(model)
        return book.rates(bare)


class ModelRouter:
    """The model client of a swarm: every provider its roles name, and a routing policy per role.

    ``env`` is read once, here (keys stay in memory, never in settings). Every
    provider the roles name is resolved at once, so a missing key or an unknown
    provider is a :class:`~swarm_star.errors.ConfigError` before anything runs.
    """

    def __init__(
        self,
        settings: ModelSettings,
        env: Mapping[str, str] | None = None,
        *,
        resolved: Resolved | None = None,
        stats: StatsBook | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats if stats is not None else StatsBook()
        self._known = known_providers(settings)
        self._clients: dict[str, Any] = {}
        self._explored: dict[str, int] = {}
        self.resolved = resolved if resolved is not None else self._resolve(os.environ if env is None else env)
        self._shared = self._shared_provider()
        keys = [p.endpoint.api_key for p in self.resolved.providers.values()]
        if self.resolved.default is not None:
            keys.append(self.resolved.default.api_key)
        self._secrets = known_secrets(extra=keys)
        self.prices = RouterPrices(self)

    # resolution

    def split(self, ref: str) -> tuple[str, str]:
        """``(provider key, model name sent)``; the provider key of a bare name is :data:`DEFAULT`."""
        name, bare = split_ref(ref, self._known)
        return (name or DEFAULT), bare

    def refs(self) -> list[str]:
        """Every model reference a role can call (the default model only if a role uses it: an
        action's own role name gets it too, resolved when first called)."""
        out: list[str] = []
        for role in ROLES:
            out += [m for m in self.settings.models_for(role) if m not in out]
        return out

    def _resolve(self, env: Mapping[str, str]) -> Resolved:
        resolved = Resolved()
        for ref in self.refs():
            name, _ = self.split(ref)
            if name == DEFAULT:
                if resolved.default is None:
                    resolved.default = resolve_endpoint(self.settings, env)
            elif name not in resolved.providers:
                resolved.providers[name] = resolve_provider(name, self.settings, env)
        return resolved

    def _shared_provider(self) -> str | None:
        """The named provider the default endpoint is (same provider, same URL), if any."""
        default = self.resolved.default
        if default is None or default.provider is None:
            return None
        named = self.resolved.providers.get(default.provider)
        if named is not None and named.url.rstrip("/") == default.url.rstrip("/"):
            return default.provider
        return None

    @property
    def endpoint(self) -> Endpoint:
        """The default endpoint (or, when every role names a provider, the first provider's)."""
        if self.resolved.default is not None:
            return self.resolved.default
        first = next(iter(self.resolved.providers.values()), None)
        if first is None:  # pragma: no cover - refs() always holds the default model
            raise ConfigError("no model endpoint configured")
        return first.endpoint

    def client(self, name: str) -> Any:
        """The one client of provider ``name`` (:data:`DEFAULT`: the default endpoint), made on first use."""
        if name == DEFAULT and self._shared is not None:
            name = self._shared
        client = self._clients.get(name)
        if client is not None:
            return client
        if name == DEFAULT:
            if self.resolved.default is None:
                self.resolved.default = resolve_endpoint(self.settings)
            client = LLMClient(self.resolved.default, self.settings)
        else:
            provider = self.resolved.providers.get(name)
            if provider is None:
                provider = self.resolved.providers[name] = resolve_provider(name, self.settings)
            limit = provider.concurrency
            if name == self._shared and self.settings.concurrency:
                limit = self.settings.concurrency
            settings = self.settings.model_copy(
                update={"concurrency": limit, "prices": self._prices_for(name, provider)}
            )
            maker = AnthropicClient if provider.api == "anthropic" else LLMClient
            client = maker(provider.endpoint, settings)
        self._clients[name] = client
        return client

    def price_book(self, name: str) -> PriceBook:
        """The prices of provider ``name`` (:data:`DEFAULT`: the default endpoint's)."""
        if name == DEFAULT and self._shared is not None:
            name = self._shared
        if name == DEFAULT:
            if self.resolved.default is None:
                self.resolved.default = resolve_endpoint(self.settings)
            return PriceBook(self.settings.prices, self.resolved.default)
        provider = self.resolved.providers.get(name)
        if provider is None:
            provider = self.resolved.providers[name] = resolve_provider(name, self.settings)
        return PriceBook(self._prices_for(name, provider), provider.endpoint)

    def _prices_for(self, name: str, provider: ProviderEndpoint) -> dict[str, tuple[float, float]]:
        """``--price`` entries for bare names and for ``name:model``, then the provider's own table."""
        out: dict[str, tuple[float, float]] = {}
        for model, price in self.settings.prices.items():
            owner, bare = split_ref(model, self._known)
            if owner in (None, name):
                out[bare] = price
        return {**out, **provider.prices}

    # the client surface the engine uses

    def models_for(self, role: str) -> list[str]:
        """The role's models; without any, the default model (for a bare default, the default
        endpoint's own model if the environment names one, ``OPENAI_MODEL``, as before)."""
        own = self.settings.own_models_for(role)
        if own:
            return own
        default = self.settings.default_model
        named = self.resolved.default.default_model if self.resolved.default is not None else None
        return [named if named and self.split(default)[0] == DEFAULT else default]

    def model_for(self, role: str) -> str:
        return self.models_for(role)[0]

    def max_tokens_for(self, purpose: Purpose | str | None, role: str) -> int:
        return max_tokens_for(purpose, role, self.settings, self.endpoint)

    def mode_for(self, model: str) -> str:
        name, bare = self.split(model)
        return str(self.client(name).mode_for(bare))

    def remember_mode(self, model: str, mode: str) -> None:
        """Start ``model`` at ``mode`` (a resumed swarm's recorded mode); a model whose provider
        is no longer configured is skipped."""
        try:
            name, bare = self.split(model)
            self.client(name).remember_mode(bare, mode)
        except ConfigError:
            return

    def price(self, model: str, prompt: int, completion: int) -> float:
        return self.prices.cost(model, prompt, completion) or 0.0

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        role: str = "worker",
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        model: str | None = None,
        purpose: Purpose | str | None = None,
        gate: Gate | None = None,
        native: NativeTools | None = None,
    ) -> ChatResult:
        """One logical call to ``model`` (default: the route's first choice for ``role``), through
        its provider's client; the result (and a failure's ``partial``) names the reference."""
        ref = model or self.route(role)[0][0]
        name, bare = self.split(ref)
        client = self.client(name)

        def gated(_model: str, prompt: int, cap: int) -> None:
            if gate is not None:
                gate(ref, prompt, cap)

        try:
            result: ChatResult = await client.chat(
                messages,
                role=role,
                schema=schema,
                temperature=temperature,
                max_tokens=max_tokens,
                stop=stop,
                model=bare,
                purpose=purpose,
                gate=gated if gate is not None else None,
                native=native,
            )
        except BaseException as exc:
            partial = getattr(exc, "partial", None)
            if isinstance(partial, ChatResult):
                partial.model = ref
            raise
        result.model = ref
        return result

    def saturated(self) -> bool:
        """Every client made so far is saturated (see :meth:`LLMClient.saturated`): with one
        that has a free slot, a call made now might not queue."""
        return bool(self._clients) and all(client.saturated() for client in self._clients.values())

    # routing

    def route(self, role: str) -> list[tuple[str, str | None]]:
        """The role's models in the order to try them for the next call, each with the reason."""
        refs = self.models_for(role)
        if len(refs) < 2:
            return [(refs[0], None)]
        policy = self.settings.policy_for(role)
        n = len(refs)
        if policy == "ordered":
            return [
                (ref, "ordered: primary" if i == 0 else f"ordered: fallback {i} of {n - 1}")
                for i, ref in enumerate(refs)
            ]
        facts = {ref: self._facts(ref) for ref in refs}
        if policy == "fastest":
            order = sorted(refs, key=lambda r: (facts[r]["sick"], facts[r]["p50"] or 0.0, refs.index(r)))
        elif policy == "cheapest":
            order = sorted(refs, key=lambda r: (facts[r]["sick"], facts[r]["price"], refs.index(r)))
        else:
            scores = self._scores(refs, facts)
            order = sorted(refs, key=lambda r: (facts[r]["sick"], -scores[r], refs.index(r)))
            for ref in refs:
                facts[ref]["score"] = scores[ref]
        explore = self._to_explore(order)
        if explore is not None:
            order.remove(explore)
            order.insert(0, explore)
        out: list[tuple[str, str | None]] = []
        for i, ref in enumerate(order):
            detail = _describe(policy, facts[ref])
            if i == 0 and ref == explore:
                why = f"{policy}: exploring, not called in the last {EXPLORE_AFTER} calls ({detail})"
            elif i == 0:
                why = f"{policy}: first choice ({detail})"
            else:
                why = f"{policy}: fallback {i} of {n - 1} ({detail})"
            out.append((ref, why))
        if explore is not None:
            self._explored[explore] = self.stats.seq
        return out

    def _facts(self, ref: str) -> dict[str, Any]:
        figures = self.stats.get(ref)
        try:
            cost = self.prices.cost(ref, *NOMINAL_CALL)
        except ConfigError:
            cost = None
        return {
            "health": figures.health if figures is not None else None,
            "sick": figures is not None and figures.health < UNHEALTHY,
            "p50": figures.p50 if figures is not None else None,
            "price": math.inf if cost is None else cost,
        }

    def _scores(self, refs: list[str], facts: dict[str, dict[str, Any]]) -> dict[str, float]:
        latencies = [f["p50"] for f in facts.values() if f["p50"]]
        prices = [f["price"] for f in facts.values() if f["price"] != math.inf]
        fastest = min(latencies) if latencies else None
        cheapest = min(prices) if prices else None
        w_health, w_speed, w_price = WEIGHTS
        out: dict[str, float] = {}
        for ref in refs:
            f = facts[ref]
            health = 1.0 if f["health"] is None else f["health"]
            speed = 1.0 if not f["p50"] or fastest is None else fastest / f["p50"]
            if f["price"] == math.inf:
                price = 0.5 if cheapest is not None else 1.0
            else:
                price = (cheapest + 1e-9) / (f["price"] + 1e-9) if cheapest is not None else 1.0
            out[ref] = w_health * health + w_speed * speed + w_price * price
        return out

    def _to_explore(self, order: list[str]) -> str | None:
        """A model behind the first that has not been called (or explored) for EXPLORE_AFTER calls."""
        now = self.stats.seq
        for ref in order[1:]:
            figures = self.stats.get(ref)
            if figures is None:
                continue  # never called: it waits its turn in the order (unknown figures count as good)
            last = max(figures.seq, self._explored.get(ref, 0))
            if now - last >= EXPLORE_AFTER:
                return ref
        return None


def _describe(policy: str, facts: dict[str, Any]) -> str:
    parts = []
    if facts["health"] is not None:
        parts.append(f"health {facts['health']:.2f}")
    parts.append(f"p50 {facts['p50']:.2f} s" if facts["p50"] else "not measured yet")
    price = facts["price"]
    parts.append("price unknown" if price == math.inf else f"${price:.6f} a call")
    if policy == "best" and "score" in facts:
        parts.insert(0, f"score {facts['score']:.2f}")
    return ", ".join(parts)
