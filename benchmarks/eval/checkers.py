"""Deterministic checkers: a score of 1 or 0 for a swarm's final report, and why.

Reasoning tasks: the last ``ANSWER:`` line of the report (the whole report if
there is none) goes to the dataset's own ``score_answer``; a score of 1 passes.
Code tasks: the last ```python block is run with the problem's tests — only
with ``--allow-exec``, inside the swarm's workspace, with a timeout.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from benchmarks.eval.tasks import Task
from swarm_star.errors import WorkspaceError
from swarm_star.kit.workspace import Workspace

__all__ = ["check_code", "check_reasoning", "extract_answer", "extract_code", "outcome_of"]

_ANSWER = re.compile(r"^\s*\**ANSWER\**\s*:\s*(.+?)\s*$", re.I | re.M)
_CODE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


def outcome_of(report: str) -> str:
    """The swarm's answer: the final report up to its ``## Parts`` (the parts' own reports, kept
    with their code blocks and ANSWER lines since issue 26, are how it got there, not the answer)."""
    return report.split("\n## Parts\n", 1)[0]


def extract_answer(report: str) -> str | None:
    outcome = outcome_of(report)
    found = _ANSWER.findall(outcome)
    if found:
        return found[-1].strip().strip("`*").strip()
    return outcome.strip() or None


def extract_code(report: str) -> str | None:
    blocks = _CODE.findall(outcome_of(report))
    return blocks[-1] if blocks else None


def check_reasoning(task: Task, report: str) -> tuple[float, str | None]:
    answer = extract_answer(report)
    if answer is None:
        return 0.0, "no answer"
    score = float(task.data["dataset"].score_answer(answer, task.data["entry"]) or 0.0)
    return (1.0, None) if score >= 1.0 else (0.0, "wrong answer")


def check_code(
    task: Task, report: str, workspace: Path, *, allow_exec: bool, timeout: float
) -> tuple[float, str | None]:
    code = extract_code(report)
    if code is None:
        return 0.0, "no code block"
    if not allow_exec:
        return 0.0, "not run (needs --allow-exec)"
    entry = task.data["entry_point"]
    if f"def {entry}" not in code:
        code = task.data["prompt"] + code
    program = f"{code}\n\n{task.data['test']}\n\ncheck({entry})\n"
    ws = Workspace(workspace)
    try:
        ws.write("eval_check.py", program, f"Evaluation check for {task.id}")
        result = ws.run([sys.executable, "eval_check.py"], allowed=True, timeout=timeout, output_cap=1000)
    except WorkspaceError as exc:
        return 0.0, f"check failed: {exc}"
    if result.timed_out:
        return 0.0, "timeout"
    return (1.0, None) if result.passed else (0.0, "tests failed")
