"""The operation interpreter and scheduler: the only code that mutates a swarm.

One loop, one writer. Each pass: commit buffered frames (group commit: every
frame produced since the last pass goes into one atomic batch), then start
activations for runnable nodes (after their ``run_action`` frame is durable:
write before you act), then wait for an activation to finish, an answer to
arrive, or the poll interval. Activations run concurrently as asyncio tasks and
only *return* operations; the loop applies them.

Runnable nodes are tracked incrementally (a spawn, an answer, or the last child
finishing makes a node runnable), so a pass costs O(changes), not O(tree): time
per node stays flat as the tree grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from swarm_star.engine.budget import Budget
from swarm_star.engine.context import ActionContext
from swarm_star.engine.gc_tuning import tuned_gc
from swarm_star.engine.inbox import INBOX_PREFIX, Inbox
from swarm_star.engine.journal import CallJournal
from swarm_star.engine.memory import ResultMemory
from swarm_star.engine.scheduler import Scheduler
from swarm_star.errors import ExecutorUnreachable, LimitReached, ModelUnreachable, SwarmStarError
from swarm_star.llm.client import LLMClient
from swarm_star.models import (
    AwaitChildren,
    Fail,
    Limits,
    NodeStatus,
    Question,
    ResumeSwarm,
    RetryNode,
    Spawn,
    StopSwarm,
    SwarmEvent,
    SwarmNode,
    Usage,
)
from swarm_star.models.operations import SETTLING_KINDS, Operation
from swarm_star.spaces import Space
from swarm_star.spaces.own import graft_own_actions
from swarm_star.state.history import SwarmLog
from swarm_star.state.lease import OwnerLease
from swarm_star.state.projection import SwarmState, SwarmStatus
from swarm_star.store.base import KVStore, StoreOp

__all__ = ["INBOX_PREFIX", "Engine", "Executor", "RunOutcome"]

Outage = ModelUnreachable | ExecutorUnreachable  # pauses the swarm (resumable), never fails a node


@dataclass
class RunOutcome:
    """How a run ended. ``status``: finished, failed, questions, limit, unreachable, interrupted."""

    status: str
    reason: str | None = None
    report: str | None = None
    questions: list[tuple[str, Question]] = field(default_factory=list)


class Executor(Protocol):
    """Runs an activation elsewhere (see engine/ray_executor.py); returns its operations."""

    async def activate(self, engine: Engine, ctx: ActionContext) -> list[Any]: ...

    def close(self) -> None:
        """Release what the executor started (a Ray instance it began is shut down)."""


class Engine(Scheduler, ResultMemory, CallJournal, Budget, Inbox):
    """Runs one swarm until it finishes, needs answers, hits a limit, or is interrupted."""

    def __init__(
        self,
        *,
        store: KVStore,
        state: SwarmState,
        llm: LLMClient | None,
        actions: Space,
        utils: Space,
        swarm_dir: Path,
        poll_interval: float = 0.25,
        lease_seconds: float = 30.0,
        lease: OwnerLease | None = None,
        tune_gc: bool = True,
        executor: Executor | None = None,
    ) -> None:
        self.store = store
        self.tune_gc = tune_gc  # see engine/gc_tuning.py: collector tuned for the run, restored after
        self.executor = executor  # None: activations run on this loop; else e.g. RayExecutor
        self.log = SwarmLog(store)
        self.state = state
        self.llm = llm
        self.actions = actions
        self.utils = utils
        self.swarm_dir = swarm_dir
        self.poll_interval = poll_interval
        self.lease = lease or OwnerLease(store, seconds=lease_seconds)
        self._buffer: list[SwarmEvent] = []
        self._touched: set[str] = set()
        self._extra_ops: list[StoreOp] = []
        self._runnable: set[str] = set()
        self._tasks: dict[asyncio.Task[list[Any]], str] = {}
        self._subscribers: list[Callable[[SwarmEvent], None]] = []
        self._wake = asyncio.Event()
        self._local_answers: list[tuple[str, str]] = []
        self._started = time.monotonic()
        self._stopping: LimitReached | Outage | None = None
        self._reserved = Usage()  # budget held by calls in flight (see _reserve)
        self._modes_seeded = False
        self._next_inbox_scan = 0.0

    # frames

    def subscribe(self, callback: Callable[[SwarmEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every frame once it is committed. Returns an unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def emit(self, op: Operation, nodes: Iterable[str] = ()) -> SwarmEvent:
        """Apply ``op`` to the in-memory state now; it is committed at the next flush."""
        touched = list(nodes) or ([op.node_id] if hasattr(op, "node_id") else [])
        event = SwarmEvent(frame=self.state.frame_count, time=time.time(), op=op, nodes=touched)
        self.state.apply(event)
        self._buffer.append(event)
        self._touched.update(touched)
        self._note_runnable(op)
        if op.kind == "action_created":
            self.load_own_actions()
        return event

    def load_own_actions(self) -> None:
        """Graft this swarm's own actions into its action space (opt-in only; see spaces/own.py)."""
        settings = self.state.record.settings
        if settings.allow_exec and settings.code.create_actions:
            graft_own_actions(self.actions, self.swarm_dir)

    def flush(self) -> None:
        if not self._buffer and not self._extra_ops:
            return
        events, touched, extra = self._buffer, self._touched, self._extra_ops
        self._buffer, self._touched, self._extra_ops = [], set(), []
        with self.lease.fenced() as fence:  # committed only while this process holds the lease
            self.log.append(events, self.state, touched, [*extra, fence])
        for event in events:
            for callback in list(self._subscribers):
                callback(event)

    # running

    async def run(
        self,
        *,
        limits: Limits | None = None,
        interactive: bool = False,
        on_question: Callable[[SwarmNode, Question], None] | None = None,
        retry: Iterable[str] = (),
    ) -> RunOutcome:
        """Run until finished, failed, a limit, or (unless ``interactive``) open questions.

        ``retry``: failed nodes to re-open first (``swarm_star.api.rules.retry_targets``
        picks them). Whether a settled swarm runs at all is the API's rule
        (``swarm_star.api.rules.settled``): the engine runs what it is given.

        The lease comes first, then the state: a state read before the lease
        was taken may be stale by the time this process may write.
        """
        with tuned_gc(self.tune_gc):
            return await self._run(limits, interactive, on_question, retry)

    async def _run(
        self,
        limits: Limits | None,
        interactive: bool,
        on_question: Callable[[SwarmNode, Question], None] | None,
        retry: Iterable[str],
    ) -> RunOutcome:
        if not self.lease.held:
            self.lease.acquire()
            try:
                self.state = self.log.replay()
            except BaseException:
                self.lease.release()
                raise
        self._started = time.monotonic()
        asked: set[str] = set()
        try:
            self.load_own_actions()
            if self.state.status == SwarmStatus.STOPPED or limits is not None:
                self.emit(ResumeSwarm(limits=limits or self.state.limits))
            for node_id in retry:
                self.emit(RetryNode(node_id=node_id), [node_id, *self._ancestors(node_id)])
            self._runnable = {
                n.id for n in self.state.nodes.values() if n.status in (NodeStatus.PENDING, NodeStatus.RUNNING)
            }
            for node in self.state.nodes.values():
                self._check_parent_ready(node.id)
            while True:
                self._take_answers()
                self.flush()
                if self.state.status in (SwarmStatus.FINISHED, SwarmStatus.FAILED):
                    return self._final()
                if self._stopping is None:
                    try:
                        self._check_time()
                    except LimitReached as exc:
                        self._stopping = exc
                if self._stopping is not None:
                    if self._tasks and isinstance(self._stopping, LimitReached) and self._stopping.limit == "max_time":
                        await self._cancel_tasks()  # wall time is a hard stop: in-flight calls are cancelled
                    if not self._tasks:
                        return self._stop_for_limit(self._stopping)
                    await self._wait_and_apply()
                    continue
                self._start_runnable()
                if on_question is not None:
                    for node, question in self.state.pending_questions():
                        if question.id not in asked:
                            asked.add(question.id)
                            on_question(node, question)
                if not self._tasks:
                    pending = self.state.pending_questions()
                    if pending and not interactive:
                        self.emit(StopSwarm(reason="questions pending"))
                        self.flush()
                        return RunOutcome(
                            "questions",
                            "questions pending",
                            questions=[(n.id, q) for n, q in pending],
                        )
                    if not pending:
                        self.emit(StopSwarm(reason="nothing runnable"))
                        self.flush()
                        return RunOutcome("failed", "nothing runnable (inconsistent tree)")
                await self._wait_and_apply()
        except asyncio.CancelledError:
            await self._cancel_tasks()
            self.emit(StopSwarm(reason="interrupted"))
            self.flush()
            raise
        finally:
            await self._cancel_tasks()
            with contextlib.suppress(SwarmStarError):
                self.flush()
            self.lease.release()

    async def _wait_and_apply(self) -> None:
        """Wait for activations (or a wake-up) and apply what finished.

        The first LimitReached (or unreachable endpoint) stops new model calls
        and new activations; calls already in flight complete and are recorded
        (they are paid for either way) and the run stops once the last
        activation has returned — except ``max_time``, a hard stop: the loop
        cancels in-flight activations (their calls may be paid again on resume).
        """
        self._wake.clear()
        waker = asyncio.create_task(self._wake.wait())
        waiting: list[asyncio.Task[Any]] = [*self._tasks, waker]
        try:
            done, _ = await asyncio.wait(
                waiting,
                timeout=self.poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waker.cancel()
        for task in done:
            if task is waker:
                continue
            node_id = self._tasks.pop(task)
            try:
                ops = task.result()
            except (LimitReached, ModelUnreachable, ExecutorUnreachable) as exc:  # pause: the node re-runs on resume
                self._stopping = self._stopping or exc
                continue
            except asyncio.CancelledError:
                continue
            except SwarmStarError as exc:
                self.emit(Fail(node_id=node_id, error=self._redact(exc)))
                continue
            except Exception as exc:  # an action's bug must not take the swarm down
                action = self.state.nodes[node_id].action_id
                self.emit(
                    Fail(
                        node_id=node_id,
                        error=self._redact(f"action {action} crashed: {type(exc).__name__}: {exc}"),
                    )
                )
                continue
            try:
                self._apply_outcome(node_id, ops)
            except LimitReached as exc:
                self._stopping = self._stopping or exc

    def _apply_outcome(self, node_id: str, ops: list[Any]) -> None:
        spawns = [op for op in ops if isinstance(op, Spawn)]
        settling = [op for op in ops if getattr(op, "kind", None) in SETTLING_KINDS]
        node = self.state.nodes[node_id]
        if spawns:
            limits = self.state.limits
            if len(self.state.nodes) + len(spawns) > limits.max_nodes:
                raise LimitReached("max_nodes", f"{len(self.state.nodes)} nodes, {len(spawns)} more asked")
            if node.depth + 1 > limits.max_depth:
                raise LimitReached("max_depth", f"a child of {node_id} would be at depth {node.depth + 1}")
        if len(settling) > 1 or (settling and settling[-1] is not ops[-1]):
            self.emit(Fail(node_id=node_id, error="action returned more than one outcome"))
            return
        for op in ops:
            if getattr(op, "node_id", None) not in (node_id, *(s.node_id for s in spawns)):
                self.emit(Fail(node_id=node_id, error="action returned an operation for another node"))
                return
        for op in ops:
            if isinstance(op, Spawn):
                self.emit(op, [op.node_id, node_id])
            elif op.kind == "await_children" or op.kind in SETTLING_KINDS:
                continue
            else:
                self.emit(op)
        if settling:
            self.emit(settling[0])
        elif spawns:
            self.emit(AwaitChildren(node_id=node_id))
        else:
            self.emit(Fail(node_id=node_id, error="action returned no outcome"))

    def _stop_for_limit(self, exc: LimitReached | Outage) -> RunOutcome:
        """Stop resumably: a limit (``limit``), or an unreachable endpoint or cluster (``unreachable``)."""
        reason = self._redact(exc)
        if isinstance(exc, ModelUnreachable | ExecutorUnreachable):
            self.emit(StopSwarm(reason=reason))
            self.flush()
            return RunOutcome("unreachable", reason)
        self.emit(StopSwarm(reason=reason, limit=exc.limit))
        self.flush()
        return RunOutcome("limit", reason)

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _final(self) -> RunOutcome:
        root = self.state.root
        assert root is not None
        if self.state.status == SwarmStatus.FINISHED:
            return RunOutcome("finished", None, root.report)
        return RunOutcome("failed", root.error, root.report)
