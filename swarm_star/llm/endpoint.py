"""Which model endpoint to talk to, resolved from settings and the environment.

Keys are read from the environment at run time and kept only in memory: they
are never part of :class:`~swarm_star.models.ModelSettings`, so they cannot
reach the store, the history or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from swarm_star.errors import ConfigError
from swarm_star.models import ModelSettings

__all__ = ["NO_ENDPOINT_MESSAGE", "Endpoint", "resolve_endpoint"]

OPENROUTER_DEFAULT_URL = "https://openrouter.ai/api/v1"
NO_ENDPOINT_MESSAGE = (
    "no model endpoint configured: set OPENAI_API_KEY (OpenAI), OPENROUTER_API_KEY "
    "(OpenRouter), or OPENAI_BASE_URL for a local server such as vLLM, Ollama or llama.cpp"
)


@dataclass(frozen=True)
class Endpoint:
    """A resolved endpoint. ``api_key`` is excluded from repr so it never gets printed."""

    base_url: str | None
    api_key: str = field(repr=False)
    default_model: str | None
    max_tokens: int | None = None


def resolve_endpoint(settings: ModelSettings, env: Mapping[str, str] | None = None) -> Endpoint:
    """Settings' base URL first, then ``OPENAI_*``, then ``OPENROUTER_*``."""
    env = os.environ if env is None else env
    base_url = settings.base_url or env.get("OPENAI_BASE_URL")
    max_tokens = settings.max_tokens
    if base_url:
        key = env.get("OPENAI_API_KEY") or env.get("OPENROUTER_API_KEY") or "no-key-needed"
        return Endpoint(base_url, key, env.get("OPENAI_MODEL"), max_tokens)
    if env.get("OPENAI_API_KEY"):
        return Endpoint(None, env["OPENAI_API_KEY"], env.get("OPENAI_MODEL"), max_tokens)
    if env.get("OPENROUTER_API_KEY"):
        raw_max = env.get("OPENROUTER_MAX_TOKENS")
        if raw_max:
            try:
                max_tokens = max_tokens or int(raw_max)
            except ValueError as exc:
                raise ConfigError(f"OPENROUTER_MAX_TOKENS must be an integer, got {raw_max!r}") from exc
        return Endpoint(
            env.get("OPENROUTER_BASE_URL") or OPENROUTER_DEFAULT_URL,
            env["OPENROUTER_API_KEY"],
            env.get("OPENROUTER_MODEL"),
            max_tokens,
        )
    raise ConfigError(NO_ENDPOINT_MESSAGE)
