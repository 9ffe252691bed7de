"""The plain values of the models: statuses, roles, the root's id, what usage says in words.

Importable without pydantic (nothing here is a model): the read commands (``tree``,
``questions``) draw a tree from plain records built with these, and importing pydantic and
building the models' classes was a third of ``tree``'s time at 10,000 nodes (issue 25).
:mod:`swarm_star.models.node` re-exports them beside the models that hold them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

__all__ = [
    "AFTER_KEY",
    "ROOT_NODE_ID",
    "STATUS_WORDS",
    "NodeRole",
    "NodeStatus",
    "SwarmStatus",
    "UsageText",
    "is_pending",
]


class NodeStatus(StrEnum):
    """Lifecycle of a node. Terminal states are ``terminated`` and ``failed``."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING_CHILDREN = "waiting_children"
    WAITING_USER = "waiting_user"
    TERMINATED = "terminated"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (NodeStatus.TERMINATED, NodeStatus.FAILED)

    @property
    def word(self) -> str:
        """The status as every view shows it to a user ('done', 'waiting for you'); the
        web page holds the same table (``STATUS_WORDS`` in serve/static/app.js, checked by a test)."""
        return STATUS_WORDS[self]


def is_pending(status: NodeStatus, answer: str | None) -> bool:
    """Whether a question still waits for the user: its node waits for the user and it has no
    answer. The one rule behind the engine's inbox, ``answer``, ``questions`` and
    ``GET /questions``, whether the nodes are models or the read commands' plain records."""
    return status is NodeStatus.WAITING_USER and answer is None


STATUS_WORDS = {
    NodeStatus.PENDING: "pending",
    NodeStatus.RUNNING: "running",
    NodeStatus.WAITING_CHILDREN: "waiting for parts",
    NodeStatus.WAITING_USER: "waiting for you",
    NodeStatus.TERMINATED: "done",
    NodeStatus.FAILED: "failed",
}


class SwarmStatus(StrEnum):
    """Lifecycle of a swarm, stored in its meta record and shown by ``list``. A swarm
    ``finished`` or ``failed`` stays so (``retry`` re-opens a failed one); ``stopped`` resumes."""

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"


class NodeRole(StrEnum):
    """What part a node plays in the tree."""

    ROOT = "root"
    MANAGER = "manager"
    ROUTER = "router"
    ACTION = "action"


ROOT_NODE_ID = "0"
"""The id of a swarm's root node (the node the directive is given to); every other node's id extends it (``0.…``)."""

AFTER_KEY = "after"
"""The key of :attr:`SwarmNode.context` listing the ids of the sibling parts a node waits for.

Set by the planner when it spawns a dependent part; read by the engine (a part
starts when they are done, and is skipped if one failed) and by the briefing
(their reports are shown to the part)."""


class UsageText:
    """What a usage says in words, for the model (:class:`~swarm_star.models.node.Usage`) and
    the plain record the read commands build (``state/tree_view.py``) alike."""

    __slots__ = ()
    if TYPE_CHECKING:  # for mypy only: annotations here would become the model's first fields
        prompt_tokens: int
        completion_tokens: int
        cost: float
        unpriced_calls: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def cost_text(self) -> str:
        """``$0.0123``, or with ``+ unknown`` when some calls had no known price."""
        text = f"${self.cost:.4f}"
        return text + (f" + unknown ({self.unpriced_calls} calls unpriced)" if self.unpriced_calls else "")
