"""StochasticSwarm's library entry: fan-out synthesis called from a plain script.

Someone coming from StochasticSwarm writes ``stochasticswarm(prompt, n_runs=5)``
and reads ``result["final"]``, or fills a ``StochasticSwarmConfig`` and hands it
to ``run_stochasticswarm``. Both are synchronous (the seed's scripts have no
event loop) and run :func:`~swarm_star.primitives.fanout.fanout` over a
:class:`~swarm_star.llm.routing.ModelRouter`, so the endpoint, keys and model
come from the environment exactly as for ``swarm-star fanout``
(``OPENROUTER_API_KEY``, ``OPENROUTER_BASE_URL``, ``OPENROUTER_MODEL``, or the
``OPENAI_*`` ones).

The per-call cap follows the seed: ``max_tokens`` when given, else
``OPENROUTER_MAX_TOKENS``, else 30000 on OpenRouter (the seed's default). Other
endpoints keep the fan-out's own default (1024): OpenAI and small local servers
refuse or cannot hold 30000 completion tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from swarm_star import eventloop
from swarm_star.errors import InputError
from swarm_star.llm.endpoint import Endpoint
from swarm_star.llm.protocol import ModelClient
from swarm_star.models import ModelSettings
from swarm_star.primitives.fanout import Candidate, FanoutOptions, FanoutResult, client_ask, fanout, synthesize
from swarm_star.primitives.pool import DEFAULT_AGENT_MAX_TOKENS

__all__ = [
    "SEED_MAX_TOKENS",
    "StochasticSwarmConfig",
    "fanout_max_tokens",
    "run_fanout",
    "run_stochasticswarm",
    "stochasticswarm",
]

SEED_MAX_TOKENS = 30000
"""StochasticSwarm's per-call cap when ``OPENROUTER_MAX_TOKENS`` is not set."""


def fanout_max_tokens(endpoint: Endpoint | None, given: int | None) -> int:
    """The fan-out's per-call cap: given, else the endpoint's (``OPENROUTER_MAX_TOKENS``), else a default."""
    if given is not None:
        return given
    if endpoint is not None and endpoint.max_tokens:
        return endpoint.max_tokens
    if endpoint is not None and endpoint.provider == "openrouter":
        return SEED_MAX_TOKENS
    return DEFAULT_AGENT_MAX_TOKENS


@dataclass(frozen=True)
class StochasticSwarmConfig:
    """The seed's config object (its field names); :meth:`run` is the runner."""

    prompt: str
    n_runs: int = 5
    system_prompt: str | None = None
    stop: Sequence[str] = ()
    model: str | None = None
    max_tokens: int | None = None
    timeout: float = 60.0
    retries: int = 3
    base_url: str | None = None
    concurrency: int = 16
    candidate_temperature: float = 0.9
    synthesis_temperature: float = 0.2
    vote: bool = False

    def settings(self) -> ModelSettings:
        """The model settings: endpoint, timeout, retries; the model only when one is named."""
        if self.timeout <= 0 or self.retries < 0:
            raise InputError("timeout must be positive and retries at least 0")
        named = {"default_model": self.model} if self.model else {}
        return ModelSettings(
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.retries,
            concurrency=self.concurrency,
            **named,
        )

    def options(self, max_tokens: int | None = None) -> FanoutOptions:
        return FanoutOptions(
            n=self.n_runs,
            system=self.system_prompt,
            stop=tuple(self.stop),
            model=self.model,
            max_tokens=max_tokens if max_tokens is not None else self.max_tokens,
            candidate_temperature=self.candidate_temperature,
            synthesis_temperature=self.synthesis_temperature,
            concurrency=self.concurrency,
            mode="vote" if self.vote else "synthesis",
        )

    def run(self, env: Mapping[str, str] | None = None) -> FanoutResult:
        return run_stochasticswarm(self, env)


def run_fanout(
    settings: ModelSettings,
    prompt: str,
    options: FanoutOptions,
    *,
    previous: Sequence[Candidate] | None = None,
    env: Mapping[str, str] | None = None,
) -> FanoutResult:
    """Fan out (or only resynthesize ``previous``) over a fresh client, from synchronous code.

    The per-call cap is resolved against the endpoint here (:func:`fanout_max_tokens`)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise InputError("this entry is synchronous: in async code, await primitives.fanout(...)")
    from swarm_star.llm.routing import ModelRouter  # the SDKs load with it: only when a model is called

    client = ModelRouter(settings, env)
    capped = replace(options, max_tokens=fanout_max_tokens(client.resolved.default, options.max_tokens))

    async def go(model_client: ModelClient) -> FanoutResult:
        try:
            ask = client_ask(model_client, capped)
            if previous is not None:
                return await synthesize(ask, prompt, previous, capped)
            return await fanout(ask, prompt, capped)
        finally:
            await client.aclose()

    return eventloop.run(go(client))


def run_stochasticswarm(config: StochasticSwarmConfig, env: Mapping[str, str] | None = None) -> FanoutResult:
    """Run a :class:`StochasticSwarmConfig`; the result has ``.final``, ``.candidates``, ``.meta``."""
    result = run_fanout(config.settings(), config.prompt, config.options(), env=env)
    result.meta["prompt"] = config.prompt
    return result


def stochasticswarm(prompt: str, n_runs: int = 5, **options: Any) -> dict[str, Any]:
    """``{"final", "candidates", "meta"}`` for ``prompt`` from ``n_runs`` candidates; ``options`` are
    :class:`StochasticSwarmConfig`'s fields (``system_prompt``, ``stop``, ``model``, ``max_tokens``, ...)."""
    env = options.pop("env", None)
    try:
        config = StochasticSwarmConfig(prompt=prompt, n_runs=n_runs, **options)
    except TypeError as exc:
        raise InputError(f"stochasticswarm: {exc}") from None
    return run_stochasticswarm(config, env).to_json()
