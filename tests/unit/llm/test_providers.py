"""Several providers in one swarm: ``[provider:]model`` references, each provider's key only to its own
URL, roles from the command line and ``swarm-star.toml``, ``.env`` read without overriding the
environment, and ``swarm-star models`` resolving a three-provider config with where each value came from.

Real parts only: the CLI's ``main`` (and a real process for ``.env``), the real openai and anthropic
SDKs against local scripted servers, the real SQLite store.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swarm_star.api import Swarm
from swarm_star.cli import main
from swarm_star.errors import ConfigError
from swarm_star.llm.providers import resolve_provider, split_ref
from swarm_star.models import ModelSettings
from swarm_star.models.providers import ProviderSettings
from swarm_star.testing.anthropic_server import LocalAnthropicServer
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.paths import ROOT

OPENAI_KEY = "sk-openai-test-111111"
ANTHROPIC_KEY = "sk-ant-test-222222"
SCRIPT = ScriptedModel(plans={"three providers": ["part one", "part two"]}, plan_actions=False)  # routers ask


def test_a_reference_names_a_provider_only_when_it_is_one() -> None:
    known = {"openai", "anthropic", "openrouter", "local"}
    assert split_ref("anthropic:claude-sonnet-4-5", known) == ("anthropic", "claude-sonnet-4-5")
    assert split_ref("gpt-4o-mini", known) == (None, "gpt-4o-mini")
    assert split_ref("llama3:8b", known) == (None, "llama3:8b")  # a colon in a model's own name
    assert split_ref("openrouter:meta-llama/llama-3-8b:free", known) == ("openrouter", "meta-llama/llama-3-8b:free")
    assert split_ref("local:", known) == (None, "local:")


def test_each_provider_gets_its_own_key_and_url() -> None:
    env = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "OPENAI_API_KEY": OPENAI_KEY, "XAI_API_KEY": "xai-key-333333"}
    anthropic = resolve_provider("anthropic", ModelSettings(), env)
    assert (anthropic.api, anthropic.url, anthropic.endpoint.api_key) == (
        "anthropic",
        "https://api.anthropic.com",
        ANTHROPIC_KEY,
    )
    xai = resolve_provider("xai", ModelSettings(), env)
    assert (xai.api, xai.url, xai.endpoint.api_key) == ("openai", "https://api.x.ai/v1", "xai-key-333333")
    # the provider's own URL variable moves it, and the key follows (as OPENAI_API_KEY follows OPENAI_BASE_URL)
    moved = resolve_provider("anthropic", ModelSettings(), {**env, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert (moved.url, moved.endpoint.api_key, moved.url_source) == (
        "http://127.0.0.1:9",
        ANTHROPIC_KEY,
        "$ANTHROPIC_BASE_URL",
    )
    # a URL from a config file gets no key unless the block names one
    custom = ModelSettings(providers={"anthropic": ProviderSettings(base_url="http://gpu:8000")})
    assert resolve_provider("anthropic", custom, env).endpoint.api_key == "no-key-needed"
    # ... and a built-in provider's key variable never goes to another URL, whichever block names it
    for name in ("gpu", "openai"):
        stolen = ModelSettings(
            providers={name: ProviderSettings(base_url="http://evil.example/v1", key_env="OPENAI_API_KEY")}
        )
        with pytest.raises(ConfigError, match="OPENAI_API_KEY: that is openai's key"):
            resolve_provider(name, stolen, env)
    own = ModelSettings(providers={"gpu": ProviderSettings(base_url="http://gpu:8000/v1", key_env="GPU_KEY")})
    assert resolve_provider("gpu", own, {"GPU_KEY": "gpu-key-444444"}).endpoint.api_key == "gpu-key-444444"
    with pytest.raises(ConfigError, match="needs a key: set ANTHROPIC_API_KEY"):
        resolve_provider("anthropic", ModelSettings(), {})
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        resolve_provider("nope", ModelSettings(), env)


CONFIG = """
[models]
default = "local:scripted"
retries = 0

[roles]
planner = ["anthropic:claude-test"]
reviewer = "anthropic:claude-test"
router = "openai:gpt-test"
answer = "local:scripted"

[routing]
policy = "ordered"

[providers.local]
base_url = "{local}"
concurrency = 4
prices = {{ scripted = [0.0, 0.0] }}

[providers.anthropic]
prices = {{ claude-test = [3.0, 15.0] }}

[prices]
"openai:gpt-test" = [0.4, 1.6]

