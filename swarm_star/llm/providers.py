"""Model providers as data: what each speaks, where it lives, which key it gets.

A model reference is ``[provider:]model``. Each provider is a
:class:`ProviderProfile` (pydantic-ai's "profiles": quirks as data, not
branches): its protocol (OpenAI chat completions or Anthropic's Messages API),
its default URL and the variable that overrides it, the variable its key is
read from, its id in the price library, its default concurrency limit. A user
adjusts one, or adds one of their own, with
:class:`~swarm_star.models.providers.ProviderSettings` (``[providers.NAME]`` in
``swarm-star.toml``). A bare model name keeps going to the swarm's default
endpoint (:func:`~swarm_star.llm.endpoint.resolve_endpoint`).

**A key goes only to its provider.** A built-in provider's key variable
(``ANTHROPIC_API_KEY``…) is sent to that provider's own URL: its default, or the
one its own URL variable names (``ANTHROPIC_BASE_URL``), as ``OPENAI_API_KEY``
goes to ``OPENAI_BASE_URL``. A URL set in a config file gets no key unless the
same provider block names ``key_env`` (the explicit opt-in of ``--api-key-env``):
a ``swarm-star.toml`` checked into a repository cannot redirect your key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from swarm_star.errors import ConfigError
from swarm_star.llm.endpoint import NO_KEY, Endpoint, is_loopback
from swarm_star.models import ModelSettings

__all__ = [
    "LOCAL_DEFAULT_URL",
    "PROFILES",
    "ProviderEndpoint",
    "ProviderProfile",
    "known_providers",
    "resolve_provider",
    "split_ref",
]

LOCAL_DEFAULT_URL = "http://127.0.0.1:8080/v1"
"""llama.cpp's ``llama-server`` on its default port."""


@dataclass(frozen=True)
class ProviderProfile:
    """A built-in provider: everything about it that is a fact, not a choice."""

    name: str
    api: Literal["openai", "anthropic"]
    base_url: str
    url_env: str | None
    key_env: str | None
    price_id: str | None
    concurrency: int
    notes: str = ""


PROFILES: dict[str, ProviderProfile] = {
    p.name: p
    for p in (
        ProviderProfile(
            "openai", "openai", "https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY", "openai", 64
        ),
        ProviderProfile(
            "anthropic",
            "anthropic",
            "https://api.anthropic.com",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_API_KEY",
            "anthropic",
            16,
            "native Messages API (official SDK): structured output by a forced tool call",
        ),
        ProviderProfile(
            "openrouter",
            "openai",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_BASE_URL",
            "OPENROUTER_API_KEY",
            "openrouter",
            64,
        ),
        ProviderProfile("xai", "openai", "https://api.x.ai/v1", "XAI_BASE_URL", "XAI_API_KEY", "x-ai", 32),
        ProviderProfile(
            "google",
            "openai",
            "https://generativelanguage.googleapis.com/v1beta/openai",
            "GEMINI_BASE_URL",
            "GEMINI_API_KEY",
            "google",
            32,
            "Gemini through Google's OpenAI-compatible endpoint",
        ),
        ProviderProfile(
            "local",
            "openai",
            LOCAL_DEFAULT_URL,
            "SWARM_STAR_LOCAL_BASE_URL",
            None,
            None,
            1,
            "any OpenAI-compatible server you run (llama.cpp, vLLM, Ollama); no key unless you name one",
        ),
    )
}


def known_providers(settings: ModelSettings) -> set[str]:
    """Provider names a reference may start with: the built-in ones and the settings' own."""
    return set(PROFILES) | set(settings.providers)


def split_ref(ref: str, providers: Iterable[str]) -> tuple[str | None, str]:
    """``(provider, model)`` of a reference; ``(None, ref)`` when it names no known provider
    (a bare name, or a colon that is part of the model's name: ``llama3:8b``)."""
    head, sep, rest = ref.partition(":")
    if sep and rest and head in set(providers):
        return head, rest
    return None, ref


@dataclass(frozen=True)
class ProviderEndpoint:
    """A provider resolved against the settings and the environment, with where each value came from."""

    name: str
    api: Literal["openai", "anthropic"]
    endpoint: Endpoint
    concurrency: int
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    url_source: str = "default"
    key_source: str = "none"

    @property
    def url(self) -> str:
        return self.endpoint.url


def _check_key_destination(name: str, key_env: str, url: str, env: Mapping[str, str]) -> None:
    """A built-in provider's key variable goes only to that provider's own URL (its default, or
    the one its URL variable names), whichever provider block names it."""
    for owner in PROFILES.values():
        if owner.key_env != key_env:
            continue
        own = {owner.base_url.rstrip("/")}
        if owner.url_env and env.get(owner.url_env):
            own.add(env[owner.url_env].rstrip("/"))
        if url.rstrip("/") not in own:
            raise ConfigError(
                f"[providers.{name}] key_env {key_env}: that is {owner.name}'s key, and it goes only to "
                f"{owner.name}'s own URL ({owner.base_url}{f' or ${owner.url_env}' if owner.url_env else ''})"
            )


def resolve_provider(name: str, settings: ModelSettings, env: Mapping[str, str] | None = None) -> ProviderEndpoint:
    """Where provider ``name`` lives and which key it gets (see the module's key rule)."""
    env = os.environ if env is None else env
    profile = PROFILES.get(name)
    custom = settings.providers.get(name)
    if profile is None and custom is None:
        raise ConfigError(
            f"unknown provider {name!r}: use one of {', '.join(sorted(PROFILES))}, or add [providers.{name}] "
            "with a base_url to swarm-star.toml"
        )
    api = (custom.api if custom else None) or (profile.api if profile else "openai")
    if custom is not None and custom.base_url:
        url, url_source = custom.base_url, f"[providers.{name}] base_url"
    elif profile is not None and profile.url_env and env.get(profile.url_env):
        url, url_source = env[profile.url_env], f"${profile.url_env}"
    elif profile is not None:
        url, url_source = profile.base_url, "built-in default"
    else:
        raise ConfigError(f"provider {name!r} has no base_url: set one in [providers.{name}]")
    key, key_source = None, "none"
    if custom is not None and custom.key_env:
        _check_key_destination(name, custom.key_env, url, env)
        key = env.get(custom.key_env)
        if not key:
            raise ConfigError(f"[providers.{name}] key_env {custom.key_env}: that environment variable is not set")
        key_source = f"${custom.key_env}"
    elif profile is not None and profile.key_env and not (custom is not None and custom.base_url):
        key = env.get(profile.key_env) or None
        key_source = f"${profile.key_env}" if key else f"${profile.key_env} (not set)"
    if key is None and profile is not None and profile.key_env and url == profile.base_url:
        raise ConfigError(
            f"provider {name!r} needs a key: set {profile.key_env} (or point it at a server of your own with "
            f"{profile.url_env or f'[providers.{name}] base_url'})"
        )
    loopback = is_loopback(url)
    if custom is not None and custom.concurrency:
        concurrency = custom.concurrency
    else:
        concurrency = 1 if loopback else (profile.concurrency if profile else 64)
    endpoint = Endpoint(url, key or NO_KEY, None, settings.max_tokens, profile.price_id if profile else None)
    return ProviderEndpoint(
        name=name,
        api=api,
        endpoint=endpoint,
        concurrency=concurrency,
        prices=dict(custom.prices) if custom else {},
        url_source=url_source,
        key_source=key_source,
    )
