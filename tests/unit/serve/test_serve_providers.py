"""Providers over HTTP: the operator's rule holds for ``provider:model`` references too.

A request may name a provider the server's environment configures (its key or URL variable is
set where serve runs), and that provider's key goes to that provider's URL only. It cannot
define a provider (``models.providers``: a URL and a key variable of its choosing), nor name one
the operator did not configure; a swarm recorded with providers from a config file is resumed
from the CLI, not over HTTP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from swarm_star.api import Swarm
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.models.providers import ProviderSettings
from swarm_star.serve import create_app
from swarm_star.testing.anthropic_server import LocalAnthropicServer
from swarm_star.testing.scripted import ScriptedModel

ANTHROPIC_KEY = "sk-ant-operator-123456"
SCRIPT = ScriptedModel(plans={"plan it": ["one part"]})


async def _settled(client: httpx.AsyncClient, swarm_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = next(r for r in (await client.get("/api/swarms")).json() if r["swarm_id"] == swarm_id)
        if row["status"] in ("finished", "failed") and not row["running_here"]:
            return dict(row)
        assert asyncio.get_running_loop().time() < deadline, row
        await asyncio.sleep(0.05)


async def test_requests_name_only_the_providers_the_operator_configured(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    local = model_server(SCRIPT)  # the operator's --base-url
    trap = model_server(SCRIPT)  # a URL a client would like the server to call
    with LocalAnthropicServer(SCRIPT) as anthropic:
        env = {
            "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            "ANTHROPIC_BASE_URL": anthropic.base_url,
            "COSMOS_KEY": "cosmos-secret-77",
        }
        app = create_app(space=tmp_path, env=env, base_urls=[local.base_url], poll_interval=0.05)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:

            async def refused(models: dict[str, Any]) -> str:
                r = await client.post("/api/swarms", json={"directive": "plan it", "models": models})
                assert r.status_code == 400, r.text
                return str(r.json()["error"])

            evil = {"evil": {"base_url": trap.base_url, "key_env": "COSMOS_KEY"}}
            assert (await refused({"providers": evil, "planner": "evil:m"})).startswith(
                "models.providers cannot be set over HTTP"
            )
            error = await refused({"planner": "xai:grok-3"})
            assert "offers no 'xai' provider (offered: anthropic;" in error
            assert "local" not in error.split("offered:")[1].split(";")[0]  # not configured: no URL variable set

            body = {"directive": "plan it", "swarm_id": "mixed", "models": {"planner": "anthropic:claude-test"}}
            assert (await client.post("/api/swarms", json=body)).status_code == 201
            assert (await _settled(client, "mixed"))["status"] == "finished"
            detail = (await client.get("/api/swarms/mixed/nodes/0.0")).json()
            models = {c["purpose"]: c["model"] for c in detail["calls_detail"]}
            assert models["plan"] == "anthropic:claude-test" and models["review"] == "gpt-4o-mini"

            # a swarm the CLI made from a config file with providers of its own: resumed from the CLI only
            own = ModelSettings(providers={"gpu": ProviderSettings(base_url=trap.base_url)}, planner="gpu:m")
            Swarm.create("plan it", space=tmp_path, swarm_id="from-config", settings=SwarmSettings(models=own))
            r = await client.post("/api/swarms/from-config/resume", json={})
            assert r.status_code == 400 and "resume it from the CLI" in r.json()["error"]
        await app.state.hub.shutdown()
    assert anthropic.requests > 0
    assert {k + a for k, a in zip(anthropic.api_keys, anthropic.authorizations, strict=True)} <= {
        ANTHROPIC_KEY,
        f"Bearer {ANTHROPIC_KEY}",
    }
    assert trap.requests == 0
    assert local.requests > 0 and ANTHROPIC_KEY not in "".join(local.authorizations)
