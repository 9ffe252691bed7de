"""The briefing block every planner, router, worker and reviewer prompt carries (``kit/briefing.py``).

The kit works out what a node should know (the chain of directives from the
root, the reports of the parts it builds on, relevant memory); this module
says it in words: one section each, empty sections left out.
"""

from __future__ import annotations

__all__ = ["CHAIN_HEADER", "MEMORY_HEADER", "PREREQUISITES_HEADER", "WHERE_FROM", "briefing_block", "chain_context"]

CHAIN_HEADER = "Where this task comes from (the goal first):\n"
PREREQUISITES_HEADER = "Results of the parts this task builds on:\n"
MEMORY_HEADER = "Known context (from memory):\n"
WHERE_FROM = "Where the task comes from:\n"


def briefing_block(chain: list[str], prerequisites: str, memory: str) -> str:
    """The briefing: the directive chain above the node (its own directive, the chain's last, is
    stated by every prompt itself; without it siblings share the block), then what it builds on,
    then what memory knows; an empty section is left out."""
    sections = []
    if len(chain) > 1:
        sections.append(CHAIN_HEADER + "\n".join(f"{i}. {d}" for i, d in enumerate(chain[:-1], 1)))
    if prerequisites:
        sections.append(PREREQUISITES_HEADER + prerequisites)
    if memory:
        sections.append(MEMORY_HEADER + memory)
    return "\n\n".join(sections)


def chain_context(chain: list[str]) -> str:
    """The directive chain as the context of a memory walk."""
    return WHERE_FROM + "\n".join(chain)
