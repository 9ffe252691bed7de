"""Which models a swarm uses, from the project file, ``.env`` and the command line — and where each
value came from.

Layers, lowest first: the defaults; ``swarm-star.toml`` (in the working
directory, or ``--config FILE``); the command line (``--model M`` gives every
role M, ``--role-model ROLE=M`` — repeatable, primary first — one role, and the
model-call flags). ``.env`` in the working directory is read with python-dotenv
and never overrides a variable the environment already has; keys stay in the
environment (never in settings, never stored).

The project file::

    [models]
    default = "openai:gpt-4.1-mini"      # every role without its own list
    max_call_tokens = 1024               # also timeout, concurrency, retries, retry_timeouts, base_url

    [roles]                              # primary first, then fallbacks
    planner = ["anthropic:claude-sonnet-4-5", "openai:gpt-4.1"]
    router = "openai:gpt-4.1-mini"
    worker = "local:qwen2.5-7b"

    [routing]
    policy = "ordered"                   # ordered | fastest | cheapest | best
    roles = { worker = "best" }

    [providers.local]                    # adjust a built-in provider, or add your own
    base_url = "http://127.0.0.1:8080/v1"
    concurrency = 4
    prices = { "qwen2.5-7b" = [0.0, 0.0] }

    [limits]                             # any field of Limits
    max_cost = 2.0

    [mcp.servers.files]                  # read and shown; MCP tools are not wired in yet
    command = ["mcp-server-filesystem", "."]

:func:`model_setup` resolves all of it (the CLI's ``run``, ``doctor``, ``fanout``
and ``models``); :func:`models_report` is what ``swarm-star models`` shows:
the resolved roles, providers and prices with their sources, and the figures
each model reference earned in the swarms of the space.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from swarm_star.errors import ConfigError, InputError, SwarmStarError
from swarm_star.llm.endpoint import resolve_endpoint
from swarm_star.llm.prices import PriceBook
from swarm_star.llm.providers import PROFILES, known_providers, resolve_provider, split_ref
from swarm_star.models import Limits, ModelSettings
from swarm_star.models.providers import ROLE_FALLBACK, ROLES, ProviderSettings, RoutingPolicy, canonical_role
from swarm_star.models.stats import StatsBook
from swarm_star.state.history import SwarmLog
from swarm_star.store import StoreLocator

__all__ = [
    "CONFIG_NAME",
    "ENV_NAME",
    "ModelSetup",
    "ProjectConfig",
    "find_config",
    "load_env_file",
    "model_setup",
    "models_report",
    "parse_role_models",
    "read_config",
    "space_figures",
    "unpriced_models",
    "with_flags",
]

CONFIG_NAME = "swarm-star.toml"
ENV_NAME = ".env"


class _Models(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str | None = None
    base_url: str | None = None
    max_call_tokens: int | None = Field(None, ge=1)
    timeout: float | None = Field(None, gt=0)
    concurrency: int | None = Field(None, ge=1)
    retries: int | None = Field(None, ge=0)
    retry_timeouts: bool | None = None


class _Routing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: RoutingPolicy | None = None
    roles: dict[str, RoutingPolicy] = Field(default_factory=dict)


class _Mcp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    servers: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ProjectConfig(BaseModel):
    """``swarm-star.toml``: every section optional, unknown keys refused (a typo is an error)."""

    model_config = ConfigDict(extra="forbid")

    models: _Models = Field(default_factory=_Models)
    roles: dict[str, str | list[str]] = Field(default_factory=dict)
    routing: _Routing = Field(default_factory=_Routing)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    limits: dict[str, Any] = Field(default_factory=dict)
    mcp: _Mcp = Field(default_factory=_Mcp)


@dataclass
class ModelSetup:
    """Resolved model settings, the config file's limits, and where each value came from."""

    settings: ModelSettings
    limits: Limits | None = None
    sources: dict[str, str] = field(default_factory=dict)
    config_path: Path | None = None
    mcp_servers: list[str] = field(default_factory=list)


