"""Which model endpoints, and which keys, the swarms a server runs may use: the operator's list.

Why a list: the server runs swarms for whoever reaches it, with the keys in its
own environment. A request that could name a base URL, or the variable a key is
read from, could have the server send any of its variables (``COSMOS_KEY``,
``OPENAI_API_KEY``) as a bearer key to a host of the request's choosing, and a
"not set" answer would tell it which variables exist. So the operator lists the
endpoints when starting ``serve`` (``--base-url``, repeatable; ``--api-key-env``
names the variable whose key those URLs get), and the endpoint the server's
environment configures (``OPENAI_*``, ``OPENROUTER_*``, each with its own
provider's key) is on the list too. A request picks one by its URL, or gets the
first; it never names a variable. Model references that name a provider
(``anthropic:claude-…``) are accepted only for the providers the server's
environment configures (the provider's key variable or URL variable is set),
and a request cannot define providers (``models.providers``): a provider's key
still goes only to that provider's URL, chosen by the operator. Every run the server starts (create, resume,
retry) resolves its endpoint through the list as well, whatever the swarm's
record says: a swarm recorded with an endpoint the operator did not list is
resumed from the CLI, not over HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import ValidationError

from swarm_star.errors import ConfigError, InputError
from swarm_star.llm.endpoint import resolve_endpoint
from swarm_star.llm.providers import PROFILES, split_ref
from swarm_star.llm.redact import strip_url_credentials
from swarm_star.models import ModelSettings
from swarm_star.models.providers import ROLES

__all__ = ["NO_ENDPOINT", "ServedEndpoints", "shown"]

NO_ENDPOINT = (
    "this server offers no model endpoint: start serve with --base-url URL, or with OPENAI_API_KEY, "
    "OPENAI_BASE_URL or OPENROUTER_API_KEY in its environment"
)


def _same(a: str, b: str) -> bool:
    """One endpoint written two ways: scheme and host case, a trailing slash."""

    def norm(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query

    return norm(a) == norm(b)


def shown(url: str) -> str:
    """A URL for a message: scheme, host, port and path only (a query or user part may hold a key)."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return url.strip().split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1][:200]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--base-url {shown(url)!r}: expected an http(s) URL such as http://127.0.0.1:8000/v1")
    if strip_url_credentials(url.strip()) != url.strip():  # a record would drop them silently: say so here
        raise ConfigError(f"--base-url {shown(url)!r}: must not embed credentials; give the key with --api-key-env")
    try:
        ModelSettings(base_url=url.strip())  # the record's own rules
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"--base-url {shown(url)!r}: {message}") from exc
    return url.strip()


