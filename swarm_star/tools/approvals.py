"""Approval policy: is a tool call allowed, asked of the user first, or denied?

Rules are ``pattern -> allow | ask | deny`` over tool paths (``tools/<server>/<tool>``,
shell-style ``*`` and ``?``): first the MCP servers file's ``approvals``, then the
swarm's own (``--approve PATTERN=POLICY``), and the last rule that matches wins.
Without a matching rule the tool's annotations decide: ``readOnlyHint`` is
allowed, anything else (``destructiveHint``, or no annotation at all) is asked;
the built-in web tools only read, so they are allowed.

An ``ask`` becomes a question of the node that wants the call (only that node
parks; its siblings go on): :class:`ApprovalNeeded` carries the question, whose
words say exactly which call is meant. The answer is read by :func:`approved`.
The question is part of the node's record, so an approval or a denial survives
any restart, and a re-run of the activation finds it again.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from typing import Any

from swarm_star.models.config import ApprovalPolicy

__all__ = [
    "APPROVAL_PREFIX",
    "ApprovalNeeded",
    "Denied",
    "Policy",
    "action_question",
    "approval_question",
    "approved",
    "decide",
    "exec_question",
    "is_approval",
    "match_rule",
    "parse_rule",
]

Policy = ApprovalPolicy  # the one definition lives with the settings that store it
POLICIES: tuple[Policy, ...] = ("allow", "ask", "deny")
APPROVAL_PREFIX = "Approve the tool call "
ACTION_PREFIX = "Approve the action "
EXEC_PREFIX = "Approve the command "
YES = frozenset({"y", "yes", "approve", "approved", "allow", "ok", "okay", "run it"})


class ApprovalNeeded(Exception):
    """A call needs the user's approval: the activation parks its node with ``question``."""

    def __init__(self, question: str) -> None:
        super().__init__(question)
        self.question = question


class Denied(Exception):
    """A step was denied (by a rule or by the user): the node reports this instead of running it,
    and its manager plans around the report."""


def parse_rule(text: str) -> tuple[str, Policy]:
    """``tools/filesystem/*=ask`` -> (pattern, policy); ValueError says what is wrong."""
    pattern, sep, policy = text.rpartition("=")
    policy = policy.strip().lower()
    if not sep or not pattern.strip() or policy not in POLICIES:
        raise ValueError(f"--approve takes PATTERN=allow|ask|deny, got {text!r}")
    return pattern.strip(), policy


def decide(
    path: str,
    *,
    read_only: bool | None,
    destructive: bool | None,
    rules: Iterable[Mapping[str, str]] = (),
    built_in: bool = False,
) -> tuple[Policy, str]:
    """(policy, why) for the call of ``path``: the last matching rule, else the annotations."""
    chosen = match_rule(path, rules)
    if chosen is not None:
        return chosen
    if built_in:
        return "allow", "built-in, read only"
    if read_only:
        return "allow", "readOnlyHint"
    if destructive:
        return "ask", "destructiveHint"
    return "ask", "not marked read-only" if read_only is False else "not annotated"


def match_rule(path: str, rules: Iterable[Mapping[str, str]]) -> tuple[Policy, str] | None:
    """(policy, why) of the last rule whose pattern matches ``path``; None when none does.
    Paths are tool paths (``tools/git/commit``) or action paths (``code/write_code``)."""
    chosen: tuple[Policy, str] | None = None
    for table in rules:
        for pattern, policy in table.items():
            if fnmatch.fnmatchcase(path, pattern) and policy in POLICIES:
                chosen = (policy, f"rule {pattern}={policy}")
    return chosen


def action_question(path: str, directive: str, why: str) -> str:
    """The question that asks before a node runs the action at ``path`` for ``directive``."""
    shown = json.dumps(directive, ensure_ascii=False)
    return f"{ACTION_PREFIX}{path} for {shown}? ({why}) Answer yes to run it, no to deny it."


def exec_question(command: str) -> str:
    """The question that asks before a swarm-written command runs (``--allow-exec`` without ``--yes``)."""
    why = "--allow-exec without --yes"
    shown = json.dumps(command, ensure_ascii=False)
    return f"{EXEC_PREFIX}{shown} in the swarm's workspace? ({why}) Answer yes to run it, no to deny it."


def approval_question(path: str, arguments: Mapping[str, Any], why: str) -> str:
    """The question that asks for one exact call (the same call always asks the same words)."""
    args = json.dumps(dict(arguments), ensure_ascii=False, sort_keys=True)
    return f"{APPROVAL_PREFIX}{path} with {args}? ({why}) Answer yes to run it, no to deny it."


def is_approval(question: str) -> bool:
    return question.startswith((APPROVAL_PREFIX, ACTION_PREFIX, EXEC_PREFIX))


def approved(answer: str) -> bool:
    """Is this answer a yes? Anything else denies (a denial is safe; an unclear yes is not)."""
    return " ".join(answer.lower().strip(" .!").split()) in YES
