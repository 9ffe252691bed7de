"""The reviewer's prompt: judge a round's reports against the directive (``planning/review_reports``)."""

from __future__ import annotations

from pydantic import Field

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
    """The reviewer's verdict on one round."""

    directive_met: bool
    report: str = Field(description="consolidated report of what was achieved")
    next_directive: str = Field("", description="what still needs doing, if not met")


def report_entry(node_id: str, directive: str, report: str) -> str:
    """A part that finished, as the reviewer reads it."""
    return f"- [{node_id}] {directive}\n  {REPORT}{report}"


def failed_entry(node_id: str, directive: str, error: str) -> str:
    """A part that failed or reported nothing usable, as the reviewer reads it."""
    return f"- [{node_id}] FAILED: {directive}\n  error: {error}"


def review_messages(directive: str, briefing: str, reports: str) -> list[dict[str, str]]:
    """The reviewer's request; ``reports`` is one entry per part (see :func:`report_entry`)."""
    return [
        {"role": "system", "content": REVIEWER_SYSTEM},
        {"role": "user", "content": f"{briefing}\n\n{DIRECTIVE}{directive}\n\n{REPORTS}{reports}".lstrip()},
    ]