[limits]
max_calls = 200

[mcp.servers.files]
command = ["mcp-server-filesystem", "."]
"""


@pytest.fixture
def three(tmp_path: Path, model_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An OpenAI (OPENAI_BASE_URL), an Anthropic (ANTHROPIC_BASE_URL) and a local server, and a config for them."""
    openai_server = model_server(SCRIPT)
    local = model_server(SCRIPT)
    anthropic = LocalAnthropicServer(SCRIPT)
    anthropic.start()
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    config = tmp_path / "swarm-star.toml"
    config.write_text(CONFIG.format(local=local.base_url))
    yield config, openai_server, anthropic, local
    anthropic.stop()


def test_swarm_star_models_resolves_a_config_with_three_providers(three, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config, openai_server, anthropic, local = three
    out, err = io.StringIO(), io.StringIO()
    code = main(["models", "--config", str(config), "--space", str(tmp_path / "space"), "--json"], out, err)
    assert code == 0, err.getvalue()
    report = json.loads(out.getvalue())
    roles = {r["role"]: r for r in report["roles"]}
    assert roles["planner"]["models"] == ["anthropic:claude-test"] and roles["planner"]["from"].endswith(
        "[roles] planner"
    )
    assert roles["worker"]["models"] == ["local:scripted"] and roles["worker"]["from"].endswith("[roles] answer")
    assert roles["verifier"]["models"] == ["anthropic:claude-test"]  # the reviewer's, since none of its own
    providers = {p["name"]: p for p in report["providers"]}
    assert set(providers) == {"anthropic", "openai", "local"}
    assert (
        providers["anthropic"].items()
        >= {"api": "anthropic", "url": anthropic.base_url, "key": "$ANTHROPIC_API_KEY"}.items()
    )
    assert providers["anthropic"]["url_from"] == "$ANTHROPIC_BASE_URL"
    assert providers["openai"]["url"] == openai_server.base_url and providers["openai"]["key"] == "$OPENAI_API_KEY"
    assert providers["local"].items() >= {"url": local.base_url, "key": "none", "limit": 4}.items()
    assert providers["local"]["url_from"] == "[providers.local] base_url"
    prices = {m["ref"]: (m["price"], m["price_from"]) for m in report["models"]}
    assert prices["anthropic:claude-test"] == ([3.0, 15.0], "user price")
    assert prices["openai:gpt-test"] == ([0.4, 1.6], "user price")
    assert report["mcp_servers"] == ["files"]
    assert OPENAI_KEY not in out.getvalue() and ANTHROPIC_KEY not in out.getvalue()
    # the table form says the same, in one screen
    out = io.StringIO()
    assert main(["models", "--config", str(config), "--space", str(tmp_path / "space")], out, err) == 0
    text = out.getvalue()
    assert "anthropic:claude-test" in text and "$ANTHROPIC_BASE_URL" in text and "[providers.local] base_url" in text


def test_one_swarm_uses_three_providers_each_with_its_own_key(three, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Anthropic plans and reviews, OpenAI routes, a local server answers (the issue's "done when")."""
    config, openai_server, anthropic, local = three
    space = tmp_path / "space"
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", "three providers", "--config", str(config), "--space", str(space), "--json"], out, err)
    assert code == 0, err.getvalue() + out.getvalue()
    result = json.loads(out.getvalue())
    assert result["status"] == "finished"
    by = {(row["provider"], row["model"]): row for row in result["usage_by_model"]}
    assert set(by) == {("anthropic", "claude-test"), ("openai", "gpt-test"), ("local", "scripted")}
    assert by[("anthropic", "claude-test")]["cost"] > 0 and by[("local", "scripted")]["cost"] == 0
    assert sum(row["calls"] for row in by.values()) == result["usage"]["calls"]
    # each server got requests, and only its own key
    assert openai_server.requests and anthropic.requests and local.requests
    assert set(openai_server.authorizations) == {f"Bearer {OPENAI_KEY}"}
    assert {k + a for k, a in zip(anthropic.api_keys, anthropic.authorizations, strict=True)} <= {
        ANTHROPIC_KEY,
        f"Bearer {ANTHROPIC_KEY}",
    }
    assert set(local.authorizations) == {"Bearer no-key-needed"}
    # Anthropic did the planning through a forced tool; models are recorded as references
    assert any(body.get("tool_choice", {}).get("name") == "Plan" for body in anthropic.log)
    swarm = Swarm.open(result["swarm_id"], space=space)
    models = {e.op.model for e in swarm.history() if e.op.kind == "llm_call"}
    assert models == {"anthropic:claude-test", "openai:gpt-test", "local:scripted"}
    assert swarm.settings.limits.max_calls == 200  # [limits] of the config file
    out = io.StringIO()
    assert main(["report", swarm.id, "--space", str(space), "--format", "md"], out, err) == 0
    assert "| anthropic | claude-test |" in out.getvalue() and "| openai | gpt-test |" in out.getvalue()


def test_role_models_from_the_command_line(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(SCRIPT)
    out, err = io.StringIO(), io.StringIO()
    args = ["run", "three providers", "--space", str(tmp_path), "--base-url", server.base_url, "--json"]
    args += ["--model", "m-all", "--role-model", "planner=m-plan", "--role-model", "planner=m-plan-2"]
    args += ["--role-model", "answer=m-answer", "--max-call-tokens", "300"]
    assert main(args, out, err) == 0, err.getvalue()
    swarm = Swarm.open(json.loads(out.getvalue())["swarm_id"], space=tmp_path)
    models = swarm.settings.models
    assert models.planner == ["m-plan", "m-plan-2"] and models.worker == ["m-answer"]
    assert models.models_for("router") == ["m-all"] and models.max_tokens == 300
    sent = {e.op.model for e in swarm.history() if e.op.kind == "llm_call"}
    assert sent == {"m-plan", "m-all", "m-answer"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role-model", "boss=m"], "--role-model 'boss=m': expected ROLE=MODEL"),
        (["--role-model", "planner="], "--role-model 'planner=': expected ROLE=MODEL"),
        (["--model", "nope:x", "--role-model", "planner=anthropic:c"], "needs a key: set ANTHROPIC_API_KEY"),
    ],
)
def test_bad_role_flags_are_one_line_usage_errors(tmp_path: Path, args: list[str], message: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", "x", "--space", str(tmp_path), *args], out, err)
    assert code == 2 and message in err.getvalue() and err.getvalue().count("\n") == 1, err.getvalue()
    assert not (tmp_path).exists() or not any(tmp_path.iterdir())  # nothing was created


def test_a_bad_config_file_is_one_line_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "swarm-star.toml"
    for text, message in (
        ("[roles]\nboss = 'm'\n", "roles.boss: not a role"),
        ("[models]\ndefualt = 'm'\n", "models.defualt: Extra inputs are not permitted"),
        ("[routing]\npolicy = 'random'\n", "routing.policy"),
        ("[limits]\nmax_calls = 0\n", "limits.max_calls"),
        ("[models\n", "not valid TOML"),
    ):
        bad.write_text(text)
        out, err = io.StringIO(), io.StringIO()
        assert main(["models", "--config", str(bad), "--space", str(tmp_path)], out, err) == 2
        assert message in err.getvalue() and str(bad) in err.getvalue(), (text, err.getvalue())
    out, err = io.StringIO(), io.StringIO()
    assert main(["models", "--config", str(tmp_path / "missing.toml")], out, err) == 2
    assert "no such file" in err.getvalue()


def test_dotenv_is_read_without_overriding_the_environment(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    """A real process in a folder with ``.env`` and ``swarm-star.toml``: the file's keys fill in what the
    environment lacks, and a key the environment has wins (the server sees the environment's)."""
    server = model_server(SCRIPT)
    (tmp_path / ".env").write_text(
        f"OPENAI_API_KEY=sk-from-dotenv-555555\nANTHROPIC_API_KEY={ANTHROPIC_KEY}\nOPENAI_BASE_URL={server.base_url}\n"
    )
    (tmp_path / "swarm-star.toml").write_text('[roles]\nplanner = "openai:m"\n[models]\ndefault = "openai:m"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "OPENROUTER_"))}
    env.update(OPENAI_API_KEY="test-openai-key-from-env", PYTHONPATH=str(ROOT), SWARM_SPACE=str(tmp_path / "space"))
    cli = [sys.executable, "-m", "swarm_star"]
    shown = subprocess.run(
        [*cli, "models", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["env_loaded"] == ["ANTHROPIC_API_KEY", "OPENAI_BASE_URL"]  # OPENAI_API_KEY was already set
    assert report["config"] == "swarm-star.toml"
    ran = subprocess.run(
        [*cli, "run", "three providers", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert set(server.authorizations) == {"Bearer test-openai-key-from-env"}
    assert "sk-from-dotenv" not in ran.stdout + ran.stderr
