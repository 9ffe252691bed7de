"""What an activation needs from the process that runs it: the :class:`ActionHost` protocol.

An :class:`~swarm_star.engine.context.ActionContext` reads the tree and the
spaces and makes journaled calls through its host, never through the writer's
loop. Two hosts implement it:

* the writer (:class:`~swarm_star.engine.loop.Engine`): calls are recorded as
  frames and committed at its next pass;
* a Ray worker (``engine/ray_executor.py``'s ``WorkerHost``): the same
  :class:`~swarm_star.engine.journal.CallJournal` and budget, over a snapshot
  of the state, streaming each finished call back to the writer, which
  journals it with :meth:`ActionHost.record`.

Both make their calls through a :class:`~swarm_star.engine.journal.CallJournal`
of their own (the same code, a different ``record``), so the protocol names
the journal rather than repeating its methods.

An :class:`Executor` runs an activation somewhere else than the writer's loop;
it is given the writer (as an ``ActionHost``) to read the state and the model
endpoint and to journal the calls made remotely.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from swarm_star.engine.journal import CallJournal
from swarm_star.llm.protocol import ModelClient
from swarm_star.models import LLMCall
from swarm_star.spaces import Space
from swarm_star.state.projection import SwarmState

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext
    from swarm_star.tools.host import ToolHost

__all__ = ["ActionHost", "Executor"]


class ActionHost(Protocol):
    """The writer's side of an activation, as actions (through their context) see it."""

    @property
    def state(self) -> SwarmState:
        """The swarm as it is now (read only: actions never mutate state)."""

    @property
    def actions(self) -> Space:
        """The action space, the swarm's own actions grafted in."""

    @property
    def utils(self) -> Space: ...

    @property
    def swarm_dir(self) -> Path:
        """This swarm's folder (its workspace, its own actions)."""

    @property
    def llm(self) -> ModelClient | None:
        """The model endpoint, or None when the run has none (recorded replies only)."""

    @property
    def journal(self) -> CallJournal:
        """Where the activation's model calls and steps go (``call_model``, ``call_primitive``):
        checked against the host's budget, each ending as one record given to :meth:`record`."""

    @property
    def tools(self) -> ToolHost | None:
        """The run's MCP servers and web tools (None: no tools, e.g. on a Ray worker)."""

    @property
    def exec_yes(self) -> bool:
        """This run's ``--yes``: commands the swarm wrote run without asking (with ``--allow-exec``)."""

    def record(self, call: LLMCall) -> LLMCall:
        """Journal a call that finished (here, or in a worker that streamed it back)."""


class Executor(Protocol):
    """Runs an activation elsewhere (see engine/ray_executor.py); returns its operations."""

    async def activate(self, host: ActionHost, ctx: ActionContext) -> list[Any]: ...

    def close(self) -> None:
        """Release what the executor started (a Ray instance it began is shut down)."""
