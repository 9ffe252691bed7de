"""A run in progress: :class:`RunHandle`, what ``Swarm.run``/``resume``/``retry`` return.

Why a handle and not the engine: a terminal view, the HTTP server and a
script need to follow a run (its frames, its questions, its live state),
answer its questions and stop it, never to reach into the single writer. The
handle is that surface; the engine behind it stays the API's own.

``await handle`` gives the :class:`~swarm_star.engine.loop.RunOutcome`. The
run is a task on the event loop that called ``Swarm.run``; it starts when
that code next awaits, so callbacks given to :meth:`RunHandle.subscribe` and
:meth:`RunHandle.on_question` right after ``run`` returns see every frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from swarm_star.engine import Engine, RunOutcome
from swarm_star.engine.flight import Flight
from swarm_star.errors import NotRunning, QuestionNotFound
from swarm_star.models import Question, SwarmEvent, SwarmNode
from swarm_star.models.operations import SETTLING_KINDS

if TYPE_CHECKING:
    from swarm_star.api.options import RunOptions
    from swarm_star.state.projection import SwarmState

__all__ = ["RunHandle"]

FrameCallback = Callable[[SwarmEvent], None]
QuestionCallback = Callable[[SwarmNode, Question], None]


class RunHandle:
    """Follow and steer one run of one swarm; ``await`` it for the outcome.

    ``retried`` are the failed nodes the run re-opened first (``Swarm.retry``);
    ``options`` are the options it was started with.
    """

    def __init__(self, swarm_id: str, options: RunOptions, retried: tuple[str, ...] = ()) -> None:
        self.swarm_id = swarm_id
        self.options = options
        self.retried = retried
        self._on_frame: list[FrameCallback] = []
        self._on_question: list[QuestionCallback] = []
        self._engine: Engine | None = None
        self._next_frame = asyncio.Event()
        self._task: asyncio.Task[RunOutcome] | None = None
        self._running: dict[str, float] = {}  # node -> when its activation started (from the frames)

    # following

    def subscribe(self, on_frame: FrameCallback) -> Callable[[], None]:
        """Call ``on_frame`` with every frame once it is committed. Returns an unsubscribe."""
        self._on_frame.append(on_frame)
        return lambda: self._on_frame.remove(on_frame)

    def on_question(self, callback: QuestionCallback) -> Callable[[], None]:
        """Call ``callback(node, question)`` once for each question the run sees pending."""
        self._on_question.append(callback)
        return lambda: self._on_question.remove(callback)

    @property
    def state(self) -> SwarmState | None:
        """The writer's live state (read it, never change it); None until the run has loaded it."""
        return self._engine.state if self._engine is not None else None

    def in_flight(self) -> list[Flight]:
        """The model calls, journaled steps (command runs, broadcasts) and tool calls started and not yet
        recorded, oldest first, each with its start time and the streamed pieces of its reply
        so far (copies; empty before the run has loaded its state). Calls made in Ray
        workers are not among them: only this process's."""
        return self._engine.journal.flight.snapshot() if self._engine is not None else []

    def activations(self) -> dict[str, float]:
        """The nodes whose activation runs now, each with the time of its ``run_action`` frame."""
        return dict(self._running)

    def pending_questions(self) -> list[tuple[SwarmNode, Question]]:
        """Questions of the live state still waiting for an answer."""
        state = self.state
        return state.pending_questions() if state is not None else []

    def next_frame(self) -> asyncio.Event:
        """Take this *before* reading the store: it is set once the next frame is committed
        (or the run ends). Each frame makes a fresh event for later waiters."""
        return self._next_frame

    # steering

    def answer(self, question_id: str, text: str) -> None:
        """Answer a question of this run from this process (e.g. typed at the terminal).

        Applied at the writer's next pass, on this event loop; an answer to a
        question no longer pending (answered elsewhere first) is not recorded,
        and the frames say which answer was. From another process, use
        ``Swarm.answer`` (the store's inbox).
        """
        if self._engine is None:  # nothing was asked yet: the run has not loaded its state
            raise QuestionNotFound(f"no pending question {question_id!r} in swarm {self.swarm_id}")
        self._engine.answer(question_id, text)

    def wake(self) -> None:
        """An answer was queued in the store (``Swarm.answer``): read the inbox now,
        not at the next poll."""
        if self._engine is not None:
            self._engine.wake()

    async def stop(self) -> None:
        """Stop the run (its state is saved as stopped, resumable) and wait until it has."""
        task = self._task
        if task is None or task.done():
            raise NotRunning(f"swarm {self.swarm_id} is not running")
        task.cancel()
        await asyncio.wait([task])  # however it ends; its outcome or error is for whoever awaits the handle

    def done(self) -> bool:
        """The run has ended (finished, stopped, failed, or raised)."""
        return self._task is not None and self._task.done()

    def __await__(self) -> Generator[Any, None, RunOutcome]:
        if self._task is None:
            raise RuntimeError("this run was never started")
        return self._task.__await__()

    # called by Swarm only

    def _start(self, body: Coroutine[Any, Any, RunOutcome], on_done: Callable[[], None]) -> None:
        """Run ``body`` as a task of the running loop; ``on_done`` runs when it ends, even
        when it is cancelled before it ever started (so the lease is always released)."""
        task = asyncio.get_running_loop().create_task(body, name=f"swarm-star run {self.swarm_id}")

        def finished(_: asyncio.Task[RunOutcome]) -> None:
            try:
                on_done()
            finally:
                self._notify()

        task.add_done_callback(finished)
        self._task = task

    def _bind(self, engine: Engine) -> None:
        """The engine exists: frames and answers flow through it from now on."""
        self._engine = engine
        engine.subscribe(self._frame)

    def _frame(self, event: SwarmEvent) -> None:
        op = event.op
        if op.kind == "run_action":
            self._running[op.node_id] = event.time
        elif op.kind == "stop":
            self._running.clear()
        elif op.kind in SETTLING_KINDS:
            self._running.pop(getattr(op, "node_id", ""), None)
        for callback in list(self._on_frame):
            callback(event)
        self._notify()

    def _question(self, node: SwarmNode, question: Question) -> None:
        for callback in list(self._on_question):
            callback(node, question)

    def _notify(self) -> None:
        """Wake every waiter of the current frame; later waiters get a fresh event."""
        current, self._next_frame = self._next_frame, asyncio.Event()
        current.set()
