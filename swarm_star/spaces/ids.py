"""The ids of the installed actions that code names: the root, the manager, its review, the router.

An action's id is its path in ``actions/`` with dots (``planning/decompose_directive.py``
is ``planning.decompose_directive``). The API spawns the root by id; the actions
spawn managers, routers and question askers by id. Here once, below the engine
and the kit, so the API and the actions (through ``swarm_star.kit``) share them;
a test checks that each names a leaf of the installed tree.
"""

from __future__ import annotations

__all__ = [
    "ANSWER",
    "ASK_USER",
    "MANAGER",
    "ORGANIZE",
    "PATTERN",
    "PATTERN_STEP",
    "REVIEW",
    "ROOT",
    "ROUTER",
    "WEB_SEARCH",
]

ROOT = "core.root"
"""The root node: keeps the directive and context, spawns the first manager, reports."""
MANAGER = "planning.decompose_directive"
"""A manager: plans a directive into parts, reviews them, runs follow-up rounds."""
REVIEW = "planning.review_reports"
"""The manager's review of a finished round (called by the manager, not routed to)."""
ORGANIZE = "memory.organize_context"
"""Sorts many context files into topic folders of the memory space before the manager starts."""
ROUTER = "routing.route_action"
"""A router: walks the action space to the leaf that does a part."""
ASK_USER = "interaction.ask_user_questions"
"""Asks the user; a manager spawns it when its plan needs facts only the user has."""
ANSWER = "core.answer"
"""The plain worker: one model reply (an orchestration pattern's default worker)."""
WEB_SEARCH = "tools.web.search"
"""The built-in web search leaf (Dream Swarm's worker when a search server is configured)."""
PATTERN = "patterns.run"
"""An orchestration pattern's node (cascade, swarm, sequential, conditional, iterative, your own)."""
PATTERN_STEP = "patterns.step"
"""A subtask of a pattern whose ``execute`` hook is its own Python code."""
