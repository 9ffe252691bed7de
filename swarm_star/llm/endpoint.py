"""Which model endpoint to talk to, resolved from settings and the environment.

Keys are read from the environment at run time and kept only in memory: they
are never part of :class:`~swarm_star.models.ModelSettings`, so they cannot
reach the store, the history or a log line.

A provider's key goes only to that provider: ``OPENROUTER_API_KEY`` only to
OpenRouter's URL, ``OPENAI_API_KEY`` only to OpenAI or to the
``OPENAI_BASE_URL`` it is configured with. Any other base URL (say a
``--base-url`` on loopback) gets no key unless the user names one
explicitly with ``ModelSettings.key_env`` (``--api-key-env NAME``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from swarm_star.errors import ConfigError
from swarm_star.models import ModelSettings

__all__ = ["NO_ENDPOINT_MESSAGE", "NO_KEY", "Endpoint", "is_loopback", "resolve_endpoint"]

OPENROUTER_DEFAULT_URL = "https://openrouter.ai/api/v1"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
NO_KEY = "no-key-needed"
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
    provider: str | None = None  # "openai", "openrouter", or None for any other server

    @property
    def url(self) -> str:
        return self.base_url or OPENAI_DEFAULT_URL

    @property
    def loopback(self) -> bool:
        return is_loopback(self.url)


def _host(url: str | None) -> str:
    return (urlsplit(url or "").hostname or "").lower()


def is_loopback(url: str | None) -> bool:
    """Whether ``url`` points at this machine (a local model server)."""
    host = _host(url)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _same_url(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.rstrip("/") == b.rstrip("/")  # type: ignore[union-attr]


def resolve_endpoint(settings: ModelSettings, env: Mapping[str, str] | None = None) -> Endpoint:
    """Settings' base URL first, then ``OPENAI_*``, then ``OPENROUTER_*``; keys scoped to their provider."""
    env = os.environ if env is None else env
    max_tokens = settings.max_tokens
    explicit_key = None
    if settings.key_env:
        explicit_key = env.get(settings.key_env)
        if not explicit_key:
            raise ConfigError(f"--api-key-env {settings.key_env}: that environment variable is not set")
    base_url = settings.base_url or env.get("OPENAI_BASE_URL")
    openrouter_url = env.get("OPENROUTER_BASE_URL") or OPENROUTER_DEFAULT_URL
    if base_url:
        if _host(base_url) == _host(openrouter_url) or _same_url(base_url, openrouter_url):
            return _openrouter(env, base_url, explicit_key, max_tokens)
        provider = "openai" if _host(base_url) == _host(OPENAI_DEFAULT_URL) else None
        key = explicit_key
        if key is None and (provider == "openai" or _same_url(base_url, env.get("OPENAI_BASE_URL"))):
            key = env.get("OPENAI_API_KEY")
        return Endpoint(base_url, key or NO_KEY, env.get("OPENAI_MODEL"), max_tokens, provider)
    if explicit_key or env.get("OPENAI_API_KEY"):
        return Endpoint(None, explicit_key or env["OPENAI_API_KEY"], env.get("OPENAI_MODEL"), max_tokens, "openai")
    if env.get("OPENROUTER_API_KEY"):
        return _openrouter(env, openrouter_url, None, max_tokens)
    raise ConfigError(NO_ENDPOINT_MESSAGE)


def _openrouter(env: Mapping[str, str], url: str, explicit_key: str | None, max_tokens: int | None) -> Endpoint:
    raw_max = env.get("OPENROUTER_MAX_TOKENS")
    if raw_max:
        try:
            max_tokens = max_tokens or int(raw_max)
        except ValueError as exc:
            raise ConfigError(f"OPENROUTER_MAX_TOKENS must be an integer, got {raw_max!r}") from exc
    key = explicit_key or env.get("OPENROUTER_API_KEY") or NO_KEY
    return Endpoint(url, key, env.get("OPENROUTER_MODEL"), max_tokens, "openrouter")
