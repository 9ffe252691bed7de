"""Parsing the command line: no prefix matching, and `retry` takes the model flags of `resume`.

Bug (issue 21): `retry SWARM --model smollm2` failed with "argument --model-concurrency:
invalid int value": argparse matched the unknown `--model` as a prefix of
`--model-concurrency`. Every parser now has ``allow_abbrev=False``, and `retry` takes
`--model/--base-url` (this run only), as `resume` does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import Swarm
from swarm_star.cli import build_parser
from swarm_star.models import NodeStatus
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.cli import cli


@pytest.fixture(autouse=True)
def _no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("OPENAI_", "OPENROUTER_")):
            monkeypatch.delenv(name)


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += _parsers(child)
    return found


def test_no_parser_matches_a_prefix_of_a_flag() -> None:
    parsers = _parsers(build_parser())
    assert len(parsers) > 15
    assert [p.prog for p in parsers if p.allow_abbrev] == []
    code, _, err = cli("run", "x", "--max-call", "5")  # was taken as --max-call-tokens 5
    assert code == 2 and "unrecognized arguments: --max-call" in err


def test_retry_takes_model_and_base_url_for_this_run(tmp_path: Path, model_server: Any) -> None:
    failing = model_server(ScriptedModel(plans={"two": ["good part", "bad part"]}, routes={"bad": None}))
    space = str(tmp_path)
    code, out, err = cli("--space", space, "run", "two parts", "--base-url", failing.base_url, "--model", "m1")
    swarm_id = out.split("swarm ", 1)[1].split(":", 1)[0]
    with Swarm.open(swarm_id, space=space) as swarm:
        assert any(n.status == NodeStatus.FAILED for n in swarm.state.nodes.values()), out + err
    fixed = model_server(ScriptedModel(), keep_log=True)
    code, out, err = cli("--space", space, "retry", swarm_id, "--model", "smollm2", "--base-url", fixed.base_url)
    assert code == 0, out + err
    assert fixed.log and {r["model"] for r in fixed.log} == {"smollm2"}
    assert "--model smollm2" in out or "resume" not in out  # a hint to go on repeats the run-only flags
    with Swarm.open(swarm_id, space=space) as swarm:
        assert swarm.settings.models.default_model == "m1"  # the stored setting is kept
        assert swarm.settings.models.base_url == failing.base_url
        retried = [e.op for e in swarm.history() if e.op.kind == "llm_call" and e.op.model == "smollm2"]
    assert retried


def test_retry_json_with_model_flags(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"two": ["good part", "bad part"]}, routes={"bad": None}))
    space = str(tmp_path)
    _, out, _ = cli("--space", space, "run", "two parts", "--base-url", server.base_url, "--model", "m1", "--json")
    swarm_id = json.loads(out)["swarm_id"]
    code, out, err = cli("--space", space, "retry", swarm_id, "--model", "m2", "--json")
    assert code in (0, 1, 7), err  # 7: finished, partial (the bad part fails again)
    assert json.loads(out)["swarm_id"] == swarm_id
