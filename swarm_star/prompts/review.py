"""The reviewer's prompt: judge a round's reports against the directive (``planning/review_reports``).

The reports are the bulk of the request; around them the words are few: each part
is named by its number in the plan (not its node id, which says nothing to a
model and costs a dozen tokens), and the schema does not repeat what the system
prompt says its fields are for.
"""

from __future__ import annotations

from swarm_star.prompts.labels import DIRECTIVE, REPORT, REPORTS
from swarm_star.prompts.structured import Reply

__all__ = ["REVIEWER_SYSTEM", "Review", "failed_entry", "report_entry", "review_messages"]

REVIEWER_SYSTEM = (
    "You review the reports of workers against the directive. "
    "Write one consolidated report of what was achieved (the content itself, not a "
    "summary of who did what). If something essential is missing or failed, say what "
    "still needs doing in next_directive."
)


class Review(Reply):
    """A review."""

    directive_met: bool
    report: str
    next_directive: str = ""


def report_entry(number: int, directive: str, report: str) -> str:
    """Part ``number`` (1-based, the plan's order) that finished, as the reviewer reads it."""
    return f"{number}. {directive}\n  {REPORT}{report}"


def failed_entry(number: int, directive: str, error: str) -> str:
    """Part ``number`` that failed or reported nothing usable, as the reviewer reads it."""
    return f"{number}. FAILED: {directive}\n  error: {error}"


def review_messages(directive: str, briefing: str, reports: str) -> list[dict[str, str]]:
    """The reviewer's request; ``reports`` is one entry per part (see :func:`report_entry`)."""
    return [
        {"role": "system", "content": REVIEWER_SYSTEM},
        {"role": "user", "content": f"{briefing}\n\n{DIRECTIVE}{directive}\n\n{REPORTS}{reports}".lstrip()},
    ]
