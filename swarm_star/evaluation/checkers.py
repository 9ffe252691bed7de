"""Deterministic checkers: a score of 1 or 0 for a strategy's final answer, and why.

Reasoning tasks: the last ``ANSWER:`` line of the answer (the whole answer if
there is none) goes to the dataset's own ``score_answer``; a score of 1 passes.
Code tasks: the last ```python block is run with the problem's tests — only
with ``--allow-exec``, in the sandbox (``swarm_star/sandbox``: bubblewrap, no
network, the check's folder the only writable place), with a timeout.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from swarm_star.errors import SwarmStarError
from swarm_star.evaluation.tasks import Task
from swarm_star.sandbox import ExecLimits, run_sandboxed

__all__ = [
    "NOT_RUN",
    "check",
    "check_code",
    "check_reasoning",
    "extract_answer",
    "extract_code",
    "normalized",
    "outcome_of",
]

NOT_RUN = "not run (needs --allow-exec)"
_ANSWER = re.compile(r"^\s*\**ANSWER\**\s*:\s*(.+?)\s*$", re.I | re.M)
_CODE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)
_CHECK_NOTE = re.compile(r"\s*\[(?:not )?verified[^\]]*\]\s*$")
"""The note a checked answer carries in the report's parts (``kit/verify.py``: ``Checked.note``)."""


def outcome_of(report: str) -> str:
    """The swarm's answer: the final report up to its ``## Parts`` (the parts' own reports, kept
    with their code blocks and ANSWER lines since issue 26, are how it got there, not the answer)."""
    return report.split("\n## Parts\n", 1)[0]


def extract_answer(report: str) -> str | None:
    outcome = outcome_of(report)
    found = _ANSWER.findall(outcome)
    if found:
        return _CHECK_NOTE.sub("", str(found[-1])).strip().strip("`*").strip()
    return outcome.strip() or None


def extract_code(report: str) -> str | None:
    blocks = _CODE.findall(outcome_of(report))
    return str(blocks[-1]) if blocks else None


def normalized(task: Task, report: str) -> str | None:
    """What a vote counts: the answer, or the code block, with case and spacing evened out."""
    found = extract_code(report) if task.suite == "humaneval" else extract_answer(report)
    return " ".join(found.split()).lower() if found else None


def check_reasoning(task: Task, report: str) -> tuple[float, str | None]:
    answer = extract_answer(report)
    if answer is None:
        return 0.0, "no answer"
    score = float(task.data["dataset"].score_answer(answer, task.data["entry"]) or 0.0)
    return (1.0, None) if score >= 1.0 else (0.0, "wrong answer")


async def check_code(
    task: Task, report: str, folder: Path, *, allow_exec: bool, sandbox: str, timeout: float
) -> tuple[float, str | None]:
    code = extract_code(report)
    if code is None:
        return 0.0, "no code block"
    if not allow_exec:
        return 0.0, NOT_RUN
    entry = task.data["entry_point"]
    if f"def {entry}" not in code:
        code = task.data["prompt"] + code
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eval_check.py").write_text(f"{code}\n\n{task.data['test']}\n\ncheck({entry})\n", encoding="utf-8")
    try:
        result = await run_sandboxed(
            [sys.executable, "eval_check.py"],
            sandbox=sandbox,
            workspace=folder,
            limits=ExecLimits(timeout=timeout, output_cap=1000),
        )
    except SwarmStarError as exc:
        return 0.0, f"check failed: {exc}"
    if result.timed_out:
        return 0.0, "timeout"
    return (1.0, None) if result.exit_code == 0 else (0.0, "tests failed")


async def check(
    task: Task, report: str, folder: Path, *, allow_exec: bool, sandbox: str, timeout: float
) -> tuple[float, str | None]:
    """Score ``report`` for ``task`` with the checker of its suite."""
    if task.suite == "humaneval":
        return await check_code(task, report, folder, allow_exec=allow_exec, sandbox=sandbox, timeout=timeout)
    return check_reasoning(task, report)
