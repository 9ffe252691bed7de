"""What ``tree`` and ``questions`` show, read without pydantic: :class:`SwarmView`; and :func:`locate`.

Why a second way in beside :class:`~swarm_star.api.swarm.Swarm`: opening a ``Swarm`` imports
the models (pydantic, and every model's class built), which was about a third of ``tree`` on a
10,000-node swarm (issue 25). A ``SwarmView`` reads the stored projection into plain records
(:mod:`swarm_star.state.tree_view`) and draws from them; a store it cannot read that way (an
older release's records, anything odd) is read through ``Swarm`` as before, with the same
errors. ``Swarm.tree``/``read_tree``/``questions`` keep returning the models: library users and
the HTTP server get validated objects they can dump, and only the two read commands that
draw text take this path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from swarm_star.api.rules import queued_answers
from swarm_star.state.tree_view import QuestionView, TreeView, read_view
from swarm_star.store import Backend, KVStore, StoreLocator, resolve_space

if TYPE_CHECKING:
    from swarm_star.api.swarm import Swarm
    from swarm_star.models import Question, SwarmNode
    from swarm_star.state.projection import SwarmState
    from swarm_star.state.tree_view import NodeView

    ShownTree: TypeAlias = TreeView | SwarmState
    """What :meth:`SwarmView.tree` gives: plain records, or the models (both draw alike); a name
    for type checking only (the CLI annotates with it)."""

__all__ = ["SwarmView", "locate"]


def locate(
    space: str | Path | None = None,
    backend: Backend = "sqlite",
    user_id: str = "local",
    env: Mapping[str, str] | None = None,
) -> StoreLocator:
    """Where the swarms of a space live: ``space`` (default ``$SWARM_SPACE`` or
    ``./swarm_space``) on ``backend``, for ``user_id`` (partitions Cosmos DB)."""
    return StoreLocator(resolve_space(space, env), backend, user_id=user_id, env=env)


class SwarmView:
    """One swarm's store opened to show its tree or its pending questions (read only)."""

    def __init__(
        self,
        swarm_id: str,
        *,
        space: str | Path | None = None,
        backend: Backend = "sqlite",
        user_id: str = "local",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.locator = locate(space, backend, user_id, env)
        self.id = swarm_id
        self.store: KVStore = self.locator.open(swarm_id)  # SwarmNotFound if there is none

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> SwarmView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tree(self) -> ShownTree:
        """The tree now, from the stored projection: plain records, or the models when the
        store holds records this release reads only the general way (:meth:`Swarm.read_tree`)."""
        view = read_view(self.store)
        return view if view is not None else self._swarm().read_tree()

    def questions(self) -> list[tuple[NodeView, QuestionView]] | list[tuple[SwarmNode, Question]]:
        """Questions still waiting for an answer, answers already queued excluded (as
        :meth:`Swarm.questions` gives them)."""
        view = read_view(self.store)
        if view is None:
            return self._swarm().questions()
        queued = queued_answers(self.store)
        return [(node, q) for node, q in view.pending_questions() if q.id not in queued]

    def _swarm(self) -> Swarm:
        from swarm_star.api.swarm import Swarm

        return Swarm(self.locator, self.id, self.store)
