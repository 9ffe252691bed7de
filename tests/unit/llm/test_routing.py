"""Telemetry-driven routing across providers: real swarms, real engine and store, the real openai SDK
against local scripted servers (one per provider), faults injected at the servers.

What must hold (issue 24): a failing endpoint loses traffic within a bounded number of calls and
regains it after it recovers; ``cheapest`` follows the price table; a provider's concurrency limit
holds across every role that names it (counted in flight at the server); each choice is recorded in
its call frame with the reason (shown by ``history``); the figures are persisted in the swarm's store.
"""

from __future__ import annotations

import io
import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli import main
from swarm_star.llm.routing import EXPLORE_AFTER
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from swarm_star.models.providers import ROLES, ProviderSettings
from swarm_star.testing import Fault, LocalOpenAIServer
from swarm_star.testing.scripted import ScriptedModel

PARTS = [f"part {i}" for i in range(8)]  # a plan has at most 8 parts
NESTED = ScriptedModel(
    plans={"do many things": [f"group {g}" for g in "abcdef"], "group": [f"item {i}" for i in range(5)]},
    routes={"group": "planning/delegate"},
    plan_actions=False,  # every part is routed: these runs need many router calls
)


def _all_roles(models: list[str], **extra: Any) -> dict[str, Any]:
    return {role: list(models) for role in ("planner", "router", "worker", "reviewer")} | extra


