"""How one run goes: :class:`RunOptions`, the one argument of ``Swarm.run``/``resume``/``retry``.

What a run reports (frames, questions) and how it is steered while it goes
(answers, stop) are on the :class:`~swarm_star.api.handle.RunHandle` it
returns, so the options are plain data: they can be built once and reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from swarm_star.engine import Executor
from swarm_star.llm.protocol import ModelClient
from swarm_star.models import Limits, ModelSettings

if TYPE_CHECKING:
    from swarm_star.kit.pattern import Pattern

__all__ = ["RunOptions", "ray_executor"]


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """Everything a run may change from the swarm's stored settings, all optional.

    ``limits`` replaces the stored limits (how a stopped swarm is resumed with a
    raised budget). ``models`` replaces the stored model settings for this run
    only (a new timeout or endpoint on resume). With ``interactive`` the run
    waits for answers instead of stopping when only questions are left.
    ``llm`` is a model client to use (tests, custom transports; the caller
    closes it); without one a client is built from the model settings and
    ``env`` and closed after the run. ``executor`` runs activations elsewhere
    (:func:`ray_executor`: as Ray tasks); this process stays the only writer.
    ``poll_interval`` is how often the store's answer inbox is read;
    ``tune_gc`` tunes the garbage collector for the run and restores it after
    (see ``engine/gc_tuning.py``). ``mcp`` is an MCP servers file for this run
    instead of the stored one (``resume --mcp``, an operator's ``serve --mcp``;
    ``""``: no MCP servers for this run, whatever is stored);
    ``approvals`` are approval rules added for this run (``resume --approve``).
    ``yes``: this run's ``--allow-exec`` commands run without asking (``--yes``).
    ``patterns`` are orchestration pattern objects this run may need (your own
    :class:`~swarm_star.kit.Pattern` subclasses, built-ins with Python callables):
    they are code, so they are not stored; give them to every run of the swarm.
    """

    limits: Limits | None = None
    models: ModelSettings | None = None
    interactive: bool = False
    llm: ModelClient | None = None
    executor: Executor | None = None
    env: Mapping[str, str] | None = None
    poll_interval: float = 0.25
    tune_gc: bool = True
    mcp: str | Path | None = None
    approvals: Mapping[str, str] | None = None
    yes: bool = False
    patterns: Sequence[Pattern] = ()


def ray_executor(address: str | None = None, *, num_cpus: int | None = 2) -> Executor:
    """Activations as Ray tasks on the cluster at ``address`` (None: a local Ray instance
    with ``num_cpus``). Ray is imported here, only when asked for (the ``ray`` extra)."""
    from swarm_star.engine.ray_executor import RayExecutor

    return RayExecutor(address=address, num_cpus=num_cpus)
