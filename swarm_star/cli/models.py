"""CLI pieces about models: the per-call flags, prices, ``doctor`` and ``models``.

Registered by :mod:`swarm_star.cli.parser` (``add_model_commands``); ``run``,
``resume`` and ``retry`` add ``add_model_flags``. Heavy imports (the openai SDK,
the price library) happen inside the commands, so ``swarm-star --help``
stays fast.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any, TextIO

from swarm_star.cli.flags import config_flag, model_flags
from swarm_star.errors import ConfigError, ExitCode, InputError, ModelError, ModelUnreachable

if TYPE_CHECKING:
    from swarm_star.models import Limits, ModelSettings

__all__ = [
    "add_model_commands",
    "add_model_flags",
    "check_prices",
    "model_settings_from",
    "use_served_model",
]


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """``--max-call-tokens``, ``--timeout``, ``--model-concurrency`` and friends (run/resume/retry/doctor)."""
    g = p.add_argument_group("model calls")
    g.add_argument("--max-call-tokens", type=int, metavar="N", help="cap every completion at N tokens")
    g.add_argument(
        "--timeout",
        type=float,
        metavar="SEC",
        help="end a request when its reply has not started, or no new token came, for SEC (default 60)",
    )
    g.add_argument(
        "--min-rate",
        type=float,
        metavar="TOK_S",
        help="tokens/s a reply must average: a request may take --timeout + its max tokens / TOK_S in all (default 2)",
    )
    g.add_argument(
        "--model-concurrency",
        type=int,
        metavar="N",
        help="requests in flight to the endpoint (default 1 on loopback, 64 elsewhere)",
    )
    g.add_argument(
        "--retry-timeouts",
        action="store_true",
        default=None,
        help="retry timed-out requests on a local server too (off by default there)",
    )
    g.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="send the key in $NAME to --base-url (keys otherwise go only to their own provider)",
    )
    g.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="MODEL=IN,OUT",
        help="USD per 1M prompt,completion tokens for MODEL (repeatable; overrides the price library)",
    )


def _prices(specs: list[str]) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for spec in specs:
        model, _, pair = spec.partition("=")
        parts = pair.split(",")
        try:
            if not model.strip() or len(parts) != 2:
                raise ValueError
            prompt, completion = float(parts[0]), float(parts[1])
            if prompt < 0 or completion < 0:
                raise ValueError
        except ValueError:
            raise InputError(
                f"--price {spec!r}: expected MODEL=IN,OUT in USD per 1M tokens, e.g. gpt-4o=2.5,10"
            ) from None
        out[model.strip()] = (prompt, completion)
    return out


def model_settings_from(args: argparse.Namespace, base: ModelSettings) -> ModelSettings:
    """``base`` with the model flags given on the command line applied."""
    from pydantic import ValidationError

    from swarm_star.models import ModelSettings

    changes: dict[str, Any] = {}
    for flag, name in (
        ("max_call_tokens", "max_tokens"),
        ("timeout", "timeout"),
        ("min_rate", "min_rate"),
        ("model_concurrency", "concurrency"),
        ("retry_timeouts", "retry_timeouts"),
        ("api_key_env", "key_env"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "price", None):
        changes["prices"] = {**base.prices, **_prices(args.price)}
    if not changes:
        return base
    try:
        return ModelSettings.model_validate({**base.model_dump(), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"invalid model setting {first['loc'][0]}: {first['msg']}") from exc


def note_stripped_url(given: str | None, models: ModelSettings, err: TextIO) -> None:
    """Say so when ``--base-url`` carried credentials that the settings stripped (they would be stored)."""
    if given and models.base_url != given:
        err.write(
            f"swarm-star: note: --base-url: credentials removed from the URL, which is stored and shown as "
            f"{models.base_url}; give a key with --api-key-env NAME\n"
        )


def use_served_model(models: ModelSettings, given: str | None, err: TextIO) -> ModelSettings:
    """``models`` naming the one model a server of the user's own serves, when none was given
    (``--model``, ``OPENAI_MODEL``); said once on ``err``. Several served and none given is a
    usage error listing them; an endpoint that cannot be reached is exit 5 before anything starts.
    (``run``, ``fanout`` and ``doctor`` agree: see :mod:`swarm_star.llm.served`.)"""
    from swarm_star import eventloop
    from swarm_star.llm import LLMClient, resolve_endpoint
    from swarm_star.llm.served import asks_server_for_model, pick_served_model, served_models

    endpoint = resolve_endpoint(models)
    if not asks_server_for_model(endpoint, given):
        return models

    async def ask() -> list[str] | None:
        client = LLMClient(endpoint, models)
        try:
            return await served_models(client)
        finally:
            await client.aclose()

    try:
        name = pick_served_model(eventloop.run(ask()), endpoint.url)
    except ModelUnreachable as exc:
        raise ModelUnreachable(f"{exc}; nothing was started") from None
    if name is None:
        return models
    err.write(f"swarm-star: note: no --model given: {endpoint.url} serves one model, {name}; using it\n")
    return models.model_copy(update={"default_model": name})


def check_prices(models: ModelSettings, limits: Limits | None, err: TextIO | None = None) -> list[str]:
    """Models of this swarm whose price is unknown (every provider its roles name is resolved
    first: a missing key is an error now). With ``--max-cost`` that is an error (the limit could
    never fire); otherwise it is said once on ``err``."""
    from swarm_star.api import unpriced_models

    unknown = unpriced_models(models)
    if unknown and limits is not None and limits.max_cost is not None:
        raise ConfigError(
            f"--max-cost needs prices, and none is known for {', '.join(unknown)}: "
            f"give one with --price {unknown[0]}=IN,OUT (USD per 1M tokens)"
        )
    if unknown and err is not None:
        err.write(f"note: no known price for {', '.join(unknown)}: its cost is not counted (set one with --price)\n")
    return unknown


def add_model_commands(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="probe the model endpoint once: reachable, model, structured-output mode, latency",
        description="Send one small structured request to the configured endpoint and report what works.",
    )
    p.set_defaults(handler=cmd_doctor)
    p.add_argument("--model", metavar="M", help="model to probe, as [provider:]model (default: the configured one)")
    p.add_argument("--base-url", metavar="URL", help="OpenAI-compatible endpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    config_flag(p)
    add_model_flags(p)

    p = sub.add_parser(
        "models",
        help="show the resolved models: roles, providers, prices, where each came from, and each one's figures",
        description="Resolve the model configuration as run would (swarm-star.toml or --config, .env, the flags) "
        "and show every role's models and routing policy, every provider's URL, key variable and limit, "
        "every model's price, where each value came from, and the figures each model earned in the swarms "
        "of the space (success, latency, tokens/s, cost per call).",
    )
    p.set_defaults(handler=cmd_models)
    model_flags(p, resume=False)
    config_flag(p)
    p.add_argument("--swarm", metavar="ID", help="figures of this swarm only (default: every swarm of the space)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


# doctor


async def _probe(models: ModelSettings, model: str | None) -> dict[str, Any]:
    import asyncio

    from pydantic import BaseModel

    from swarm_star.llm.client import _connection_reason
    from swarm_star.llm.routing import ModelRouter
    from swarm_star.llm.served import asks_server_for_model, pick_served_model

    class Probe(BaseModel):
        ok: bool
        word: str

    router = ModelRouter(models)
    provider, _ = router.split(model or router.model_for("worker"))
    client = router.client(provider)
    endpoint = client.endpoint
    report: dict[str, Any] = {
        "provider": provider or "(default)",
        "endpoint": endpoint.url,
        "loopback": endpoint.loopback,
        "key": "none" if endpoint.api_key == "no-key-needed" else "set",
        "concurrency": client.concurrency,
        "timeout_s": models.timeout,
        "min_rate": models.min_rate,
        "retry_timeouts": client.retry_timeouts,
    }
    try:
        try:
            listed = await asyncio.wait_for(client._client.models.list(), models.timeout)
            report["models"] = [m.id for m in listed.data][:20]
        except Exception as exc:  # an endpoint without /models is still usable; the chat probe decides
            reason = _connection_reason(exc)
            if reason in ("connection refused", "host not found (DNS)"):  # nothing to probe: say so at once
                report.update(
                    model=model or router.model_for("worker"),
                    reachable=False,
                    error=f"model endpoint unreachable: {reason} ({endpoint.url})",
                )
                return report
            report["models_error"] = client.redact(f"{type(exc).__name__}: {exc}")[:200]
        # the model run and fanout would use: given, else the one a server of the user's own serves
        served = report.get("models") if asks_server_for_model(endpoint, model) else None
        listed = pick_served_model(served, endpoint.url)
        if listed and provider:
            listed = f"{provider}:{listed}"
        name = model or listed or router.model_for("worker")
        report["model"] = name
        started = time.perf_counter()
        try:
            result = await router.chat(
                [{"role": "user", "content": 'Reply with {"ok": true, "word": "ready"}.'}],
                schema=Probe,
                model=name,
                max_tokens=48,
                purpose="doctor probe",
            )
        except ModelError as exc:
            report.update(reachable=not isinstance(exc, ModelUnreachable), error=str(exc))
            partial = getattr(exc, "partial", None)
            if partial is not None:
                report["attempts"] = [a.model_dump(exclude_defaults=True) for a in partial.attempt_log]
            return report
        report.update(
            reachable=True,
            mode=result.mode,
            latency_s=round(time.perf_counter() - started, 3),
            tokens=result.usage.tokens,
            attempts=[a.model_dump(exclude_defaults=True) for a in result.attempt_log],
            price=router.prices.source(name),
            streamed=client.streams(name) if hasattr(client, "streams") else False,
        )
        return report
    finally:
        await router.aclose()


def cmd_doctor(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star import eventloop
    from swarm_star.api import find_config, load_env_file, model_setup

    load_env_file()
    setup = model_setup(find_config(args.config), model=args.model, base_url=args.base_url)
    models = model_settings_from(args, setup.settings)
    note_stripped_url(args.base_url, models, err)
    report = eventloop.run(_probe(models, args.model))
    ok = "mode" in report
    # the exit table's codes: an endpoint that cannot be reached is 5, as for `run`
    failed = ExitCode.FAILURE if report.get("reachable") else ExitCode.UNREACHABLE
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
        return ExitCode.OK if ok else failed
    where = "loopback" if report["loopback"] else "remote"
    out.write(f"endpoint     {report['endpoint']} ({where}, key: {report['key']})\n")
    if report["provider"] != "(default)":
        out.write(f"provider     {report['provider']}\n")
    if "models" in report:
        out.write(f"models       {', '.join(report['models']) or '(none listed)'}\n")
    out.write(f"model        {report.get('model')}\n")
    if not ok:
        out.write(f"reachable    {'yes' if report.get('reachable') else 'no'}\n")
        out.write(f"error        {report.get('error')}\n")
        return failed
    rejected = [a for a in report["attempts"] if a.get("status") and a["status"] != 200]
    steps = "; ".join(f"{a.get('mode')} rejected ({a['status']})" for a in rejected)
    out.write("reachable    yes\n")
    out.write(f"structured   {report['mode']}{f' ({steps})' if steps else ''}\n")
    tokens = f"{report['tokens']} tokens" if report["streamed"] else "its stream reported no tokens"
    out.write(f"round trip   {report['latency_s']:.2f} s ({tokens})\n")
    streaming = "yes" if report["streamed"] else "no: its stream reports no usage, so requests are sent whole"
    out.write(f"streaming    {streaming}\n")
    out.write(f"price        {report['price']}\n")
    retry = "yes" if report["retry_timeouts"] else "no"
    out.write(
        f"calls        {report['concurrency']} in flight; ended after {report['timeout_s']:g} s without a token "
        f"or below {report['min_rate']:g} tokens/s; timed-out calls retried: {retry}\n"
    )
    return 0


# models


def cmd_models(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.api import find_config, load_env_file, locate, model_setup, models_report, space_figures

    env_file, env_loaded = load_env_file()
    setup = model_setup(find_config(args.config), model=args.model, role_models=args.role_model, base_url=args.base_url)
    figures, swarms = space_figures(locate(args.space, args.store, args.user), args.swarm)
    report = models_report(setup, figures, env_file=env_file, env_loaded=env_loaded)
    report["figures_from"] = {"swarms": swarms, "swarm": args.swarm}
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
        return 0
    where = report["config"] or "none (no ./swarm-star.toml; --config FILE names one)"
    out.write(f"config     {where}\n")
    if report["env_file"]:
        loaded = ", ".join(report["env_loaded"]) or "nothing new: the environment already had each"
        out.write(f"env file   {report['env_file']} (set: {loaded})\n")
    out.write("\nroles (models: primary first, then fallbacks)\n")
    rows: list[tuple[str, ...]] = [
        (r["role"], ", ".join(r["models"]), r["policy"], r["from"] + _policy_note(r)) for r in report["roles"]
    ]
    _table(out, ("role", "models", "routing", "from"), rows)
    out.write("\nproviders\n")
    rows = []
    for p in report["providers"]:
        if "error" in p:
            rows.append((p["name"], "-", "-", "-", "-", f"error: {p['error']}"))
        else:
            rows.append((p["name"], p["api"], p["url"], p["key"], str(p["limit"]), p["url_from"]))
    _table(out, ("provider", "api", "url", "key", "limit", "url from"), rows)
    scope = f"swarm {args.swarm}" if args.swarm else f"{swarms} swarm(s) of the space"
    out.write(f"\nmodels (figures from {scope})\n")
    rows = []
    for m in report["models"]:
        price = m.get("price")
        shown = "unknown" if price is None else f"${price[0]:g} / ${price[1]:g}"
        if "price_from" in m:
            shown += f" ({m['price_from']})"
        f = m["figures"] or {}
        rows.append(
            (
                m["ref"],
                shown,
                str(f.get("calls", 0)),
                _pct(f.get("success_rate")),
                _secs(f.get("p50_s")),
                _secs(f.get("p95_s")),
                "-" if f.get("tokens_per_s") is None else f"{f['tokens_per_s']:g}",
                "-" if f.get("cost_per_call") is None else f"${f['cost_per_call']:.6f}",
            )
        )
    _table(out, ("model", "price per 1M in / out", "calls", "ok", "p50", "p95", "tok/s", "cost/call"), rows)
    if report["mcp_servers"]:
        out.write(f"\nmcp servers (configured, not used yet): {', '.join(report['mcp_servers'])}\n")
    return 0


def _policy_note(row: dict[str, Any]) -> str:
    return "" if row["policy"] == "ordered" else f"; routing: {row['policy_from']}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _table(out: TextIO, head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=True)]
        out.write("  " + "  ".join(cells).rstrip() + "\n")
