"""Settings for several model providers in one swarm: providers, roles and routing policies.

A model is named by a *reference* ``[provider:]model`` (``anthropic:claude-sonnet-4-5``,
``local:smollm2``); a bare name goes to the swarm's default endpoint (``--base-url`` or
the ``OPENAI_*``/``OPENROUTER_*`` environment, as before). What a provider is (its
protocol, default URL, key variable) is data in :mod:`swarm_star.llm.providers`;
what a user changes about one (its URL, its concurrency limit, its prices) is a
:class:`ProviderSettings` here, stored with the swarm. Never a key: ``key_env``
names the variable.

Roles are the names actions ask models by. The command line and the config file
accept a few more words than the code has roles (``answer`` is the worker);
roles the code added later fall back to an older one when unset (a verifier is
the reviewer unless named), so a swarm configured before they existed behaves
the same.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "POLICIES",
    "ROLES",
    "ROLE_ALIASES",
    "ROLE_FALLBACK",
    "ProviderSettings",
    "RoutingPolicy",
    "canonical_role",
]

RoutingPolicy = Literal["ordered", "fastest", "cheapest", "best"]
POLICIES: tuple[str, ...] = ("ordered", "fastest", "cheapest", "best")

ROLES: tuple[str, ...] = ("planner", "router", "worker", "reviewer", "verifier", "coder", "synthesizer")
"""Every role a model list can be given for (``--role-model ROLE=M``, ``[roles]`` in the config file)."""

ROLE_ALIASES = {"answer": "worker", "answerer": "worker", "review": "reviewer", "plan": "planner"}
"""Words accepted for a role on the command line and in the config file."""

ROLE_FALLBACK = {"verifier": "reviewer", "coder": "worker", "synthesizer": "worker"}
"""A role with no models of its own uses another's: what each did before it existed."""


def canonical_role(name: str) -> str | None:
    """The role ``name`` stands for (aliases resolved), or None if it is no role."""
    name = name.strip().lower()
    name = ROLE_ALIASES.get(name, name)
    return name if name in ROLES else None


class ProviderSettings(BaseModel):
    """What a user sets for one provider (a built-in one such as ``anthropic``, or one of
    their own, e.g. ``gpu`` for a vLLM server). Unset fields come from the built-in
    profile of the same name, else from an OpenAI-compatible default."""

    model_config = ConfigDict(extra="forbid")

    api: Literal["openai", "anthropic"] | None = Field(
        None, description="protocol: OpenAI chat completions or Anthropic's Messages API"
    )
    base_url: str | None = Field(None, description="where it is served (overrides the profile and its variable)")
    key_env: str | None = Field(
        None, description="variable whose key is sent there (a URL set here gets no key without it)"
    )
    concurrency: int | None = Field(None, ge=1, description="requests in flight to this provider, all roles together")
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="model -> (USD per 1M prompt, per 1M completion tokens)"
    )

    @field_validator("base_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        from swarm_star.llm.redact import strip_url_credentials  # the llm package imports this module

        return strip_url_credentials(value) if value else value

    @field_validator("prices")
    @classmethod
    def _prices_not_negative(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        if any(p < 0 or c < 0 for p, c in value.values()):
            raise ValueError("prices are USD per 1M tokens, not negative")
        return value
