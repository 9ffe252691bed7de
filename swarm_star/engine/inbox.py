"""The answer inbox: answers given in this process, or queued in the store by another.

An answer typed at this process's terminal is handed over directly
(:meth:`Inbox.answer`). One given elsewhere (``swarm-star answer``, ``POST
/answer``) is written under ``swarm_inbox_{question_id}`` and read here; the
writer deletes it in the same batch as the ``UserAnswer`` frame it became, so
an answer is consumed exactly once.
"""

from __future__ import annotations

import asyncio
import time

from swarm_star.models import UserAnswer
from swarm_star.state.layout import INBOX_PREFIX
from swarm_star.state.projection import SwarmState
from swarm_star.store.base import Delete, KVStore

__all__ = ["INBOX_PREFIX", "Inbox"]


class Inbox:
    """Answers waiting to be applied; the store's inbox is polled, not read on every pass."""

    def __init__(self, store: KVStore, poll_interval: float, wake: asyncio.Event) -> None:
        self.store = store
        self.poll_interval = poll_interval
        self._wake = wake  # the loop's: set when there is something to do
        self._local: list[tuple[str, str]] = []
        self._next_scan = 0.0

    def answer(self, question_id: str, text: str) -> None:
        """Give an answer from this process (e.g. typed at the terminal). Thread-unsafe:
        call it on the loop; from another thread use ``loop.call_soon_threadsafe``."""
        self._local.append((question_id, text))
        self._wake.set()

    def wake(self) -> None:
        """An answer was queued in the store's inbox: read it at the next pass, not at the next poll."""
        self._next_scan = 0.0
        self._wake.set()

    def scan_due(self) -> bool:
        """Is it time to read the store's inbox? If so, the next time is one poll interval away."""
        now = time.monotonic()
        if now < self._next_scan:
            return False
        self._next_scan = now + self.poll_interval
        return True

    def read_store(self) -> list[tuple[str, str]]:
        """The answers queued in the store (blocking I/O: the loop runs it in a worker thread)."""
        return [(key[len(INBOX_PREFIX) :], str(raw.get("answer", ""))) for key, raw in self.store.scan(INBOX_PREFIX)]

    def take(self, state: SwarmState, stored: list[tuple[str, str]]) -> tuple[list[UserAnswer], list[Delete]]:
        """The answers given since the last pass (local ones, then ``stored``) as ``UserAnswer``
        operations for questions still pending, and the deletes of the stored ones."""
        answers, self._local = [*self._local, *stored], []
        deletes = [Delete(INBOX_PREFIX + question_id) for question_id, _ in stored]
        if not answers:
            return [], deletes
        pending = {q.id: node for node, q in state.pending_questions()}
        out = []
        for question_id, text in answers:
            node = pending.pop(question_id, None)
            if node is not None:
                out.append(UserAnswer(node_id=node.id, question_id=question_id, answer=text))
        return out, deletes
