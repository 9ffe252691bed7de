"""Sorting the user's context into topic folders (``memory/organize_context``, once per swarm).

The model sees the context entries numbered, each with its name and the start
of its text, and answers with topic folders that name the entries by number;
the action checks the grouping (every entry exactly once, short menus, sane
names) before it is recorded.
"""

from __future__ import annotations

from pydantic import Field

from swarm_star.prompts.structured import Reply

__all__ = ["ContextTopics", "Topic", "topics_messages"]

TOPICS_SYSTEM = (
    "You organise a project's files into topic folders so a reader can find one quickly. "
    "Put every numbered entry in exactly one folder."
)


class Topic(Reply):
    """One topic folder."""

    name: str = Field(description="a short folder name, one to four words")
    description: str = Field(description="one line: what the entries in this folder are about")
    entries: list[int] = Field(description="the numbers of the entries in this folder")


class ContextTopics(Reply):
    """Topic folders for the numbered entries: each entry in exactly one folder."""

    topics: list[Topic]


def topics_messages(entries: list[tuple[str, str]], *, most_topics: int, most_entries: int) -> list[dict[str, str]]:
    """Group ``entries`` (name, start of the text) into at most ``most_topics`` folders of at most
    ``most_entries`` entries each."""
    listing = "\n".join(f"{number}. {name}: {preview}" for number, (name, preview) in enumerate(entries, 1))
    return [
        {"role": "system", "content": TOPICS_SYSTEM},
        {
            "role": "user",
            "content": (
                f"Group these {len(entries)} entries into at most {most_topics} topic folders "
                f"of at most {most_entries} entries each, with distinct names.\n\nEntries:\n{listing}"
            ),
        },
    ]
