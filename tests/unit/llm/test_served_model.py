"""The model name with a local server: the server's own, when the user named none.

Bug (issue 21): with only ``OPENAI_BASE_URL`` set, ``doctor`` probed the server's
model (``smollm2``) while ``run`` and ``fanout`` sent and recorded ``gpt-4o-mini``;
a server that checks names rejected a run that ``doctor`` had passed. Now all three
ask ``GET /models`` of a server of the user's own when no model was given: one model
is used (said once), several is a one-line usage error listing them (exit 2).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import Swarm
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.cli import cli


@pytest.fixture(autouse=True)
def _no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("OPENAI_", "OPENROUTER_")):
            monkeypatch.delenv(name)


def test_run_uses_and_records_the_one_served_model(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = model_server(ScriptedModel(), models=["smollm2"], keep_log=True)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)  # the setup: only the variable
    code, out, err = cli("--space", str(tmp_path), "run", "small thing", "--json")
    assert code == 0, err
    assert err.count("serves one model, smollm2; using it") == 1
    assert server.log and {r["model"] for r in server.log} == {"smollm2"}
    with Swarm.open(json.loads(out)["swarm_id"], space=tmp_path) as swarm:
        assert swarm.settings.models.default_model == "smollm2"
        assert {e.op.model for e in swarm.history() if e.op.kind == "llm_call"} == {"smollm2"}


def test_run_doctor_and_fanout_agree_on_the_model(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(), models=["smollm2"], keep_log=True)
    code, out, err = cli("doctor", "--base-url", server.base_url, "--json")
    assert code == 0, err
    assert json.loads(out)["model"] == "smollm2"
    server.log.clear()
    code, out, err = cli("fanout", "-p", "Name a colour", "-n", "2", "--base-url", server.base_url, "--json")
    assert code == 0, err
    assert "using it" in err and {r["model"] for r in server.log} == {"smollm2"}
    server.log.clear()
    code, out, err = cli("--space", str(tmp_path), "run", "small thing", "--base-url", server.base_url, "--json")
    assert code == 0, err
    assert {r["model"] for r in server.log} == {"smollm2"}
    # a model given is used as given, and nothing is said
    server.log.clear()
    code, _, err = cli("--space", str(tmp_path), "run", "x y", "--base-url", server.base_url, "--model", "m9")
    assert "using it" not in err and {r["model"] for r in server.log} == {"m9"}


def test_several_served_models_and_none_given_is_a_usage_error(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(), models=["qwen2.5:7b", "llama3.2:3b", "smollm2"], keep_log=True)
    for argv in (
        ["--space", str(tmp_path), "run", "small thing", "--base-url", server.base_url],
        ["fanout", "-p", "hi", "--base-url", server.base_url],
        ["doctor", "--base-url", server.base_url],
    ):
        code, out, err = cli(*argv)
        assert code == 2, (argv, out, err)
        line = "swarm-star: error: " + server.base_url + " serves 3 models, name one with --model: "
        assert err == line + "qwen2.5:7b, llama3.2:3b, smollm2\n"
    assert not server.log  # nothing was sent
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # nothing was created
    code, _, err = cli(
        "--space", str(tmp_path), "run", "small thing", "--base-url", server.base_url, "--model", "smollm2"
    )
    assert code == 0, err


def test_an_unreachable_server_with_no_model_given_exits_5_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = cli("--space", str(tmp_path), "run", "x", "--base-url", f"http://127.0.0.1:{port}/v1")
    assert code == 5, out + err
    assert "connection refused" in err and "nothing was started" in err and err.count("\n") == 1
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_server_without_a_listing_keeps_the_fallback_name(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(), keep_log=True)  # GET /models answers 404
    code, _, err = cli("--space", str(tmp_path), "run", "small thing", "--base-url", server.base_url, "--json")
    assert code == 0, err
    assert "using it" not in err and {r["model"] for r in server.log} == {"gpt-4o-mini"}
