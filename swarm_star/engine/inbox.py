"""The answer inbox: answers given in this process or queued in the store."""

from __future__ import annotations

import time

from swarm_star.models import (
    UserAnswer,
)
from swarm_star.store.base import Delete

INBOX_PREFIX = "swarm_inbox_"


class Inbox:
    """Part of :class:`~swarm_star.engine.loop.Engine`: answers to pending questions."""

    def answer(self, question_id: str, text: str) -> None:
        """Give an answer from this process (e.g. typed at the terminal). Thread-unsafe:
        call it on the loop; from another thread use ``loop.call_soon_threadsafe``."""
        self._local_answers.append((question_id, text))
        self._wake.set()

    def wake(self) -> None:
        """An answer was queued in the store's inbox: read it at the next pass, not at the next poll."""
        self._next_inbox_scan = 0.0
        self._wake.set()

    def _take_answers(self) -> None:
        answers = list(self._local_answers)
        self._local_answers.clear()
        now = time.monotonic()
        if now >= self._next_inbox_scan:  # the store's inbox is polled, not read on every pass
            self._next_inbox_scan = now + self.poll_interval
            for key, raw in self.store.scan(INBOX_PREFIX):
                answers.append((key[len(INBOX_PREFIX) :], str(raw.get("answer", ""))))
                self._extra_ops.append(Delete(key))
        if not answers:
            return
        pending = {q.id: node for node, q in self.state.pending_questions()}
        for question_id, text in answers:
            node = pending.pop(question_id, None)
            if node is not None:
                self.emit(UserAnswer(node_id=node.id, question_id=question_id, answer=text))
