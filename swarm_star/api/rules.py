"""The rules every client follows, each written once: the CLI and the HTTP server call these.

* **A finished swarm stays finished** (:func:`settled`, :func:`check_resumable`):
  a swarm whose root is done is finished or failed, whatever status an older
  resume left stored; resuming it, with or without new limits, runs nothing.
  A failed one is re-opened only by ``retry``.
* **Which nodes retry re-opens** (:func:`retry_targets`, :func:`retry_plan`).
* **Is the owner alive** (:func:`owner`): the owner lease decides, as
  :func:`~swarm_star.state.lease.holder_alive` judges it, so a holder on this
  machine whose process is gone frees the swarm at once (after ``kill -9``),
  for every client alike.
* **Which questions are pending** (:func:`pending_questions`): unanswered in
  the stored node records, answers already queued in the inbox excluded.
* **Code the swarm writes runs contained, or not at all** (:func:`check_exec`):
  a swarm with ``allow_exec`` is created or run only where its sandbox works
  (bubblewrap), unless it was created with ``--sandbox none``, by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from swarm_star.errors import AlreadyFailed, AlreadyFinished, InputError, NodeNotFound
from swarm_star.models.basics import NodeStatus
from swarm_star.render.text import short
from swarm_star.state.layout import INBOX_PREFIX
from swarm_star.state.lease import OwnerStatus, owner_status, wait_while_held
from swarm_star.store import KVStore

if TYPE_CHECKING:  # the engine and the sandbox are imported where used: `tree` and `questions` need neither;
    # the models and the state only where a rule reads them: `list` needs only the owner (no pydantic)
    from swarm_star.engine import RunOutcome
    from swarm_star.models import Question, SwarmNode, SwarmSettings
    from swarm_star.state.projection import SwarmState
    from swarm_star.state.reader import SwarmReader

__all__ = [
    "check_exec",
    "check_resumable",
    "owner",
    "pending_questions",
    "queued_answers",
    "retry_plan",
    "retry_targets",
    "settled",
    "stored_nodes",
]


def settled(state: SwarmState) -> RunOutcome | None:
    """The outcome of a swarm whose root is done (finished or failed), else None.

    Judged by the root, not by the stored status: a swarm an older resume left
    ``stopped`` after its root finished is settled too.
    """
    from swarm_star.engine import RunOutcome

    root = state.root
    if root is None or not root.status.done:
        return None
    if root.status == NodeStatus.TERMINATED:
        return RunOutcome("finished", None, root.report, partial=root.partial)
    return RunOutcome("failed", root.error, root.report)


def check_exec(settings: SwarmSettings) -> None:
    """SandboxUnavailable (one line: why, and the ``--sandbox none`` way out) when the swarm
    may run code and its sandbox cannot be had on this machine."""
    if settings.allow_exec:
        from swarm_star.sandbox import check_sandbox

        check_sandbox(settings.code.sandbox)


def check_resumable(swarm_id: str, state: SwarmState) -> None:
    """Raise AlreadyFinished or AlreadyFailed for a settled swarm; resume continues only
    stopped or waiting swarms (new limits never re-open a settled one)."""
    outcome = settled(state)
    if outcome is None:
        return
    if outcome.status == "finished":
        raise AlreadyFinished(f"swarm {swarm_id} already finished; nothing to resume")
    raise AlreadyFailed(
        f"swarm {swarm_id} failed ({short(outcome.reason, 80)}); resume continues only stopped or waiting"
        " swarms: use `retry` to run failed nodes again"
    )


def retry_targets(state: SwarmState, node_id: str | None = None) -> list[str]:
    """The failed nodes ``retry`` re-opens: in ``node_id``'s subtree (the whole tree by
    default), each failed node with no failed node below it. Failed nodes above them
    re-open as their ancestors, to re-review."""
    root = node_id or (state.root.id if state.root else None)
    if root is None or root not in state.nodes:
        return []
    out, stack = [], [root]
    while stack:
        node = state.nodes[stack.pop()]
        stack.extend(node.children)
        if node.status == NodeStatus.FAILED and not _failed_below(state, node.id):
            out.append(node.id)
    return sorted(out, key=_tree_order)


def retry_plan(swarm_id: str, state: SwarmState, node_id: str | None = None) -> list[str]:
    """:func:`retry_targets`; NodeNotFound for an unknown node, InputError when nothing failed there."""
    if node_id is not None and node_id not in state.nodes:
        raise NodeNotFound(f"no node {node_id!r} in swarm {swarm_id}")
    targets = retry_targets(state, node_id)
    if not targets:
        where = f"node {node_id}'s subtree" if node_id else f"swarm {swarm_id}"
        raise InputError(f"nothing to retry: no failed node in {where}")
    return targets


def owner(store: KVStore) -> OwnerStatus:
    """Who holds the swarm's owner lease, and whether that holder is alive."""
    return owner_status(store)


def wait_for_owner(store: KVStore, lease: float, notify: Callable[[OwnerStatus, float], None]) -> None:
    """A lease still held when a run is asked for: wait up to one ``lease`` for it to lapse
    (see :func:`~swarm_star.state.lease.wait_while_held`), else AlreadyRunning."""
    wait_while_held(store, lease, notify)


def queued_answers(store: KVStore) -> set[str]:
    """Ids of questions whose answer waits in the inbox for the writer to take it."""
    return {key[len(INBOX_PREFIX) :] for key in store.keys(INBOX_PREFIX)}


def pending_questions(log: SwarmReader, state: SwarmState | None = None) -> list[tuple[SwarmNode, Question]]:
    """Questions still waiting for an answer, answers already queued excluded.

    Read from the stored node records (no replay of the history) unless a
    ``state`` is given."""
    if state is None:
        state = stored_nodes(log)
    queued = queued_answers(log.store)
    return [(node, q) for node, q in state.pending_questions() if q.id not in queued]


def stored_nodes(log: SwarmReader) -> SwarmState:
    """The record and the stored node records as a state (no history replay, no memory):
    enough for the questions and the retry targets, at a cost that does not grow with
    the number of frames."""
    from swarm_star.state.projection import SwarmState

    state = SwarmState.new(log.record())
    state.nodes = log.ordered_nodes()  # in the order SwarmLog.load gives them
    return state


def _failed_below(state: SwarmState, node_id: str) -> bool:
    stack = list(state.nodes[node_id].children)
    while stack:
        node = state.nodes[stack.pop()]
        if node.status == NodeStatus.FAILED:
            return True
        stack.extend(node.children)
    return False


def _tree_order(node_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in node_id.split("."))
