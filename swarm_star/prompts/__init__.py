"""Every word the swarm says to a model, as named templates per role.

One module per role: :mod:`~swarm_star.prompts.planning` (the manager's plan),
:mod:`~swarm_star.prompts.review` (the manager's review),
:mod:`~swarm_star.prompts.routing` (a router's step through a space),
:mod:`~swarm_star.prompts.worker` (answer, ask the user, note, util arguments),
:mod:`~swarm_star.prompts.memory` (sort the user's context into topic folders),
:mod:`~swarm_star.prompts.code` (change the workspace, write an action),
:mod:`~swarm_star.prompts.verify` (judge a result),
:mod:`~swarm_star.prompts.swarm` (fan-out, hostfile patterns, batch split),
:mod:`~swarm_star.prompts.patterns` (the orchestration patterns' tiers, steps and branches),
:mod:`~swarm_star.prompts.tools` (a tool leaf's steps),
:mod:`~swarm_star.prompts.evaluation` (the evaluation suites' task directives),
:mod:`~swarm_star.prompts.briefing` (the block every prompt carries) and
:mod:`~swarm_star.prompts.structured` (what the client adds for JSON replies).
Each holds its system prompts, its user templates (functions that return the
messages), and the reply schemas the model fills (their docstrings and field
descriptions are sent to the model too).

:mod:`~swarm_star.prompts.labels` holds the labels test doubles key on, and
:class:`~swarm_star.prompts.purpose.Purpose` why each call is made, with its
completion cap. Why one place: the wording is a contract (a recorded reply
answers only the request it was recorded for, and the test doubles read the
labels), so it is changed here, deliberately, and nowhere else. This package
imports nothing from the rest of Swarm Star.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from swarm_star.prompts.purpose import Purpose

if TYPE_CHECKING:
    from swarm_star.prompts import (
        briefing,
        code,
        evaluation,
        labels,
        memory,
        patterns,
        planning,
        review,
        routing,
        structured,
        swarm,
        tools,
        verify,
        worker,
    )

__all__ = [
    "Purpose",
    "briefing",
    "code",
    "evaluation",
    "labels",
    "memory",
    "patterns",
    "planning",
    "review",
    "routing",
    "structured",
    "swarm",
    "tools",
    "verify",
    "worker",
]
_MODULES = frozenset(__all__) - {"Purpose"}


def __getattr__(name: str) -> Any:
    """Role modules load on first use: the model client needs only ``Purpose`` and the structured-output
    words, and a read-only CLI command should not build every reply schema at start-up."""
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
