"""The words of the evaluation suites (``swarm-star eval``): how a task asks for its answer.

Every strategy (one call, a vote, a swarm) gets the same directive, so the
output format is the same and one checker scores them all. The ``[task ID]``
tag lets the scripted answer-key model (``swarm_star/testing/answer_key.py``)
find which task a request is about.
"""

from __future__ import annotations

__all__ = ["ANSWER_RULE", "CODE_RULE", "code_directive", "reasoning_directive", "task_tag"]

ANSWER_RULE = "End your report with one last line of the form 'ANSWER: <answer>' and nothing after it."
CODE_RULE = (
    "Reply with the complete Python function (signature and body, with any imports it needs) "
    "in one ```python code block."
)


def task_tag(task_id: str) -> str:
    return f"[task {task_id}]"


def reasoning_directive(task_id: str, question: str) -> str:
    return f"{task_tag(task_id)} {question.strip()}\n\n{ANSWER_RULE}"


def code_directive(task_id: str, entry_point: str, prompt: str) -> str:
    return f"{task_tag(task_id)} Implement the Python function `{entry_point}` described below. {CODE_RULE}\n\n{prompt}"
