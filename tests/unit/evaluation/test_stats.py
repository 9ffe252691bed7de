"""The comparison's figures: Wilson intervals, paired differences, what the scripted model should score."""

from __future__ import annotations

import math

import pytest

from swarm_star.evaluation.report import markdown, summarize
from swarm_star.evaluation.runner import Trial, failure_cause
from swarm_star.evaluation.stats import paired, wilson
from swarm_star.testing.answer_key import expected_pass_rate


def test_wilson_interval_matches_the_textbook_and_stays_inside_zero_one() -> None:
    low, high = wilson(68, 100)
    assert (round(low, 4), round(high, 4)) == (0.5834, 0.7633)  # the score interval, z = 1.96
    assert wilson(0, 10)[0] == 0.0 and 0.27 < wilson(0, 10)[1] < 0.28
    assert wilson(10, 10)[1] == pytest.approx(1.0) and wilson(10, 10)[0] > 0.7
    assert wilson(0, 0) == (0.0, 1.0)


def test_a_paired_difference_counts_only_the_tasks_where_the_two_disagree() -> None:
    strategy = [True, True, True, False, True, False, True, True]
    baseline = [True, False, False, False, True, True, False, True]
    diff = paired(strategy, baseline)
    assert (diff.tasks, diff.gained, diff.lost) == (8, 3, 1)
    assert diff.difference == pytest.approx(2 / 8) and diff.low < diff.difference < diff.high
    assert diff.p_value == pytest.approx(2 * (1 + 4) / 16)  # McNemar, exact: 1 of 4 discordant
    same = paired([True, False], [True, False])
    assert (same.difference, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        paired([True], [True, False])


def test_what_the_scripted_model_should_score() -> None:
    assert expected_pass_rate("vote", 0.6) == pytest.approx(0.68256)  # at least 3 of 5
    assert expected_pass_rate("vote", 0.3) < 0.3  # a vote of a model mostly wrong makes it worse
    assert expected_pass_rate("single", 0.6) == expected_pass_rate("swarm", 0.6) == 0.6
    # a perfect verifier: the answer is tried until it is right, 6 times at most (2 attempts × 3 rounds)
    assert expected_pass_rate("swarm+verify", 0.6, 1.0) == pytest.approx(1 - 0.4**6)
    assert expected_pass_rate("swarm+verify", 0.6, 0.5, attempts=2) == pytest.approx(0.3 * 1.5)  # a coin
    assert math.isclose(expected_pass_rate("swarm+verify", 0.6, 0.9, attempts=2), 0.54 * 1.42)


def _trial(task: str, strategy: str, passed: bool, calls: int = 1) -> Trial:
    cause = None if passed else "wrong answer"
    return Trial("reasoning", task, strategy, passed, cause, calls, 10 * calls, 5 * calls, 0.0, calls, 0.5)


def test_the_summary_pairs_each_strategy_with_single_on_the_same_tasks() -> None:
    trials = [_trial(f"t{i}", "single", i < 2) for i in range(4)]
    trials += [_trial(f"t{i}", "vote", i < 3, calls=5) for i in range(4)]
    summary = summarize(trials, ("single", "vote"))
    single, vote = summary["reasoning"]["single"], summary["reasoning"]["vote"]
    assert (single["passed"], vote["passed"], vote["calls"], vote["prompt_tokens"]) == (2, 3, 20, 200)
    assert "vs_single" not in single and vote["vs_single"]["gained"] == 1 and vote["vs_single"]["lost"] == 0
    assert vote["failures"] == {"wrong answer": 1} and vote["unpriced_calls"] == 20
    table = markdown(summary)
    assert "| vote | 3/4 | 75 %" in table and "+1 −0, +25 pts" in table and "(unpriced)" in table


def test_failure_causes_are_short_and_countable() -> None:
    assert failure_cause("failed", "manager failed: model endpoint failed after 5 attempts: Error 500 ...") == (
        "swarm failed: model error"
    )
    assert failure_cause("limit", "limit reached: max_calls (40 model calls)") == "limit max_calls"
    assert failure_cause("questions", "questions pending") == "swarm asked the user"
    assert failure_cause("finished", None) == "empty report"
    assert failure_cause("unreachable", "model endpoint unreachable: timed out (1 attempt(s))") == (
        "swarm paused: model timeout"
    )
    assert failure_cause("unreachable", "model endpoint unreachable: connection refused") == "swarm unreachable"
