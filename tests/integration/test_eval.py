"""The evaluation harness, through full swarms against the scripted answer-key model:
a known-good answer scores 1, a known-bad one 0, and the bookkeeping adds up."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from benchmarks.eval.__main__ import bad_answer, main
from benchmarks.eval.checkers import check_reasoning, extract_answer, extract_code
from benchmarks.eval.runner import run_suite
from benchmarks.eval.tasks import humaneval_tasks, reasoning_tasks
from tests.helpers.answer_key import AnswerKeyModel
from tests.helpers.model import client_for


def test_reasoning_tasks_are_deterministic_and_scored_by_the_dataset() -> None:
    first, again = reasoning_tasks(6, 7), reasoning_tasks(6, 7)
    assert [t.directive for t in first] == [t.directive for t in again] and len(first) == 6
    task = first[0]
    assert check_reasoning(task, f"Work...\n{task.good}") == (1.0, None)
    assert check_reasoning(task, "ANSWER: -987654321") == (0.0, "wrong answer")
    assert extract_answer("x\nANSWER: 1\nmore\n**Answer**: 42") == "42"
    assert extract_code("a\n```python\nx = 1\n```\n```py\ny = 2\n```") == "y = 2\n"


async def _suite(tasks: list[Any], key: dict[str, str], server_factory: Any, space: Path, **kw: Any) -> Any:
    server = server_factory(AnswerKeyModel(answers=key))
    llm = client_for(server)
    try:
        return await run_suite(tasks[0].suite, tasks, llm, space, **kw)
    finally:
        await llm.aclose()


async def test_good_answers_score_one_and_bad_ones_zero(tmp_path: Path, model_server: Any) -> None:
    tasks = reasoning_tasks(3, 11) + humaneval_tasks(2, 11)
    reasoning, code = tasks[:3], tasks[3:]
    for group in (reasoning, code):
        good = await _suite(group, {t.id: t.good for t in group}, model_server, tmp_path / "good", allow_exec=True)
        assert [t.score for t in good.tasks] == [1.0] * len(group), [t.cause for t in good.tasks]
        bad = await _suite(group, {t.id: bad_answer(t) for t in group}, model_server, tmp_path / "bad", allow_exec=True)
        assert [t.score for t in bad.tasks] == [0.0] * len(group)
        assert set(bad.totals()["failures"]) == {"wrong answer" if group is reasoning else "tests failed"}
        assert good.totals()["calls"] == sum(t.calls for t in good.tasks) > 0
        assert all(t.tokens > 0 for t in good.tasks)


async def test_code_is_not_run_without_allow_exec(tmp_path: Path, model_server: Any) -> None:
    tasks = humaneval_tasks(2, 3)
    result = await _suite(tasks, {t.id: t.good for t in tasks}, model_server, tmp_path)
    assert [t.cause for t in result.tasks] == ["not run (needs --allow-exec)"] * 2
    assert not list(tmp_path.rglob("eval_check.py"))


def test_the_command_prints_each_suite(tmp_path: Path) -> None:
    out = io.StringIO()
    argv = ["--scripted", "mixed", "--count", "4", "--allow-exec", "--json", "--space", str(tmp_path), "--seed", "5"]
    with redirect_stdout(out):
        assert main(argv) == 0
    doc = json.loads(out.getvalue())
    by_suite = {r["suite"]: r for r in doc["results"]}
    assert set(by_suite) == {"reasoning", "humaneval"}
    for result in by_suite.values():
        assert (result["tasks"], result["passed"], result["pass_rate"]) == (4, 2, 0.5)
        # per task: plan, one route (the whole menu in one call), answer, review
        assert result["calls"] == 4 * 4 and result["tokens"] > 0 and result["wall_s"] > 0
        assert sum(result["failures"].values()) == 2
    text = io.StringIO()
    with redirect_stdout(text):
        assert main(["--scripted", "good", "--suite", "reasoning", "--count", "2"]) == 0
    assert "reasoning" in text.getvalue() and "100%" in text.getvalue()


def test_failure_causes_are_short_and_countable() -> None:
    from benchmarks.eval.runner import failure_cause

    assert failure_cause("failed", "manager failed: model endpoint failed after 5 attempts: Error 500 ...") == (
        "swarm failed: model error"
    )
    assert failure_cause("limit", "limit reached: max_calls (40 model calls)") == "limit max_calls"
    assert failure_cause("questions", "questions pending") == "swarm asked the user"
    assert failure_cause("finished", None) == "empty report"
