"""The action and util spaces shipped with Swarm Star, loaded from the installed package.

Kept below the engine and the API because both load them: the API for a run
in this process, a Ray worker (``engine/ray_executor.py``) for the activations
it runs.
"""

from __future__ import annotations

from swarm_star.spaces.loader import Space, find_space_dir, load_space

__all__ = ["load_spaces"]


def load_spaces() -> tuple[Space, Space]:
    """The action and util spaces shipped with Swarm Star."""
    return (
        load_space(find_space_dir("actions"), "actions", "run"),
        load_space(find_space_dir("utils_space"), "utils", "call"),
    )