@dataclass(frozen=True)
class ServedEndpoints:
    """The endpoints a server's swarms may use; made once, when the server starts."""

    urls: tuple[str, ...] = ()  # the operator's --base-url list; the first is the default
    key_env: str | None = None  # the variable whose key goes to ``urls`` (--api-key-env)
    default_model: str | None = None  # for requests that name no model (--model)
    env_url: str | None = None  # the endpoint the environment configures, if any
    providers: tuple[str, ...] = ()  # built-in providers the environment configures (a key or URL variable set)

    @classmethod
    def configure(
        cls,
        base_urls: Sequence[str] = (),
        key_env: str | None = None,
        default_model: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ServedEndpoints:
        """Check the operator's choice (a ConfigError names the flag) and find the environment's endpoint."""
        env = os.environ if env is None else env
        urls: list[str] = []
        for url in base_urls:
            checked = _checked_url(url)
            if not any(_same(checked, u) for u in urls):
                urls.append(checked)
        if key_env is not None:
            if not urls:
                raise ConfigError(f"--api-key-env {key_env} needs --base-url: keys go only to the URLs listed")
            if not env.get(key_env):
                raise ConfigError(f"--api-key-env {key_env}: that environment variable is not set")
        if default_model is not None and not default_model.strip():
            raise ConfigError("--model must not be empty")
        try:
            env_url: str | None = resolve_endpoint(ModelSettings(), env).url
        except ConfigError:
            env_url = None
        providers = tuple(
            sorted(
                p.name
                for p in PROFILES.values()
                if (p.key_env and env.get(p.key_env)) or (p.url_env and env.get(p.url_env))
            )
        )
        return cls(tuple(urls), key_env, default_model, env_url, providers)

    def _check_providers(self, models: ModelSettings, refused: str) -> None:
        """Every provider a model reference names must be one the environment configures."""
        if models.providers:
            raise InputError(refused)
        names = {models.default_model, *(m for role in ROLES for m in models.models_for(role))}
        for ref in sorted(names):
            provider, _ = split_ref(ref, PROFILES)
            if provider is not None and provider not in self.providers:
                offered = ", ".join(self.providers) or "none"
                raise InputError(
                    f"model {ref!r}: this server offers no {provider!r} provider (offered: {offered}; the operator "
                    f"configures one by setting its key or URL variable where serve runs)"
                )

    @property
    def offered(self) -> list[str]:
        """Every endpoint a request may name, the default first."""
        out = list(self.urls)
        if self.env_url is not None and not any(_same(self.env_url, u) for u in out):
            out.append(self.env_url)
        return out

    def for_request(self, models: ModelSettings) -> ModelSettings:
        """The model settings a swarm created over HTTP is recorded with.

        ``key_env`` is refused whatever it names (the answer is the same for a
        variable that exists and one that does not); ``base_url`` must be on
        the list; without one the swarm gets the first endpoint listed.
        """
        if models.key_env is not None:
            raise InputError(
                "models.key_env cannot be set over HTTP: the server's operator chooses which key goes to "
                "which endpoint (serve --base-url URL --api-key-env NAME)"
            )
        self._check_providers(
            models,
            "models.providers cannot be set over HTTP: the server's operator chooses the providers and their "
            "URLs (by the variables set where serve runs)",
        )
        offered = self.offered
        if not offered:
            raise InputError(NO_ENDPOINT)
        update: dict[str, object] = {}
        if models.base_url:
            chosen = next((u for u in offered if _same(models.base_url, u)), None)
            if chosen is None:
                raise InputError(
                    f"models.base_url {shown(models.base_url)!r} is not an endpoint this server offers: use one of "
                    f"{', '.join(shown(u) for u in offered)} (the operator lists them with serve --base-url)"
                )
            update["base_url"] = chosen
        elif self.urls:
            update["base_url"] = self.urls[0]
        if self.default_model is not None and "default_model" not in models.model_fields_set:
            update["default_model"] = self.default_model
        return models.model_copy(update=update)

    def for_run(self, models: ModelSettings, swarm_id: str) -> ModelSettings:
        """The model settings a run in this server uses: the recorded endpoint, if it is on the
        list, with the operator's key for it (a key variable in the record is never read here)."""
        self._check_providers(
            models,
            f"swarm {swarm_id} uses providers defined in a config file, which this server does not offer: "
            "resume it from the CLI",
        )
        url = models.base_url
        if url is None:
            if self.env_url is None:
                raise InputError(
                    f"swarm {swarm_id} uses the model endpoint of the environment it runs in, and this server's "
                    f"has none: resume it from the CLI, or {NO_ENDPOINT.split(': ', 1)[1]}"
                )
            return models.model_copy(update={"key_env": None})
        listed = next((u for u in self.urls if _same(url, u)), None)
        if listed is not None:
            return models.model_copy(update={"base_url": listed, "key_env": self.key_env})
        if self.env_url is not None and _same(url, self.env_url):
            return models.model_copy(update={"key_env": None})
        raise InputError(
            f"swarm {swarm_id} uses the model endpoint {shown(url)}, which this server does not offer: resume it "
            f"from the CLI, or start serve with --base-url {shown(url)}"
        )