def load_env_file(directory: str | Path | None = None) -> tuple[Path | None, list[str]]:
    """Read ``.env`` of ``directory`` (default: the working directory) into the environment
    without overriding what is already set; ``(path, names it set)`` (names only, never values)."""
    path = Path(directory or ".") / ENV_NAME
    if not path.is_file():
        return None, []
    from dotenv import dotenv_values, load_dotenv

    before = set(os.environ)
    try:
        names = [name for name, value in dotenv_values(path).items() if value is not None and name not in before]
        load_dotenv(path, override=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from exc
    return path, sorted(names)


def find_config(given: str | Path | None, directory: str | Path | None = None) -> Path | None:
    """``--config FILE`` (it must exist), else ``swarm-star.toml`` in ``directory`` if there is one."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise InputError(f"--config {given}: no such file")
        return path
    found = Path(directory or ".") / CONFIG_NAME
    return found if found.is_file() else None


def read_config(path: Path) -> ProjectConfig:
    """Parse and check a project file; a mistake is one line naming the file and the key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from exc
    try:
        config = ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "file"
        raise InputError(f"{path}: {where}: {first['msg']}") from exc
    for name in config.roles:
        if canonical_role(name) is None:
            raise InputError(f"{path}: roles.{name}: not a role (roles: {', '.join(ROLES)}; 'answer' is the worker)")
    for name in config.routing.roles:
        if canonical_role(name) is None:
            raise InputError(f"{path}: routing.roles.{name}: not a role (roles: {', '.join(ROLES)})")
    return config


def _model_list(value: str | list[str], what: str) -> list[str]:
    models = [value] if isinstance(value, str) else list(value)
    if not models or not all(isinstance(m, str) and m.strip() for m in models):
        raise InputError(f"{what}: expected a model or a list of models, primary first")
    return [m.strip() for m in models]


def parse_role_models(specs: Sequence[str]) -> dict[str, list[str]]:
    """``--role-model ROLE=M[,M2…]`` (repeatable; repeats of a role append fallbacks)."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, models = spec.partition("=")
        role = canonical_role(name)
        if not sep or role is None or not models.strip():
            raise InputError(
                f"--role-model {spec!r}: expected ROLE=MODEL with ROLE one of {', '.join(ROLES)} "
                "(answer = worker), e.g. planner=anthropic:claude-sonnet-4-5"
            )
        out.setdefault(role, []).extend(_model_list(models.split(","), f"--role-model {spec!r}"))
    return out


def model_setup(
    config_path: Path | None,
    *,
    model: str | None = None,
    role_models: Sequence[str] = (),
    base_url: str | None = None,
) -> ModelSetup:
    """The model settings of a new swarm: defaults, then the project file, then the flags."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    limits: Limits | None = None
    mcp: list[str] = []
    if config_path is not None:
        config = read_config(config_path)
        where = str(config_path)
        section = config.models
        for key, name in (
            ("default", "default_model"),
            ("base_url", "base_url"),
            ("max_call_tokens", "max_tokens"),
            ("timeout", "timeout"),
            ("concurrency", "concurrency"),
            ("retries", "max_retries"),
            ("retry_timeouts", "retry_timeouts"),
        ):
            value = getattr(section, key)
            if value is not None:
                values[name] = value
                sources[name] = f"{where} [models] {key}"
        for name, value in config.roles.items():
            role = canonical_role(name) or name
            values[role] = _model_list(value, f"{where}: roles.{name}")
            sources[role] = f"{where} [roles] {name}"
        if config.routing.policy is not None:
            values["routing"] = config.routing.policy
            sources["routing"] = f"{where} [routing] policy"
        if config.routing.roles:
            values["role_routing"] = {canonical_role(k) or k: v for k, v in config.routing.roles.items()}
            for name in values["role_routing"]:
                sources[f"routing.{name}"] = f"{where} [routing.roles]"
        if config.providers:
            values["providers"] = config.providers
            for name in config.providers:
                sources[f"providers.{name}"] = f"{where} [providers.{name}]"
        if config.prices:
            values["prices"] = dict(config.prices)
            for name in config.prices:
                sources[f"prices.{name}"] = f"{where} [prices]"
        if config.limits:
            try:
                limits = Limits.model_validate(config.limits)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise InputError(f"{where}: limits.{first['loc'][0]}: {first['msg']}") from exc
        mcp = sorted(config.mcp.servers)
    settings = _validated(values)
    settings = with_flags(settings, model=model, role_models=role_models, base_url=base_url, sources=sources)
    return ModelSetup(settings, limits, sources, config_path, mcp)


def with_flags(
    settings: ModelSettings,
    *,
    model: str | None = None,
    role_models: Sequence[str] = (),
    base_url: str | None = None,
    sources: dict[str, str] | None = None,
) -> ModelSettings:
    """``settings`` with ``--model`` (every role's model), ``--role-model`` and ``--base-url`` applied
    (``resume``: for that run only); ``sources`` notes where the changed values came from."""
    sources = {} if sources is None else sources
    values = settings.model_dump(exclude_unset=False)
    if model:
        values["default_model"] = model
        sources["default_model"] = "--model"
        for role in ROLES:  # --model M is every role's model
            values[role] = None
            sources.pop(role, None)
    for role, models in parse_role_models(role_models).items():
        values[role] = models
        sources[role] = "--role-model"
    if base_url:
        values["base_url"] = base_url
        sources["base_url"] = "--base-url"
    return settings if values == settings.model_dump() else _validated(values)


def _validated(values: dict[str, Any]) -> ModelSettings:
    try:
        return ModelSettings.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"invalid model setting {where}: {first['msg'].removeprefix('Value error, ')}") from exc


def unpriced_models(settings: ModelSettings, env: Mapping[str, str] | None = None) -> list[str]:
    """Every provider the settings name is resolved (a ConfigError now, before a swarm is
    created); the model references whose price is unknown."""
    from swarm_star.llm.routing import ModelRouter

    router = ModelRouter(settings, env)
    return sorted(ref for ref in router.refs() if not router.prices.known(ref))


