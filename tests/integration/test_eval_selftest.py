"""The self-test of the strategies: a scripted model right with probability p per call, independently.

With a known per-call accuracy, arithmetic says what each strategy must score
(``expected_pass_rate``): one call and a swarm p, a vote of 5 at p = 0.6
P(at least 3 of 5) ≈ 0.68, a swarm whose answers a verifier of accuracy q
checks, repairs once and re-plans when the part still fails (up to 6 attempts)
≈ 0.93 at q = 0.9. Each observed pass
rate must hold its expectation inside its 95 % interval, and the strategies
that should beat ``single`` must not lose to it. If one does not, the wiring
(the vote's counting, the verifier's verdicts reaching the report) is wrong.
The dice are hashed per task and call, so a run is reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swarm_star.evaluation import EvalConfig, reasoning_tasks, run_eval, summarize
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.testing.answer_key import AnswerKeyModel, expected_pass_rate

Q = 0.9


async def _self_test(
    tmp_path: Path, model_server: Any, p: float, count: int, strategies: tuple[str, ...]
) -> dict[str, Any]:
    tasks = reasoning_tasks(count, 2026)
    model = AnswerKeyModel(
        answers={t.id: t.good for t in tasks},
        wrong={t.id: t.bad for t in tasks},
        accuracy=p,
        verifier_accuracy=Q,
        seed=7,
    )
    server = model_server(model)
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url, default_model="scripted", concurrency=64))
    config = EvalConfig(suites=("reasoning",), count=count, seed=2026, datasets=(), strategies=strategies, parallel=8)
    trials = await run_eval(config, tasks, settings, tmp_path / f"p{p}")
    assert len(trials) == count * len(strategies)
    return summarize(trials, strategies)["reasoning"]


def _check(rows: dict[str, Any], p: float) -> None:
    for strategy, row in rows.items():
        expected = expected_pass_rate(strategy, p, Q)
        low, high = row["ci95"]
        assert low <= expected <= high, f"{strategy}: expected {expected:.3f}, saw {row['pass_rate']} ({low}, {high})"
    for strategy in ("vote", "swarm+verify"):
        if strategy in rows and expected_pass_rate(strategy, p, Q) > p:
            assert rows[strategy]["passed"] >= rows["single"]["passed"], strategy
            assert rows[strategy]["vs_single"]["ci95"][1] > 0


async def test_vote_and_verification_do_what_arithmetic_says(tmp_path: Path, model_server: Any) -> None:
    rows = await _self_test(tmp_path, model_server, 0.6, 16, ("single", "vote", "swarm+verify"))
    _check(rows, 0.6)
    assert rows["vote"]["calls"] == 5 * rows["single"]["calls"] == 5 * 16


@pytest.mark.slow
@pytest.mark.parametrize("p", [0.3, 0.6, 0.9])
async def test_the_self_test_over_many_tasks(tmp_path: Path, model_server: Any, p: float) -> None:
    rows = await _self_test(tmp_path, model_server, p, 120, ("single", "vote", "swarm", "swarm+verify"))
    _check(rows, p)
    if p == 0.6:  # with 120 tasks the gains are clear, not just inside the bounds
        assert rows["swarm+verify"]["vs_single"]["ci95"][0] > 0
        assert rows["vote"]["pass_rate"] > rows["single"]["pass_rate"]
    if p == 0.3:  # a vote of a model that is mostly wrong picks the wrong answer more often
        assert rows["vote"]["pass_rate"] < rows["single"]["pass_rate"]
