"""StochasticSwarm's README examples, run as written (endpoint: the scripted server posing as OpenRouter)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest

from swarm_star.errors import InputError
from swarm_star.fanout import main as fanout_main
from swarm_star.primitives.stochastic import StochasticSwarmConfig, run_stochasticswarm, stochasticswarm
from swarm_star.testing import Reply
from tests.helpers.model import TEST_KEY
from tests.helpers.paths import ROOT


class Seed:
    """Candidates answer ``cand-K`` in arrival order; the synthesis call (it quotes the attempts) says FINAL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            if "Independent attempts" in request["messages"][-1]["content"]:
                return Reply("FINAL: merged")
            self.count += 1
            return Reply(f"cand-{self.count}")


@pytest.fixture
def openrouter(model_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The seed's setting: OPENROUTER_API_KEY and OPENROUTER_BASE_URL, nothing of OpenAI's."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "OPENROUTER_", "LOG_LEVEL")):
            monkeypatch.delenv(name)
    server = model_server(Seed(), keep_log=True)
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    return server


def test_seed_cli_example(openrouter: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's long CLI example (``python -m swarm_star.fanout`` for ``python main.py``): every flag
    accepted and sent as the seed sends it; --verbose logs at LOG_LEVEL."""
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    argv = [
        "--prompt", "Locate the error and fix it {code}",
        "--n-runs", "6",
        "--system", "Be concise and precise.",
        "--stop", "</END>",
        "--model", "openrouter/sonoma-sky-alpha",
        "--max-tokens", "2048",
        "--timeout", "30",
        "--verbose",
        "--print-candidates",
    ]  # fmt: skip
    code = fanout_main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    requests = openrouter.log
    assert len(requests) == 7  # six candidates, one synthesis
    for request in requests:
        assert request["model"] == "openrouter/sonoma-sky-alpha" and request["max_tokens"] == 2048
        assert request["stop"] == ["</END>"]
        assert request["messages"][0] == {"role": "system", "content": "Be concise and precise."}
    assert out.count("--- candidate") == 6 and out.endswith("--- final ---\nFINAL: merged\n")
    assert err.count("INFO swarm_star.primitives.fanout: candidate") == 6 and "synthesis of 6 candidates" in err


def test_seed_json_example_max_tokens_and_model_from_the_environment(
    openrouter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-p … -n 5 --json``: OPENROUTER_MAX_TOKENS and OPENROUTER_MODEL are what is sent; 30000 when unset."""
    monkeypatch.setenv("OPENROUTER_MAX_TOKENS", "777")
    monkeypatch.setenv("OPENROUTER_MODEL", "seed/model-a")
    out, err = io.StringIO(), io.StringIO()
    from swarm_star.cli import main

    assert main(["fanout", "-p", "Design a REST API for notes", "-n", "5", "--json"], out, err) == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert doc["final"] == "FINAL: merged" and len(doc["candidates"]) == 5 and "meta" in doc
    assert {(r["max_tokens"], r["model"]) for r in openrouter.log} == {(777, "seed/model-a")}

    monkeypatch.delenv("OPENROUTER_MAX_TOKENS")
    openrouter.log.clear()
    assert main(["fanout", "-p", "q", "-n", "2"], io.StringIO(), io.StringIO()) == 0
    assert {r["max_tokens"] for r in openrouter.log} == {30000}  # the seed's default
    openrouter.log.clear()
    monkeypatch.setenv("OPENROUTER_MAX_TOKENS", "777")
    assert main(["fanout", "-p", "q", "-n", "2", "--max-call-tokens", "64"], io.StringIO(), io.StringIO()) == 0
    assert {r["max_tokens"] for r in openrouter.log} == {64}  # the flag wins


def test_log_level_filters_and_a_bad_one_is_a_usage_error(openrouter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from swarm_star.cli import main

    monkeypatch.setenv("LOG_LEVEL", "warning")
    err = io.StringIO()
    assert main(["fanout", "-p", "q", "-n", "2", "--verbose"], io.StringIO(), err) == 0
    assert "INFO" not in err.getvalue()
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    err = io.StringIO()
    assert main(["fanout", "-p", "q", "-n", "2", "--verbose"], io.StringIO(), err) == 2
    assert (
        err.getvalue() == "swarm-star: error: LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got 'LOUD'\n"
    )


def test_seed_library_examples(openrouter: Any) -> None:
    """The README's two library snippets: the minimal call, then the config dataclass and its runner."""
    result = stochasticswarm(prompt="Summarize the topic.", n_runs=5)
    assert result["final"] == "FINAL: merged" and len(result["candidates"]) == 5
    assert result.get("meta")["succeeded"] == 5 and {r["max_tokens"] for r in openrouter.log} == {30000}

    openrouter.log.clear()
    cfg = StochasticSwarmConfig(
        prompt="Generate a TypeScript function and tests.",
        n_runs=6,
        system_prompt="Write robust, readable code and explain briefly.",
        stop=["</END>"],
        model="openrouter/sonoma-sky-alpha",
        max_tokens=2048,
        timeout=30,
    )
    res = run_stochasticswarm(cfg)
    assert res.final == "FINAL: merged" and len(res.candidates) == 6
    assert {(r["model"], r["max_tokens"]) for r in openrouter.log} == {("openrouter/sonoma-sky-alpha", 2048)}
    assert cfg.run().final == "FINAL: merged"
    with pytest.raises(InputError, match="unexpected keyword argument 'n_candidates'"):
        stochasticswarm("q", n_candidates=3)


async def test_the_synchronous_entry_refuses_a_running_loop(openrouter: Any) -> None:
    with pytest.raises(InputError, match="synchronous"):
        stochasticswarm("q", n_runs=2)
    assert openrouter.requests == 0


def test_python_dash_m_swarm_star_fanout(openrouter: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "swarm_star.fanout", "-p", "Design a REST API for notes", "-n", "3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final"] == "FINAL: merged" and openrouter.requests == 4
