"""``swarm-star eval`` through full swarms against the scripted answer-key model: a known-good answer
scores 1 and a known-bad one 0 in every strategy, the bookkeeping adds up, code runs only with
--allow-exec (in the sandbox), and an evaluation continues where it was interrupted."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import Swarm
from swarm_star.cli import main
from swarm_star.errors import InputError
from swarm_star.evaluation import STRATEGIES, EvalConfig, Task, humaneval_tasks, reasoning_tasks, run_eval
from swarm_star.evaluation.checkers import NOT_RUN, check_reasoning, extract_answer, extract_code
from swarm_star.evaluation.runner import read_trials, swarm_id_for
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.testing.answer_key import AnswerKeyModel


def test_reasoning_tasks_are_deterministic_and_scored_by_the_dataset() -> None:
    first, again = reasoning_tasks(6, 7), reasoning_tasks(6, 7)
    assert [t.directive for t in first] == [t.directive for t in again] and len(first) == 6
    task = first[0]
    assert check_reasoning(task, f"Work...\n{task.good}") == (1.0, None)
    assert check_reasoning(task, task.bad) == (0.0, "wrong answer")
    assert check_reasoning(task, f"{task.good} [verified after 2 attempts]") == (1.0, None)
    assert extract_answer("x\nANSWER: 1\nmore\n**Answer**: 42") == "42"
    assert extract_code("a\n```python\nx = 1\n```\n```py\ny = 2\n```") == "y = 2\n"


def _settings(server: Any) -> SwarmSettings:
    return SwarmSettings(models=ModelSettings(base_url=server.base_url, default_model="scripted", concurrency=64))


def _config(tasks: list[Task], **kw: Any) -> EvalConfig:
    suites = tuple(dict.fromkeys(t.suite for t in tasks))
    return EvalConfig(suites=suites, count=len(tasks), seed=0, datasets=(), **{"parallel": 8, **kw})


async def test_good_answers_score_one_and_bad_ones_zero_in_every_strategy(tmp_path: Path, model_server: Any) -> None:
    tasks = reasoning_tasks(1, 11) + humaneval_tasks(1, 11)
    for accuracy, space in ((1.0, tmp_path / "good"), (0.0, tmp_path / "bad")):
        model = AnswerKeyModel(
            answers={t.id: t.good for t in tasks}, wrong={t.id: t.bad for t in tasks}, accuracy=accuracy
        )
        server = model_server(model)
        trials = await run_eval(_config(tasks, allow_exec=True), tasks, _settings(server), space)
        assert len(trials) == len(tasks) * len(STRATEGIES)
        assert [t.passed for t in trials] == [accuracy == 1.0] * len(trials), [(t.task, t.cause) for t in trials]
        if accuracy == 0.0:  # the verifier (right every time here) rejects both attempts: the part fails
            assert {t.cause for t in trials if t.strategy != "swarm+verify"} == {"wrong answer", "tests failed"}
            assert {t.cause for t in trials if t.strategy == "swarm+verify"} == {"swarm failed"}
        by = {t.strategy: t for t in trials if t.task == tasks[0].id}
        assert (by["single"].calls, by["vote"].calls) == (1, 5)
        assert by["swarm"].calls >= 4 and by["swarm+verify"].calls >= by["swarm"].calls
        if accuracy == 1.0:  # issue 25: a verified one-part round is not reviewed again: a verdict instead
            assert by["swarm+verify"].calls == by["swarm"].calls
        assert all(t.prompt_tokens > 0 and t.completion_tokens > 0 for t in trials)
        assert sum(model.calls.values()) == sum(t.calls for t in trials)  # every call counted, none twice
        with Swarm.open(swarm_id_for("swarm+verify", tasks[0]), space=space) as swarm:  # inspectable
            assert swarm.state.usage.calls == by["swarm+verify"].calls
            assert any(event.op.kind == "verdict" for event in swarm.history())


async def test_code_is_not_run_without_allow_exec(tmp_path: Path, model_server: Any) -> None:
    tasks = humaneval_tasks(2, 3)
    server = model_server(AnswerKeyModel(answers={t.id: t.good for t in tasks}))
    trials = await run_eval(_config(tasks, strategies=("single",)), tasks, _settings(server), tmp_path)
    assert [t.cause for t in trials] == [NOT_RUN] * 2
    assert not list(tmp_path.rglob("eval_check.py"))


async def test_an_interrupted_evaluation_continues_without_paying_again(tmp_path: Path, model_server: Any) -> None:
    tasks = reasoning_tasks(3, 5)
    model = AnswerKeyModel(answers={t.id: t.good for t in tasks}, wrong={t.id: t.bad for t in tasks}, accuracy=0.5)
    server = model_server(model, latency=0.05)
    config = _config(tasks, strategies=("single", "swarm"), parallel=2)
    first = asyncio.ensure_future(run_eval(config, tasks, _settings(server), tmp_path))
    while len(read_trials(tmp_path)) < 3:  # stop it in the middle, like Ctrl-C
        await asyncio.sleep(0.02)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    kept = {(t.task, t.strategy): t for t in read_trials(tmp_path)}
    assert 3 <= len(kept) < len(tasks) * 2
    for _ in range(200):  # a request cut off by the cancel is still answered (and counted) by the server
        if server.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    calls_before = sum(model.calls.values())
    trials = await run_eval(config, tasks, _settings(server), tmp_path)
    assert len(trials) == len(tasks) * 2 and len(read_trials(tmp_path)) == len(trials)  # each trial once
    for trial in trials:
        if (trial.task, trial.strategy) in kept:
            assert trial == kept[(trial.task, trial.strategy)]  # read back, not run again
    # a swarm cut off mid-run resumed from its history: its recorded calls were not made again
    new_calls = sum(model.calls.values()) - calls_before
    redone = [t for t in trials if (t.task, t.strategy) not in kept]
    assert new_calls <= sum(t.calls for t in redone)
    again = sum(model.calls.values())
    assert await run_eval(config, tasks, _settings(server), tmp_path) == trials and sum(model.calls.values()) == again
    with pytest.raises(InputError, match="another evaluation"):
        await run_eval(_config(tasks, strategies=("vote",)), tasks, _settings(server), tmp_path)


def test_the_command_prints_the_comparison_and_writes_json_markdown_and_a_plot(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    space = tmp_path / "ev"
    argv = ["eval", "--scripted", "good", "--suite", "reasoning", "--count", "1", "--space", str(space), "--json"]
    assert main(argv, out, err) == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    rows = doc["suites"]["reasoning"]
    assert list(rows) == list(STRATEGIES)
    assert all(r["passed"] == r["tasks"] == 1 and r["ci95"][1] == 1.0 for r in rows.values())
    assert rows["vote"]["vs_single"] == {
        "tasks": 1, "gained": 0, "lost": 0, "difference": 0.0, "ci95": [0.0, 0.0], "p_value": 1.0
    }  # fmt: skip
    assert json.loads((space / "report.json").read_text())["suites"] == doc["suites"]
    assert "| swarm+verify | 1/1 |" in (space / "report.md").read_text()
    assert (space / "report.svg").read_text().lstrip().startswith("<?xml")
    text, err = io.StringIO(), io.StringIO()
    argv = ["eval", "--scripted", "0", "--suite", "reasoning", "--count", "2", "--strategies", "single,swarm"]
    assert main([*argv, "--space", str(tmp_path / "b")], text, err) == 0
    assert "| single | 0/2 | 0 % (0 %–66 %)" in text.getvalue() and "wrong answer ×2" in text.getvalue()
    assert "tree single-" not in text.getvalue() and "tree swarm-" in text.getvalue()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategies", "single,best"], "--strategies: unknown best"),
        (["--count", "0"], "--count must be at least 1"),
        (["--scripted", "0.5", "--model", "m"], "--scripted is its own model"),
        (["--datasets", "no_such_dataset"], "unknown reasoning-gym dataset 'no_such_dataset'"),
        (["--scripted", "2"], "expected a probability between 0 and 1"),
        (["--no-input"], "unrecognized arguments: --no-input"),  # an eval never waits for answers
        (["--stream"], "unrecognized arguments: --stream"),  # it shows a progress bar, not a live log
    ],
)
def test_bad_flags_are_one_line_usage_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["eval", "--suite", "reasoning", "--space", str(tmp_path / "s"), *argv], out, err) == 2
    assert message in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1


def test_the_old_benchmark_command_is_an_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.eval.__main__ import main as old_main

    argv = ["--scripted", "mixed", "--suite", "reasoning", "--count", "2", "--json", "--space", str(tmp_path)]
    assert old_main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["suites"]["reasoning"]) == ["swarm"] and doc["config"]["model"].startswith("scripted p=0.5")
