"""The labels prompts put before their parts, which the test doubles key on.

Why constants: the scripted test model (``swarm_star.testing.scripted``) finds
what a request is about from its label (``Directive:``, ``Task:``, ``Need:``),
whether the user answered from ``User answers:``, and the workers' reports after
``Reports:``; the local server finds a schema sent in the prompt after
:data:`SCHEMA_MARKER`. The templates in this package and the doubles both use
these names, so changing a label changes both, instead of silently breaking the
doubles. (The doubles key on the reply schemas' class names too: they import
the classes from the role modules, and :data:`ROUTE_CHOICE` for the router's.)
"""

from __future__ import annotations

__all__ = [
    "DIRECTIVE",
    "DIRECTIVE_LABELS",
    "NEED",
    "NO_ANSWERS",
    "OPTIONS_IN",
    "QA_ANSWER",
    "QA_QUESTION",
    "REPORT",
    "REPORTS",
    "ROUTE_CHOICE",
    "SCHEMA_MARKER",
    "TASK",
    "TOOL_RESULT",
    "USER_ANSWERS",
    "stable_end",
]

DIRECTIVE = "Directive: "
"""Starts the user message of a planner or a reviewer: the node's directive follows."""
TASK = "Task: "
"""Starts the user message of a worker, router or verifier: the task follows."""
NEED = "Need: "
"""Starts the user message that decides whether the user's answers are enough."""
DIRECTIVE_LABELS = (DIRECTIVE, TASK, NEED)
"""Every label a request's subject follows (what a double reads as "the directive")."""
_SUBJECT_STARTS = tuple(f"\n\n{label}" for label in DIRECTIVE_LABELS)
USER_ANSWERS = "User answers:\n"
"""The planner's section with what the user answered (:data:`NO_ANSWERS` when nothing)."""
NO_ANSWERS = "(none)"
REPORTS = "Reports:\n"
"""The reviewer's section with the parts' reports, one entry each."""
REPORT = "report: "
"""Starts the report line of a part that finished, in the reviewer's entries."""
QA_QUESTION = "Q: "
QA_ANSWER = "A: "
"""A question and the user's answer, in the transcript the follow-up decision reads."""
OPTIONS_IN = "Options in "
"""Heads the menu of a router's request: the folder's name and its options follow."""
SCHEMA_MARKER = "matches this JSON schema:\n"
"""Precedes the JSON schema when a request carries it in the prompt (no response_format)."""
ROUTE_CHOICE = "RouteChoice"
"""The class name of the router's reply schema (one class per menu, built at run time)."""
TOOL_RESULT = "Tool result:\n"
"""Starts the user message that carries what a tool call returned, in a tool leaf's conversation."""


def stable_end(content: str) -> int:
    """Where the variable part of a first user message starts: the first subject label after a
    blank line (the templates put what siblings share, the briefing, before it), or 0 when the
    message has no shared part. The native Anthropic client puts a cache breakpoint there.

    The first such label, not the last: the briefing could hold one (a directive quoting a
    prompt), and then the breakpoint caches a little less; a later one could sit inside the
    variable text (a report, the directive), and then every call would pay to write to the cache
    text that no other call reads."""
    found = [i for i in (content.find(start) for start in _SUBJECT_STARTS) if i > 0]
    return min(found, default=0)