# swarm-star models


def _policy_source(settings: ModelSettings, role: str, sources: dict[str, str]) -> str:
    """Where ``role``'s routing policy came from (the chain of :meth:`ModelSettings.policy_for`)."""
    seen: set[str] = set()
    while role not in seen:
        seen.add(role)
        if role in settings.role_routing:
            return sources.get(f"routing.{role}", "stored settings")
        if role in ROLES and getattr(settings, role, None):
            break
        role = ROLE_FALLBACK.get(role, role)
    return sources.get("routing", "built-in default")


def space_figures(locator: StoreLocator, swarm_id: str | None = None) -> tuple[StatsBook, int]:
    """The figures model references earned in one swarm, or in every swarm of the space
    (read from each swarm's stored projection, no replay); and how many swarms that was."""
    books: list[StatsBook] = []
    ids = [swarm_id] if swarm_id is not None else locator.list_swarm_ids()
    for sid in ids:
        try:
            with locator.open(sid) as store:
                meta = SwarmLog(store).read_meta() or {}
        except SwarmStarError:
            if swarm_id is not None:
                raise
            continue
        raw = meta.get("endpoints")
        if isinstance(raw, dict):
            try:
                books.append(StatsBook.model_validate(raw))
            except ValidationError:
                continue
    return StatsBook.merged(books), len(books)


def models_report(
    setup: ModelSetup,
    figures: StatsBook,
    *,
    env: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    env_loaded: Sequence[str] = (),
) -> dict[str, Any]:
    """What ``swarm-star models`` shows (its ``--json``): roles, providers, models, and figures.
    A provider that cannot be resolved (a key not set) is shown with its error, not raised."""
    env = os.environ if env is None else env
    settings, sources = setup.settings, setup.sources
    roles: list[dict[str, Any]] = []
    for role in ROLES:
        own = getattr(settings, role)
        chosen = settings.models_for(role)
        if own:
            origin = sources.get(role, "stored settings")
        elif role in ROLE_FALLBACK and chosen != [settings.default_model]:
            origin = f"the {ROLE_FALLBACK[role]}'s (none of its own)"
        else:
            origin = f"default model ({sources.get('default_model', 'built-in default')})"
        policy = settings.policy_for(role)
        roles.append(
            {
                "role": role,
                "models": chosen,
                "policy": policy,
                "from": origin,
                "policy_from": _policy_source(settings, role, sources),
            }
        )
    known = known_providers(settings)
    refs: list[str] = []
    for shown in roles:
        refs += [m for m in shown["models"] if m not in refs]
    providers: dict[str, dict[str, Any]] = {}
    books: dict[str, PriceBook | None] = {}
    for ref in refs:
        name, _ = split_ref(ref, known)
        key = name or "(default)"
        if key in providers:
            continue
        row: dict[str, Any] = {"name": key}
        try:
            if name is None:
                endpoint = resolve_endpoint(settings, env)
                row.update(
                    api="openai",
                    url=endpoint.url,
                    url_from=sources.get("base_url", "$OPENAI_BASE_URL / $OPENROUTER_* / built-in default"),
                    key="set" if endpoint.api_key != "no-key-needed" else "none",
                    limit=settings.concurrency or (1 if endpoint.loopback else 64),
                )
                books[key] = PriceBook(settings.prices, endpoint)
            else:
                resolved = resolve_provider(name, settings, env)
                row.update(
                    api=resolved.api,
                    url=resolved.url,
                    url_from=resolved.url_source,
                    key=resolved.key_source,
                    limit=resolved.concurrency,
                    limit_from=sources.get(f"providers.{name}", "built-in default")
                    if name in settings.providers and settings.providers[name].concurrency
                    else "built-in default",
                    notes=PROFILES[name].notes if name in PROFILES else "",
                )
                prices = {
                    bare: price
                    for model, price in settings.prices.items()
                    for owner, bare in [split_ref(model, known)]
                    if owner in (None, name)
                }
                books[key] = PriceBook({**prices, **resolved.prices}, resolved.endpoint)
        except ConfigError as exc:
            row["error"] = str(exc)
            books[key] = None
        providers[key] = row
    models: list[dict[str, Any]] = []
    for ref in refs:
        name, bare = split_ref(ref, known)
        book = books.get(name or "(default)")
        entry: dict[str, Any] = {"ref": ref, "provider": name or "(default)"}
        if book is not None:
            entry["price"] = book.rates(bare)
            entry["price_from"] = book.source(bare)
        found = figures.get(ref)
        entry["figures"] = found.summary() if found is not None else None
        models.append(entry)
    return {
        "config": str(setup.config_path) if setup.config_path else None,
        "env_file": str(env_file) if env_file else None,
        "env_loaded": list(env_loaded),
        "routing": settings.routing,
        "roles": roles,
        "providers": list(providers.values()),
        "models": models,
        "mcp_servers": setup.mcp_servers,
    }
