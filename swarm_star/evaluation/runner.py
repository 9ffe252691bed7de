"""Run the strategies side by side on the same tasks, in an evaluation space of their own.

Strategies (each gets the task's directive verbatim, so the output format is
the same and one checker scores them all):

- ``single``: one call to the worker model with the swarm's own answer prompt;
- ``vote``: ``votes`` such calls (sampled at :data:`VOTE_TEMPERATURE`), the
  most frequent answer wins (self-consistency; a tie goes to the earliest);
- ``swarm``: a full swarm per task (plan, route, act, review, report);
- ``swarm+verify``: the same with verification and repair on every answer
  (``VerifySettings(actions=["code", "core.answer"])``).

The space is a swarm space: every swarm a strategy ran is there under its
task's id (``swarm-star tree ID --space SPACE``), ``eval.json`` holds what the
run compares, and each finished trial is a line of ``trials.jsonl`` the moment
it ends. Running again on the same space continues: finished trials are read
back, interrupted swarms resume where their history stops (recorded model
calls are not paid again); only single/vote calls cut off mid-flight are made
again.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from swarm_star.api import RunOptions, Swarm
from swarm_star.errors import InputError, ModelUnreachable, SwarmNotFound, SwarmStarError
from swarm_star.evaluation.checkers import check, normalized
from swarm_star.evaluation.tasks import STRATEGIES, Task
from swarm_star.llm.routing import ModelRouter
from swarm_star.models import SwarmSettings, Usage
from swarm_star.models.config import VerifySettings
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.worker import answer_messages

__all__ = [
    "CONFIG_FILE",
    "STRATEGIES",
    "TRIALS_FILE",
    "VOTE_TEMPERATURE",
    "EvalConfig",
    "Trial",
    "failure_cause",
    "read_trials",
    "run_eval",
    "swarm_id_for",
]

VOTE_TEMPERATURE = 0.8
CONFIG_FILE = "eval.json"
TRIALS_FILE = "trials.jsonl"
ANSWER_KEPT = 4000  # characters of each final answer kept in trials.jsonl
UNREACHABLE = ("model error: ModelUnreachable", "swarm unreachable")
"""Causes that stop the evaluation (the endpoint is gone) instead of failing a trial."""


@dataclass(frozen=True)
class EvalConfig:
    """What an evaluation compares. ``plan()`` is what must match for a space to be continued."""

    suites: tuple[str, ...]
    count: int
    seed: int
    datasets: tuple[str, ...]
    strategies: tuple[str, ...] = STRATEGIES
    votes: int = 5
    allow_exec: bool = False
    sandbox: str = "bwrap"
    check_timeout: float = 10.0
    parallel: int = 4
    model: str = ""

    def plan(self) -> dict[str, Any]:
        fields = ("suites", "count", "seed", "datasets", "strategies", "votes", "allow_exec", "model")
        return {name: list(v) if isinstance(v := getattr(self, name), tuple) else v for name in fields}


@dataclass
class Trial:
    """One strategy on one task: pass or fail (and why), and what it cost."""

    suite: str
    task: str
    strategy: str
    passed: bool
    cause: str | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    unpriced_calls: int
    seconds: float
    swarm_id: str | None = None
    answer: str = ""

    @classmethod
    def of(
        cls,
        task: Task,
        strategy: str,
        score: tuple[float, str | None],
        usage: Usage,
        seconds: float,
        answer: str,
        swarm_id: str | None = None,
    ) -> Trial:
        passed = score[0] >= 1.0
        return cls(
            task.suite,
            task.id,
            strategy,
            passed,
            None if passed else (score[1] or "failed"),
            usage.calls,
            usage.prompt_tokens,
            usage.completion_tokens,
            round(usage.cost, 8),
            usage.unpriced_calls,
            round(seconds, 3),
            swarm_id,
            answer[:ANSWER_KEPT],
        )


def swarm_id_for(strategy: str, task: Task) -> str:
    """The id of the swarm ``strategy`` ran for ``task`` (a swarm id takes letters, digits, '.', '-')."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", f"{strategy.replace('+', '-')}-{task.id}")


