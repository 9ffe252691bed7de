"""The model-side CLI: doctor, retry, the model flags, exit 5, --max-cost without prices."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import Swarm
from swarm_star.cli import build_parser
from swarm_star.cli.models import check_prices, model_settings_from
from swarm_star.models import ModelSettings, NodeStatus
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.cli import cli


@pytest.fixture(autouse=True)
def _no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("OPENAI_", "OPENROUTER_")):
            monkeypatch.delenv(name)


def test_doctor_reports_the_negotiated_mode(model_server: Any) -> None:
    server = model_server(
        lambda request: {"ok": True, "word": "ready"}, reject_formats={"json_schema": 500}, keep_log=True
    )
    code, out, err = cli("doctor", "--base-url", server.base_url, "--model", "m1")
    assert code == 0, err
    assert "structured   json_object_schema (json_schema rejected (500))" in out
    assert "reachable    yes" in out and "local model (free)" in out
    code, out, _ = cli("doctor", "--base-url", server.base_url, "--model", "m1", "--json")
    assert code == 0 and json.loads(out)["mode"] == "json_object_schema"
    assert all(isinstance(r.get("max_tokens"), int) for r in server.log)


def test_doctor_passes_against_the_scripted_model(model_server: Any) -> None:
    """Bug: the scripted model (the demo's, and the README's local stand-in) answered
    doctor's probe with ``"ok": ""``, so ``doctor`` failed with exit 1 against it: its
    generic reply must fit the schema's types."""
    server = model_server(ScriptedModel())
    code, out, err = cli("doctor", "--base-url", server.base_url, "--model", "scripted")
    assert code == 0, out + err
    assert "reachable    yes" in out and "structured" in out


def test_doctor_says_refused_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, _ = cli("doctor", "--base-url", f"http://127.0.0.1:{port}/v1", "--timeout", "5")
    assert code == 5  # the exit table: the endpoint cannot be reached (it was 1, issue 21)
    assert "reachable    no" in out and "connection refused" in out
    code, out, _ = cli("doctor", "--base-url", f"http://127.0.0.1:{port}/v1", "--timeout", "5", "--json")
    assert code == 5 and json.loads(out)["reachable"] is False


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
def test_unreachable_run_exits_5_and_resume_continues(tmp_path: Path, model_server: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    space = str(tmp_path)
    # with --model the swarm starts and pauses (without one, the model list is asked first: exit 5, nothing made)
    down = f"http://127.0.0.1:{port}/v1"
    code, out, err = cli("--space", space, "run", "small thing", "--base-url", down, "--model", "m", "--json")
    assert code == 5, err
    result = json.loads(out)
    assert result["status"] == "unreachable" and "connection refused" in result["reason"]
    server = model_server(ScriptedModel())
    # same swarm, the endpoint is back (elsewhere): resume with the new base URL for this run
    with Swarm.open(result["swarm_id"], space=space) as swarm:
        assert swarm.state.status == "stopped"
    code, out, err = cli("--space", space, "resume", result["swarm_id"], "--json", "--timeout", "30")
    assert code == 5  # the stored base URL is still down: still paused, not failed
    del server


def test_max_cost_refuses_to_start_without_a_known_price(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel())
    remote = ["--space", str(tmp_path), "run", "x", "--base-url", "https://example.invalid/v1", "--model", "nomodel-x"]
    code, _, err = cli(*remote, "--max-cost", "1")
    assert code == 2 and "--max-cost needs prices" in err and "--price nomodel-x=" in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # nothing was created
    code, _, err = cli(*remote, "--max-cost", "1", "--price", "nomodel-x=nope")
    assert code == 2 and "MODEL=IN,OUT" in err
    args = build_parser().parse_args([*remote[2:], "--max-cost", "1", "--price", "nomodel-x=1,2"])
    models = model_settings_from(args, ModelSettings(**{"base_url": args.base_url, "default_model": "nomodel-x"}))
    assert check_prices(models, None) == [] and models.prices == {"nomodel-x": (1.0, 2.0)}
    # a local model is free, so its price is known
    code, _, err = cli(
        "--space", str(tmp_path), "run", "small thing", "--base-url", server.base_url, "--max-cost", "1", "--json"
    )
    assert code == 0, err


def test_retry_reruns_the_failed_node_and_managers_re_review(tmp_path: Path, model_server: Any) -> None:
    scripted = ScriptedModel(plans={"two": ["good part", "bad part"]}, routes={"bad": None})
    server = model_server(scripted)
    space = str(tmp_path)
    code, out, err = cli("--space", space, "run", "two parts", "--base-url", server.base_url, "--json")
    swarm_id = json.loads(out)["swarm_id"]
    with Swarm.open(swarm_id, space=space) as swarm:
        failed = [n.id for n in swarm.state.nodes.values() if n.status == NodeStatus.FAILED]
    assert failed, out
    code, out, err = cli("--space", space, "retry", swarm_id, "--json")  # still failing the same way
    assert json.loads(out)["status"] in ("failed", "finished")
    scripted.routes.clear()  # the cause is gone
    code, out, err = cli("--space", space, "retry", swarm_id, "--json")
    assert code == 0, (out, err)
    assert json.loads(out)["status"] == "finished"
    with Swarm.open(swarm_id, space=space) as swarm:
        kinds = [e.op.kind for e in swarm.history()]
        assert "retry" in kinds
        assert all(n.status != NodeStatus.FAILED for n in swarm.state.nodes.values() if n.id == "0" or n.id == "0.0")
    code, _, err = cli("--space", space, "retry", swarm_id)
    assert code == 2 and "nothing to retry" in err


def test_history_shows_a_failed_call(tmp_path: Path, model_server: Any) -> None:
    server = model_server(lambda request: "not json")
    code, out, _ = cli("--space", str(tmp_path), "run", "small thing", "--base-url", server.base_url, "--json")
    assert code == 1
    swarm_id = json.loads(out)["swarm_id"]
    code, out, _ = cli("--space", str(tmp_path), "history", swarm_id)
    assert code == 0 and "plan via" in out and "failed: reply does not match Plan" in out
