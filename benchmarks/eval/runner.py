"""Run task suites through full swarms and total what they cost and how often they were right.

Each task is its own swarm (created in ``space``, run to the end against the
given model client), so a figure here is what a user of ``swarm-star run``
would get: planning, routing, answering, reviewing, all of it counted.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.eval.checkers import check_code, check_reasoning
from benchmarks.eval.tasks import Task
from swarm_star.api import RunOptions, Swarm
from swarm_star.errors import SwarmStarError
from swarm_star.llm import LLMClient
from swarm_star.models import Limits, SwarmSettings

__all__ = ["SuiteResult", "TaskResult", "failure_cause", "format_results", "run_suite"]


@dataclass
class TaskResult:
    task_id: str
    score: float
    cause: str | None
    calls: int
    tokens: int
    cost: float
    seconds: float


@dataclass
class SuiteResult:
    suite: str
    tasks: list[TaskResult] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def passed(self) -> int:
        return sum(1 for t in self.tasks if t.score >= 1.0)

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.tasks) if self.tasks else 0.0

    def totals(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "tasks": len(self.tasks),
            "passed": self.passed,
            "pass_rate": round(self.pass_rate, 4),
            "calls": sum(t.calls for t in self.tasks),
            "tokens": sum(t.tokens for t in self.tasks),
            "cost": round(sum(t.cost for t in self.tasks), 6),
            "wall_s": round(self.wall_s, 2),
            "failures": dict(Counter(t.cause for t in self.tasks if t.cause).most_common()),
        }


async def _one(
    task: Task,
    llm: LLMClient,
    space: Path,
    settings: SwarmSettings,
    timeout: float,
) -> TaskResult:
    started = time.monotonic()
    swarm = Swarm.create(task.directive, space=space, settings=settings)
    try:
        try:
            outcome = await swarm.run(
                RunOptions(llm=llm, yes=settings.allow_exec)
            )  # a batch: --allow-exec is its --yes
        except SwarmStarError as exc:
            outcome = None
            cause: str | None = f"error: {type(exc).__name__}"
        usage = swarm.state.usage
        score = 0.0
        if outcome is None:
            pass
        elif outcome.status != "finished" or not outcome.report:
            cause = failure_cause(outcome.status, outcome.reason)
        elif task.suite == "humaneval":
            workspace = space / swarm.id / "workspace"
            score, cause = await asyncio.to_thread(
                check_code, task, outcome.report, workspace, allow_exec=settings.allow_exec, timeout=timeout
            )
        else:
            score, cause = check_reasoning(task, outcome.report)
        return TaskResult(
            task.id, score, cause, usage.calls, usage.tokens, usage.cost, round(time.monotonic() - started, 3)
        )
    finally:
        swarm.close()


async def run_suite(
    suite: str,
    tasks: Sequence[Task],
    llm: LLMClient,
    space: Path,
    *,
    allow_exec: bool = False,
    limits: Limits | None = None,
    parallel: int = 4,
    timeout: float = 10.0,
    settings: SwarmSettings | None = None,
    on_task: Callable[[TaskResult], None] | None = None,
) -> SuiteResult:
    """Run ``tasks`` (each as a full swarm), ``parallel`` at a time; score each deterministically."""
    base = settings or SwarmSettings(models=llm.settings)
    settings = base.model_copy(update={"allow_exec": allow_exec, "limits": limits or base.limits})
    gate = asyncio.Semaphore(max(1, parallel))
    result = SuiteResult(suite)
    started = time.monotonic()

    async def guarded(task: Task) -> TaskResult:
        async with gate:
            done = await _one(task, llm, space, settings, timeout)
        if on_task is not None:
            on_task(done)
        return done

    result.tasks = list(await asyncio.gather(*(guarded(t) for t in tasks)))
    result.wall_s = time.monotonic() - started
    return result


def failure_cause(status: str, reason: str | None) -> str:
    """A short, countable cause for a swarm that did not finish with a report."""
    text = (reason or "").lower()
    if status == "finished":
        return "empty report"
    if status == "limit":
        match = re.search(r"limit reached: (\w+)", text)
        return f"limit {match.group(1) if match else 'reached'}"
    if "model endpoint" in text or "model request" in text or "model call" in text:
        return f"swarm {status}: model error"
    if "does not match" in text or "refused" in text or "invalid" in text:
        return f"swarm {status}: unusable model output"
    if status == "questions":
        return "swarm asked the user"
    return f"swarm {status}"


def format_results(results: Sequence[SuiteResult]) -> str:
    lines = [f"{'suite':<11} {'pass':>9} {'rate':>6} {'calls':>6} {'tokens':>8} {'cost $':>9} {'wall s':>7}  failures"]
    for res in results:
        t = res.totals()
        failures = ", ".join(f"{k} ×{v}" for k, v in t["failures"].items()) or "-"
        lines.append(
            f"{res.suite:<11} {t['passed']:>4}/{t['tasks']:<4} {t['pass_rate']:>6.0%} {t['calls']:>6} "
            f"{t['tokens']:>8} {t['cost']:>9.4f} {t['wall_s']:>7.1f}  {failures}"
        )
    return "\n".join(lines)
