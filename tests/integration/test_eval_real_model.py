"""``swarm-star eval`` against both real servers (SmolLM2: llama-cpp-python's and llama.cpp's llama-server).

A 135M model scores low; this proves the plumbing: every strategy runs to an
end against a real server, its calls and tokens are counted, and each trial
either passes or fails with a named cause. Selected with ``-m real_model``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from swarm_star.cli import main
from swarm_star.evaluation import STRATEGIES
from tests.helpers.llama_server import MODEL_ALIAS

pytestmark = pytest.mark.real_model


def test_every_strategy_runs_a_task_against_each_server(llama: Any, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["eval", "--suite", "reasoning", "--count", "1", "--base-url", llama.url + "/v1", "--model", MODEL_ALIAS]
    argv += ["--votes", "3", "--max-calls", "12", "--max-call-tokens", "200", "--timeout", "300", "--parallel", "1"]
    argv += ["--json", "--space", str(tmp_path)]
    assert main(argv, out, err) == 0, err.getvalue()
    rows = json.loads(out.getvalue())["suites"]["reasoning"]
    assert list(rows) == list(STRATEGIES)
    for strategy, row in rows.items():
        assert row["tasks"] == 1 and row["calls"] >= 1, strategy
        assert row["passed"] + sum(row["failures"].values()) == 1, strategy
    # every request the server answered counts (a retried one too); llama-cpp-python's first stream has no usage
    assert rows["vote"]["calls"] >= 3 and sum(row["prompt_tokens"] for row in rows.values()) > 0
    assert llama.alive()
