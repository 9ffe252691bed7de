"""What an action may need from the swarm, and which of those needs are met.

A leaf declares ``LeafSpec(needs=(...))``; the loader refuses names not listed
here (a typo would otherwise hide an action silently), and routers only show
leaves whose every need is in :func:`met_needs`.
"""

from __future__ import annotations

from pathlib import Path

from swarm_star.models import SwarmSettings

__all__ = ["NEEDS", "met_needs"]

NEEDS: dict[str, str] = {
    "hostfile": "a hostfile of LLM agents is configured (--hostfile)",
    "allow_exec": "the user allowed running code the swarm writes (--allow-exec)",
    "workspace": "the swarm's git workspace already exists (something was written)",
}


def met_needs(settings: SwarmSettings, swarm_dir: Path | None) -> frozenset[str]:
    """The needs this swarm satisfies right now."""
    met: set[str] = set()
    if settings.hostfile:
        met.add("hostfile")
    if settings.allow_exec:
        met.add("allow_exec")
    if swarm_dir is not None and (swarm_dir / "workspace" / ".git").is_dir():
        met.add("workspace")
    return frozenset(met)
