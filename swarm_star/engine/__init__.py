"""The engine: interprets operations, schedules activations, enforces limits."""

from swarm_star.engine.context import ActionContext, normalize_directive
from swarm_star.engine.loop import INBOX_PREFIX, Engine, RunOutcome

__all__ = ["INBOX_PREFIX", "ActionContext", "Engine", "RunOutcome", "normalize_directive"]
