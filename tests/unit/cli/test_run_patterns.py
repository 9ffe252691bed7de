"""``swarm-star run --pattern …``: geepers' patterns from the command line (the scripted model)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from swarm_star.cli import main
from swarm_star.cli.run import PATTERN_NAMES
from swarm_star.kit.pattern import PATTERNS
from swarm_star.testing.scripted import ScriptedModel


def test_the_cli_knows_every_built_in_pattern() -> None:
    assert set(PATTERN_NAMES) == set(PATTERNS)


def test_run_pattern_cascade_and_conditional(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = model_server(ScriptedModel())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-patterns")
    base = ["--space", str(tmp_path), "run", "--base-url", server.base_url, "--no-input", "--json"]
    out, err = io.StringIO(), io.StringIO()
    code = main([*base, "compare two databases", "--pattern", "cascade", "--tiers", "3,1", "--swarm-id", "c"], out, err)
    assert code == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert doc["status"] == "finished" and doc["report"].startswith("Answer to: Write the final answer")
    out = io.StringIO()
    argv = [*base, "fix my essay", "--pattern", "conditional", "--condition", "it is about code",
            "--if-true", "review the code", "--if-false", "edit the prose", "--swarm-id", "k"]  # fmt: skip
    assert main(argv, out, io.StringIO()) == 0
    assert "review the code" in json.loads(out.getvalue())["report"]  # the scripted judge says it holds


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--step", "a"], "--step needs --pattern"),
        (["--pattern", "cascade", "--tiers", "3,x"], "--tiers expects counts like 8,3,1"),
        (["--pattern", "cascade", "--tiers", "3,0"], "cascade tiers must be counts of at least 1"),
        (["--pattern", "sequential"], "a sequential pattern needs 1-100 steps"),
        (["--pattern", "conditional", "--condition", "x"], "needs --condition, --if-true and --if-false"),
        (["--pattern", "iterative", "--max-iterations", "0"], "max_iterations must be 1-100"),
    ],
)
def test_run_pattern_bad_input_is_one_line_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-patterns")
    err = io.StringIO()
    assert main(["--space", str(tmp_path), "run", "task", "--no-input", *extra], io.StringIO(), err) == 2
    assert message in err.getvalue() and err.getvalue().count("\n") == 1
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # no swarm was created
