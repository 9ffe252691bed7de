"""The engine: the single writer's loop, its scheduler, budget and call journal (see docs/architecture.md)."""

from swarm_star.engine.context import ActionContext, normalize_directive
from swarm_star.engine.host import ActionHost, Executor
from swarm_star.engine.inbox import INBOX_PREFIX
from swarm_star.engine.loop import Engine, RunOutcome

__all__ = ["INBOX_PREFIX", "ActionContext", "ActionHost", "Engine", "Executor", "RunOutcome", "normalize_directive"]
