"""The evaluation harness against the real-model tier (SmolLM2 via llama_cpp.server).

A 135M model scores low; this proves the plumbing: a task swarm runs to an end
against a real server, its calls and tokens are counted, and the task is
either passed or failed with a named cause. Uses the tier's ``smollm2`` server
fixture (tests/integration/test_real_model.py); selected with ``-m real_model``.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

pytest.importorskip("tests.integration.test_real_model", reason="the real-model tier's fixtures are not in this tree")

from benchmarks.eval.__main__ import main
from tests.integration.test_real_model import MODEL_ALIAS, smollm2  # noqa: F401  (the tier's server fixture)

pytestmark = pytest.mark.real_model


def test_the_harness_runs_a_task_against_smollm2(smollm2: str, tmp_path: Path) -> None:  # noqa: F811
    out = io.StringIO()
    argv = ["--suite", "reasoning", "--count", "1", "--base-url", smollm2 + "/v1", "--model", MODEL_ALIAS]
    argv += ["--max-calls", "12", "--parallel", "1", "--json", "--space", str(tmp_path)]
    with redirect_stdout(out):
        assert main(argv) == 0
    (result,) = json.loads(out.getvalue())["results"]
    assert result["suite"] == "reasoning" and result["tasks"] == 1
    assert result["calls"] >= 1 and result["tokens"] > 0 and result["wall_s"] > 0
    assert result["passed"] + sum(result["failures"].values()) == 1