class Recorder:
    """Which server answered each request, in order, and whether it failed (one lock for both servers)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.order: list[tuple[str, bool]] = []
        self.failing: set[str] = set()

    def responder(self, name: str, script: ScriptedModel):  # type: ignore[no-untyped-def]
        def respond(request: dict[str, Any]) -> Any:
            with self.lock:
                failing = name in self.failing
                self.order.append((name, not failing))
                count = len(self.order)
            self.on_request(count)
            return Fault("500") if failing else script(request)

        return respond

    def on_request(self, count: int) -> None:  # replaced by tests that change faults mid-run
        pass


def _settings(a: LocalOpenAIServer, b: LocalOpenAIServer, policy: str, **prices: tuple[float, float]) -> ModelSettings:
    providers = {
        "fast": ProviderSettings(base_url=a.base_url, concurrency=8, prices={"m": prices.get("fast", (0.0, 0.0))}),
        "slow": ProviderSettings(base_url=b.base_url, concurrency=8, prices={"m": prices.get("slow", (0.0, 0.0))}),
    }
    return ModelSettings(
        **_all_roles(["fast:m", "slow:m"]), providers=providers, routing=policy, max_retries=0, timeout=10
    )


def _run(tmp_path: Path, settings: ModelSettings, directive: str = "do many things", concurrency: int = 1) -> Swarm:
    swarm = Swarm.create(
        directive,
        space=tmp_path,
        settings=SwarmSettings(models=settings, limits=Limits(concurrency=concurrency, max_calls=600)),
    )
    outcome = swarm.run_sync(RunOptions(env={}))
    assert outcome.status == "finished", outcome.reason
    return swarm


def test_a_failing_endpoint_loses_traffic_within_a_few_calls_and_regains_it_after_recovery(
    tmp_path: Path, model_server
) -> None:
    script = NESTED
    rec = Recorder()
    fast = model_server(rec.responder("fast", script))
    slow = model_server(rec.responder("slow", script), latency=0.03)
    fail_from, fail_until = 12, 45  # requests (of both servers) between which `fast` answers 500

    def on_request(count: int) -> None:
        with rec.lock:
            if count == fail_from:
                rec.failing.add("fast")
            elif count == fail_until:
                rec.failing.discard("fast")

    rec.on_request = on_request  # type: ignore[method-assign]
    swarm = _run(tmp_path, _settings(fast, slow, "best"))
    order = rec.order
    assert len(order) > fail_until + 4 * EXPLORE_AFTER, f"the run was too short to judge: {len(order)} requests"
    before = order[:fail_from]
    assert sum(1 for name, _ in before if name == "fast") >= 0.8 * len(before)  # the fast one is preferred

    # While it fails: after at most 2 failures it is no longer the first choice; then it only gets an
    # exploration request now and then (one per EXPLORE_AFTER calls), never a streak.
    outage = order[fail_from:fail_until]
    failures = [i for i, (name, ok) in enumerate(outage) if name == "fast" and not ok]
    window = len(outage)
    assert len(failures) <= 2 + window // EXPLORE_AFTER + 1, (failures, outage)
    streaks = [b - a for a, b in itertools.pairwise(failures)]
    assert all(gap >= 2 for gap in streaks[1:]), f"failed requests back to back: {failures}"

    # After recovery: within 3 exploration periods it is the first choice again (most calls go to it).
    after = order[fail_until:]
    regained = next(
        (i for i in range(len(after) - 6) if sum(1 for name, _ in after[i : i + 6] if name == "fast") >= 5),
        None,
    )
    assert regained is not None and regained <= 3 * EXPLORE_AFTER + 2, (regained, after[:40])

    # Each choice is in its call frame with the reason; exploration and fallbacks are named.
    calls = [e.op for e in swarm.history() if e.op.kind == "llm_call"]
    reasons = [c.route or "" for c in calls]
    assert all(r.startswith("best: ") for r in reasons)
    assert any("exploring" in r for r in reasons)
    assert any("fallback 1 of 1" in r for r in reasons)
    failed = [c for c in calls if c.error]
    assert failed and all(c.model == "fast:m" for c in failed)

    # The figures are persisted with the swarm (the stored projection equals a replay).
    stored = swarm.log.load().endpoints
    assert stored == swarm.tree().endpoints
    fast_figures = stored.get("fast:m")
    assert fast_figures is not None and fast_figures.failures == len(
        [c for c in calls if c.model == "fast:m" and c.error]
    )
    assert fast_figures.health > 0.5  # healthy again at the end


def test_cheapest_follows_the_price_table(tmp_path: Path, model_server) -> None:
    script = ScriptedModel(plans={"do many things": PARTS[:6]})
    rec = Recorder()
    a = model_server(rec.responder("fast", script))
    b = model_server(rec.responder("slow", script))
    _run(tmp_path / "1", _settings(a, b, "cheapest", fast=(5.0, 20.0), slow=(0.1, 0.4)))
    assert {name for name, _ in rec.order} == {"slow"}, rec.order
    first = len(rec.order)
    swarm = _run(tmp_path / "2", _settings(a, b, "cheapest", fast=(0.1, 0.4), slow=(5.0, 20.0)))
    assert {name for name, _ in rec.order[first:]} == {"fast"}
    routes = {e.op.route for e in swarm.history() if e.op.kind == "llm_call"}
    assert all(r and r.startswith("cheapest: first choice") and "a call" in r for r in routes), routes
    # the cost in the usage follows the same table
    usage = swarm.tree().endpoints.usage["fast:m"]
    assert usage.cost == pytest.approx((usage.prompt_tokens * 0.1 + usage.completion_tokens * 0.4) / 1e6)


def test_fastest_prefers_the_endpoint_that_answers_sooner(tmp_path: Path, model_server) -> None:
    script = ScriptedModel(plans={"do many things": PARTS[:8]})
    rec = Recorder()
    a = model_server(rec.responder("fast", script), latency=0.08)  # listed first, but slower
    b = model_server(rec.responder("slow", script))
    settings = _settings(a, b, "fastest")
    _run(tmp_path, settings)
    later = rec.order[6:]
    assert sum(1 for name, _ in later if name == "slow") >= 0.75 * len(later), rec.order


def test_a_providers_concurrency_limit_holds_across_roles(tmp_path: Path, model_server) -> None:
    """Planner, router, worker and reviewer all name provider `shared` (limit 2); many parts run at once
    (16 activations in flight). The server never holds more than 2 requests; `other` (limit 3) its own 3."""
    shared = model_server(NESTED, latency=0.05)
    other = model_server(NESTED, latency=0.05)
    settings = ModelSettings(
        planner="shared:m",
        reviewer="shared:m",
        router="shared:m",
        worker=["other:m"],
        verifier="shared:m",
        providers={
            "shared": ProviderSettings(base_url=shared.base_url, concurrency=2),
            "other": ProviderSettings(base_url=other.base_url, concurrency=3),
        },
        max_retries=0,
    )
    _run(tmp_path, settings, concurrency=16)
    assert shared.requests > 30 and other.requests >= 30  # 30 leaf answers, the rest plans, routes, reviews
    assert shared.peak_in_flight == 2, shared.peak_in_flight  # reached, never exceeded
    assert other.peak_in_flight == 3, other.peak_in_flight


def test_history_and_models_show_the_choices_and_figures(tmp_path: Path, model_server) -> None:
    script = ScriptedModel(plans={"do many things": PARTS[:3]})
    rec = Recorder()
    a = model_server(rec.responder("fast", script))
    b = model_server(rec.responder("slow", script))
    swarm = _run(tmp_path, _settings(a, b, "best"))
    out, err = io.StringIO(), io.StringIO()
    assert main(["history", swarm.id, "--space", str(tmp_path)], out, err) == 0, err.getvalue()
    assert "routed: best: first choice" in out.getvalue()
    out = io.StringIO()
    assert main(["models", "--swarm", swarm.id, "--space", str(tmp_path), "--json"], out, err) == 0, err.getvalue()
    figures = {m["ref"]: m["figures"] for m in json.loads(out.getvalue())["models"]}
    # `models` resolves the default configuration here (no config file), but the figures are the swarm's
    assert isinstance(figures, dict)
    out = io.StringIO()
    assert main(["report", swarm.id, "--space", str(tmp_path), "--format", "md"], out, err) == 0, err.getvalue()
    report = out.getvalue()
    assert "### By provider and model" in report
    assert "| fast | m |" in report


def test_every_role_resolves_through_the_fallback_roles() -> None:
    settings = ModelSettings(reviewer="r", worker=["w1", "w2"], default_model="d")
    assert settings.models_for("verifier") == ["r"]
    assert settings.models_for("coder") == ["w1", "w2"]
    assert settings.models_for("synthesizer") == ["w1", "w2"]
    assert settings.models_for("planner") == ["d"]
    assert set(ROLES) >= {"planner", "router", "worker", "reviewer", "verifier", "coder", "synthesizer"}


def test_an_unreachable_provider_falls_back_to_the_roles_next_model(tmp_path: Path, model_server) -> None:
    """Connection refused at the primary's provider: the call goes to the next model (another provider)
    instead of pausing the swarm; only when the last one is unreachable too does the swarm pause."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    alive = model_server(ScriptedModel(plans={"do many things": PARTS[:2]}))
    settings = ModelSettings(
        **_all_roles(["down:m", "up:m"]),
        providers={"down": ProviderSettings(base_url=dead), "up": ProviderSettings(base_url=alive.base_url)},
        max_retries=0,
    )
    swarm = _run(tmp_path, settings)
    calls = [e.op for e in swarm.history() if e.op.kind == "llm_call"]
    refused = [c for c in calls if c.model == "down:m"]
    assert refused and all("connection refused" in (c.error or "") for c in refused)
    assert all(c.usage.calls == 0 for c in refused)  # never reached a server: nothing counted as paid
    assert any(c.model == "up:m" and c.route == "ordered: fallback 1 of 1" for c in calls)
    # every model of the role unreachable: paused, resumable (exit 5), not failed
    only_dead = ModelSettings(
        **_all_roles(["down:m"]), providers={"down": ProviderSettings(base_url=dead)}, max_retries=0
    )
    paused = Swarm.create("do many things", space=tmp_path / "p", settings=SwarmSettings(models=only_dead))
    assert paused.run_sync(RunOptions(env={})).status == "unreachable"


def test_doctor_probes_a_provider_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    from swarm_star.testing.anthropic_server import LocalAnthropicServer

    with LocalAnthropicServer(ScriptedModel()) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-doctor-123456")
        out, err = io.StringIO(), io.StringIO()
        assert main(["doctor", "--model", "anthropic:claude-test", "--json"], out, err) == 0, err.getvalue()
        report = json.loads(out.getvalue())
        assert report["provider"] == "anthropic" and report["endpoint"] == server.base_url
        assert report["mode"] == "tool" and report["model"] == "anthropic:claude-test"
        out = io.StringIO()
        assert main(["doctor", "--model", "anthropic:claude-test"], out, err) == 0
        assert "provider     anthropic" in out.getvalue() and "sk-ant-doctor" not in out.getvalue()