def read_trials(space: Path) -> list[Trial]:
    path = space / TRIALS_FILE
    if not path.is_file():
        return []
    trials = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                trials.append(Trial(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a line cut short by a kill: that trial runs again
    return trials


def claim_space(space: Path, config: EvalConfig) -> None:
    """Write ``eval.json``, or check that the one there compares the same thing."""
    space.mkdir(parents=True, exist_ok=True)
    path = space / CONFIG_FILE
    wanted = config.plan()
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8")).get("plan", {})
        except ValueError:
            stored = {}
        differ = sorted(k for k in wanted if stored.get(k) != wanted[k])
        if differ:
            raise InputError(
                f"{space} holds another evaluation (different {', '.join(differ)}): "
                "give a new --space, or the same flags to continue it"
            )
        return
    if any(space.iterdir()):
        raise InputError(f"{space} is not empty and holds no evaluation: give an empty or new --space")
    path.write_text(json.dumps({"plan": wanted, "config": asdict(config)}, indent=2) + "\n", encoding="utf-8")


async def run_eval(
    config: EvalConfig,
    tasks: Sequence[Task],
    settings: SwarmSettings,
    space: Path,
    *,
    env: Mapping[str, str] | None = None,
    on_trial: Callable[[Trial], None] | None = None,
) -> list[Trial]:
    """Every strategy of ``config`` on every task (``parallel`` tasks at a time);
    the trials already in ``space`` are kept. Returns all trials, in task then strategy order."""
    claim_space(space, config)
    done = {(t.task, t.strategy): t for t in read_trials(space)}
    gate = asyncio.Semaphore(max(1, config.parallel))
    llm = ModelRouter(settings.models, env)  # single and vote's calls (a swarm builds its own)
    log = (space / TRIALS_FILE).open("a", encoding="utf-8")
    unreachable: list[str] = []

    async def one(task: Task) -> None:
        """The task's strategies one after the other, in the configured order (so a scripted model's
        dice fall the same way whatever the timing of other tasks)."""
        async with gate:
            for strategy in config.strategies:
                if (task.id, strategy) in done:
                    continue
                if unreachable:  # the endpoint is gone: the rest waits for the next run
                    return
                trial = await _trial(task, strategy, config, settings, space, llm, env)
                if trial.cause in UNREACHABLE:  # not the task's fault: not recorded, run again next time
                    unreachable.append(trial.cause)
                    return
                log.write(json.dumps(asdict(trial)) + "\n")
                log.flush()
                done[(task.id, strategy)] = trial
                if on_trial is not None:
                    on_trial(trial)

    try:
        await asyncio.gather(*(one(task) for task in tasks))
    finally:
        log.close()
        await llm.aclose()
    if unreachable:
        raise ModelUnreachable(f"the model endpoint could not be reached ({unreachable[0]})")
    return [done[(task.id, s)] for task in tasks for s in config.strategies if (task.id, s) in done]


async def _trial(
    task: Task,
    strategy: str,
    config: EvalConfig,
    settings: SwarmSettings,
    space: Path,
    llm: ModelRouter,
    env: Mapping[str, str] | None,
) -> Trial:
    started = time.monotonic()
    folder = space / "checks" / swarm_id_for(strategy, task)
    if strategy in ("single", "vote"):
        answer, usage, cause = await _calls(task, llm, 1 if strategy == "single" else config.votes)
        swarm_id = None
    else:
        swarm_id = swarm_id_for(strategy, task)
        answer, usage, cause = await _swarm(task, swarm_id, _settings_for(strategy, settings, config), space, env)
    score = (0.0, cause)
    if cause is None:
        score = await check(
            task, answer, folder, allow_exec=config.allow_exec, sandbox=config.sandbox, timeout=config.check_timeout
        )
    return Trial.of(task, strategy, score, usage, time.monotonic() - started, answer, swarm_id)


def _settings_for(strategy: str, settings: SwarmSettings, config: EvalConfig) -> SwarmSettings:
    code = settings.code.model_copy(update={"sandbox": config.sandbox})
    update: dict[str, Any] = {"allow_exec": config.allow_exec, "code": code}
    if strategy == "swarm+verify":
        actions = sorted({*settings.verify.actions, "code", "core.answer"})
        update["verify"] = VerifySettings.model_validate({**settings.verify.model_dump(), "actions": actions})
    return settings.model_copy(update=update)


async def _calls(task: Task, llm: ModelRouter, n: int) -> tuple[str, Usage, str | None]:
    """``n`` answer calls (sampled when ``n`` > 1); the most frequent answer, all the usage, or why none."""
    messages = answer_messages(task.directive, "", [])
    temperature = VOTE_TEMPERATURE if n > 1 else None

    async def call() -> tuple[str | None, Usage, str | None]:
        try:
            reply = await llm.chat(messages, role="worker", purpose=Purpose.ANSWER, temperature=temperature)
        except SwarmStarError as exc:
            partial = getattr(exc, "partial", None)
            return None, partial.usage if partial is not None else Usage(), _call_cause(exc)
        return reply.text, reply.usage, None

    replies = await asyncio.gather(*(call() for _ in range(n)))
    usage = Usage()
    for _, used, _ in replies:
        usage = usage.plus(used)
    texts = [text for text, _, _ in replies if text is not None and text.strip()]
    if not texts:
        errors = [error for _, _, error in replies if error]
        return "", usage, errors[0] if errors else "empty reply"
    counts = Counter(normalized(task, text) for text in texts)
    winner = max(counts, key=lambda key: (key is not None, counts[key]))  # the earliest of the most frequent
    return next(t for t in texts if normalized(task, t) == winner), usage, None


async def _swarm(
    task: Task, swarm_id: str, settings: SwarmSettings, space: Path, env: Mapping[str, str] | None
) -> tuple[str, Usage, str | None]:
    """A full swarm for ``task`` (continued if the space has it already): its report, usage, or why none."""
    try:
        swarm = Swarm.open(swarm_id, space=space, env=env)
    except SwarmNotFound:
        swarm = Swarm.create(task.directive, settings=settings, space=space, swarm_id=swarm_id, env=env)
    with swarm:
        try:
            outcome = await swarm.run(RunOptions(env=env, yes=settings.allow_exec, tune_gc=False))
        except SwarmStarError as exc:
            return "", swarm.state.usage, f"swarm error: {type(exc).__name__}"
        usage = swarm.state.usage
        if outcome.status != "finished" or not outcome.report:
            return outcome.report or "", usage, failure_cause(outcome.status, outcome.reason)
        return outcome.report, usage, None


def _call_cause(exc: SwarmStarError) -> str:
    """Why a call failed; a timeout is the endpoint's answer for this task (a slow model), not an outage."""
    if isinstance(exc, ModelUnreachable) and "timed out" in str(exc):
        return "model timeout"
    return f"model error: {type(exc).__name__}"


def failure_cause(status: str, reason: str | None) -> str:
    """A short, countable cause for a swarm that did not finish with a report."""
    text = (reason or "").lower()
    if status == "finished":
        return "empty report"
    if status == "unreachable":
        return "swarm paused: model timeout" if "timed out" in text else "swarm unreachable"
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
