"""What an action may need from the swarm, and which of those needs are met.

A leaf declares ``LeafSpec(needs=(...))``; the loader refuses names not listed
here (a typo would otherwise hide an action silently), routers only show
leaves whose every need is in :func:`met_needs`, and a leaf that runs anyway
without them (spawned directly, or a swarm recorded before it declared them)
refuses instead of running (:func:`missing_needs`, checked by the engine for
every activation): a refusal sends its router to another option, where a
failure took the whole swarm down (issue 21: ``code/create_action`` was
offered with creating actions off, and failed).
"""

from __future__ import annotations

from pathlib import Path

from swarm_star.models import SwarmSettings

__all__ = ["NEEDS", "met_needs", "missing_needs", "needs_refusal"]

NEEDS: dict[str, str] = {
    "hostfile": "a hostfile of LLM agents is configured (--hostfile)",
    "allow_exec": "the user allowed running code the swarm writes (--allow-exec)",
    "create_actions": "the user let the swarm add actions to its own action space (--create-actions)",
    "workspace": "the swarm's git workspace already exists (something was written)",
}


def met_needs(settings: SwarmSettings, swarm_dir: Path | None) -> frozenset[str]:
    """The needs this swarm satisfies right now."""
    met: set[str] = set()
    if settings.hostfile:
        met.add("hostfile")
    if settings.allow_exec:
        met.add("allow_exec")
        if settings.code.create_actions:
            met.add("create_actions")
    if swarm_dir is not None and (swarm_dir / "workspace" / ".git").is_dir():
        met.add("workspace")
    return frozenset(met)


def missing_needs(needs: list[str] | tuple[str, ...], settings: SwarmSettings, swarm_dir: Path | None) -> list[str]:
    """The needs of a leaf that this swarm does not meet right now, in declared order."""
    met = met_needs(settings, swarm_dir)
    return [need for need in needs if need not in met]


def needs_refusal(missing: list[str]) -> str:
    """Why a leaf refuses to run: what it needs, in the user's words."""
    return "unmet needs: " + "; ".join(NEEDS.get(need, need) for need in missing)
