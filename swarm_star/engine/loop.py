"""The single writer: the only code that mutates a swarm, one loop per run.

Each pass: take the answers given since the last pass, pick the nodes to start
(the scheduler emits their ``run_action`` frames), commit every frame buffered
since the last pass in one atomic batch (group commit), and only then start
those activations (write before you act); then wait for an activation to
finish, an answer to arrive, a commit to fall due, or the poll interval.
Activations run concurrently as asyncio tasks and only *return* operations;
the loop applies them.

What a pass costs does not grow with the run: finished activations arrive on
a completion queue (their done-callbacks), not by waiting on every running
task again, and the scheduler keeps its runnable nodes in a heap. Frames wait
for company: a model call's frame, and a finished activation's outcome while
every request slot of the model is taken, are committed with the next batch,
which comes :data:`COMMIT_DELAY` after the first of them, when
:data:`COMMIT_FRAMES` are waiting, when no activation runs, when a finished
activation's slot could be used at once, or before a question is shown to the
user (the CLI prompt); so with one request in flight the
store is not asked for a commit (a trip to the commit thread, an fsync) per call.
The call's reply reaches its activation at once; what the loop does with an
activation's results (its spawns, its outcome, the activations they start)
is committed before anything acts on it: nothing starts until the batch is
durable.

The engine's other jobs are parts it owns: the scheduler (``scheduler.py``),
the budget (``budget.py``), the call journal its activations call into
(``journal.py``, through the :class:`~swarm_star.engine.host.ActionHost`
protocol), the answer inbox (``inbox.py``) and the results it files in memory
(``memory.py``).

Commits run off the event loop, in one worker thread of their own: a commit
is blocking I/O (SQLite's fsync, Cosmos DB round trips, a Cosmos journal held
by another writer waited out for up to tens of seconds), and while it runs the
loop keeps serving the activations' model calls, the live view and the HTTP
server. The batch is built on the loop (a snapshot of the state at that
instant), commits happen one at a time in the order they were made, and the
loop waits for each before it goes on: a frame and its state change are
durable before any activation it starts acts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarm_star.engine.action_gate import gated
from swarm_star.engine.activation import run_action
from swarm_star.engine.budget import Budget, Outage
from swarm_star.engine.context import ActionContext
from swarm_star.engine.gc_tuning import tuned_gc
from swarm_star.engine.host import Executor
from swarm_star.engine.inbox import Inbox
from swarm_star.engine.journal import CallJournal, redact_error
from swarm_star.engine.memory import result_memory
from swarm_star.engine.scheduler import Scheduler
from swarm_star.engine.tool_calls import bind_tools
from swarm_star.errors import ExecutorUnreachable, LimitReached, ModelUnreachable, SwarmStarError
from swarm_star.llm.protocol import ModelClient
from swarm_star.models import (
    AwaitChildren,
    Fail,
    Limits,
    LLMCall,
    Question,
    ResumeSwarm,
    RetryNode,
    Spawn,
    StopSwarm,
    SwarmEvent,
    SwarmNode,
)
from swarm_star.models.operations import SETTLING_KINDS, Operation
from swarm_star.spaces import Space
from swarm_star.spaces.ids import ROUTER
from swarm_star.spaces.stored import adopt_spaces, record_created
from swarm_star.state.history import SwarmLog
from swarm_star.state.lease import OwnerLease
from swarm_star.state.projection import SwarmState, SwarmStatus
from swarm_star.store.base import KVStore, StoreOp
from swarm_star.tools.catalog import TOOLS_FOLDER

if TYPE_CHECKING:
    from swarm_star.tools.host import ToolHost

__all__ = ["COMMIT_DELAY", "COMMIT_FRAMES", "Engine", "RunOutcome"]

COMMIT_DELAY = 0.02
"""Seconds a recorded call's frame may wait for company before the loop commits it."""
COMMIT_FRAMES = 256
"""Frames waiting that make the loop commit at once."""


@dataclass
class RunOutcome:
    """How a run ended. ``status``: finished, failed, questions, limit, unreachable, interrupted;
    ``partial`` (finished only): why the result falls short, e.g. '1 of 3 parts failed'."""

    status: str
    reason: str | None = None
    report: str | None = None
    questions: list[tuple[str, Question]] = field(default_factory=list)
    partial: str | None = None


class Engine:
    """Runs one swarm until it finishes, needs answers, hits a limit, or is interrupted.

    It is the :class:`~swarm_star.engine.host.ActionHost` of the activations it
    runs on its loop: their calls go through its journal and become frames.
    """

    def __init__(
        self,
        *,
        store: KVStore,
        state: SwarmState,
        llm: ModelClient | None,
        actions: Space,
        utils: Space,
        swarm_dir: Path,
        poll_interval: float = 0.25,
        lease_seconds: float = 30.0,
        lease: OwnerLease | None = None,
        tune_gc: bool = True,
        executor: Executor | None = None,
        tools: ToolHost | None = None,
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
        self.budget = Budget(llm.prices if llm is not None else None)
        self.journal = CallJournal(state=lambda: self.state, llm=llm, budget=self.budget, record=self.record)
        self.scheduler = Scheduler()
        self._wake = asyncio.Event()
        self.inbox = Inbox(store, poll_interval, self._wake)
        self._buffer: list[SwarmEvent] = []
        self._touched: set[str] = set()
        self._extra_ops: list[StoreOp] = []
        self._tasks: dict[asyncio.Task[list[Any]], str] = {}
        self._finished: collections.deque[asyncio.Task[list[Any]]] = collections.deque()  # the completion queue
        self._commit_timer: asyncio.TimerHandle | None = None  # a recorded call's frame is due for commit
        self._due = False  # the commit timer fired: commit at the next pass, whatever was recorded since
        self._new_questions = True  # look for questions to announce (a scan of the tree): at first, then after ask_user
        self._subscribers: list[Callable[[SwarmEvent], None]] = []
        self._committer: ThreadPoolExecutor | None = None  # one thread: commits in order, off the loop
        # the spaces as this swarm's store records them (spaces/stored.py); what is not recorded
        # yet (a swarm from before, an upgraded install) is committed with the first frames
        self._extra_ops.extend(adopt_spaces(self.log, actions, utils, state.record.settings, swarm_dir))
        self.tools = tools  # MCP servers, web tools, approvals: see engine/tool_calls.py
        if tools is not None:
            bind_tools(self, tools)

    # frames

    def subscribe(self, callback: Callable[[SwarmEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every frame once it is committed. Returns an unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def emit(self, op: Operation, nodes: Iterable[str] = ()) -> SwarmEvent:
        """Apply ``op`` to the in-memory state now; it is committed at the next flush."""
        touched = list(nodes) or ([op.node_id] if hasattr(op, "node_id") else [])
        # time to the millisecond: the frame and the records it stamps store 13 digits, not 17
        event = SwarmEvent(frame=self.state.frame_count, time=round(time.time(), 3), op=op, nodes=touched)
        self.state.apply(event)
        self._buffer.append(event)
        self._touched.update(touched)
        if op.kind == "terminate":
            memory = result_memory(self.state.nodes[op.node_id], op.artifacts)
            if memory is not None:
                self.emit(memory)
        self.scheduler.note(self.state, op)
        if op.kind == "action_created":  # routable from now on; its code recorded with this frame
            self._extra_ops.extend(record_created(self.actions, self.state.record.settings, self.swarm_dir, op))
        elif op.kind == "ask_user":
            self._new_questions = True
        return event

    async def flush(self) -> None:
        """Commit every frame emitted since the last flush as one atomic batch, fenced by the
        lease, then tell the subscribers. The batch is built here, on the loop; the commit
        runs in the engine's commit thread, and the flush returns once it is durable."""
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        self._due = False
        if not self._buffer and not self._extra_ops:
            return
        events, touched, extra = self._buffer, self._touched, self._extra_ops
        self._buffer, self._touched, self._extra_ops = [], set(), []
        ops, undo = self.log.prepare(events, self.state, touched, extra)
        try:
            await self._off_loop(self.lease.commit, ops)  # committed only while this process holds the lease
        except asyncio.CancelledError:  # committed; the cancel came while it was under way
            self._notify(events)
            raise
        except BaseException:
            undo()
            raise
        self._notify(events)

    def _notify(self, events: list[SwarmEvent]) -> None:
        for event in events:
            for callback in list(self._subscribers):
                callback(event)

    async def _off_loop(self, fn: Callable[..., None], *args: Any) -> None:
        """Run blocking store work (a commit, the lease's release) in the commit thread.

        One thread, so commits happen in the order they were made. The work is
        waited for even through a cancel (it cannot be taken back halfway, and the
        next commit must come after it); the cancel is raised once it is done.
        """
        if self._committer is None:
            self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swarm-star-commit")
        future = asyncio.get_running_loop().run_in_executor(self._committer, fn, *args)
        cancelled = False
        while not future.done():
            try:
                await asyncio.wait([future])
            except asyncio.CancelledError:
                cancelled = True
        future.result()
        if cancelled:
            raise asyncio.CancelledError

    # the ActionHost of activations run on this loop (see engine/host.py); calls go through self.journal

    @property
    def exec_yes(self) -> bool:
        return self.tools is not None and self.tools.exec_yes

    def record(self, call: LLMCall) -> LLMCall:
        """Journal a finished call; its frame is committed with the next batch, which the loop
        makes within :data:`COMMIT_DELAY` (at once when :data:`COMMIT_FRAMES` are waiting)."""
        self.emit(call)
        if len(self._buffer) >= COMMIT_FRAMES:
            self._wake.set()
        elif self._commit_timer is None:
            self._commit_timer = asyncio.get_running_loop().call_later(COMMIT_DELAY, self._commit_due)
        return call

    def _commit_due(self) -> None:
        self._commit_timer = None
        self._due = True  # until the flush: a timer armed meanwhile (a call, an outcome) does not re-hold
        self._wake.set()

    def _holding(self) -> bool:
        """Whether the buffered frames wait for company instead of being committed (and acted
        on) now: while every request slot of the model is taken, what a finished activation
        makes runnable could only queue for one, so its outcome joins the batch its timer
        makes within :data:`COMMIT_DELAY`, like a call's frame. With one request in flight
        activations finish one at a time, and committing at each finish cost a commit (a trip
        to the commit thread, SQLite's fsync) per call. Nothing starts before the commit, so
        write-before-act holds. With a free slot (the engine's concurrency is what binds),
        nothing running, or the timer fired, the loop commits and starts at once: holding
        there left slots idle (a 50 ms model, 16 slots: +20 % wall time)."""
        if self._due or self._commit_timer is None or not self._tasks or len(self._buffer) >= COMMIT_FRAMES:
            return False  # due: its timer fired (or frames came without one, e.g. an answer)
        return self._saturated()

    def _saturated(self) -> bool:
        """The model client's :meth:`~swarm_star.llm.protocol.ModelClient.saturated`; False for a
        client a user wrote before the protocol had it (it then commits at each finish, as before)."""
        saturated = getattr(self.llm, "saturated", None)
        return saturated is not None and bool(saturated())

    # answers

    def answer(self, question_id: str, text: str) -> None:
        """Give an answer from this process (see :meth:`Inbox.answer`)."""
        self.inbox.answer(question_id, text)

    def wake(self) -> None:
        """An answer was queued in the store's inbox: read it at the next pass, not at the next poll."""
        self.inbox.wake()

    async def _take_answers(self) -> None:
        stored = await asyncio.to_thread(self.inbox.read_store) if self.inbox.scan_due() else []
        answers, deletes = self.inbox.take(self.state, stored)
        self._extra_ops.extend(deletes)
        for answer in answers:
            self.emit(answer)

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
        self.budget.restart_clock()
        asked: set[str] = set()
        try:
            if self.state.status == SwarmStatus.STOPPED or limits is not None:
                self.emit(ResumeSwarm(limits=limits or self.state.limits))
            for node_id in retry:
                self.emit(RetryNode(node_id=node_id), [node_id, *self._ancestors(node_id)])
            self.scheduler.reset(self.state)
            while True:
                await self._take_answers()
                if self.state.status in (SwarmStatus.FINISHED, SwarmStatus.FAILED):
                    await self.flush()
                    return self._final()
                budget = self.budget
                if budget.stopping is None:
                    try:
                        budget.check_time(self.state.limits)
                    except LimitReached as exc:
                        budget.stopping = exc
                if budget.stopping is not None:
                    if (
                        self._tasks
                        and isinstance(budget.stopping, LimitReached)
                        and budget.stopping.limit == "max_time"
                    ):
                        await self._cancel_tasks()  # wall time is a hard stop: in-flight calls are cancelled
                    if not self._tasks:
                        return await self._stop_for_limit(budget.stopping)
                    await self.flush()
                    await self._wait_and_apply()
                    continue
                if not self._holding():
                    await self._start_runnable()  # commits every buffered frame, then starts
                if on_question is not None and self._new_questions:
                    self._new_questions = False
                    await self.flush()  # a question is shown once it is durable (a held batch may hold it)
                    for node, question in self.state.pending_questions():
                        if question.id not in asked:
                            asked.add(question.id)
                            on_question(node, question)
                if not self._tasks:
                    pending = self.state.pending_questions()
                    if pending and not interactive:
                        self.emit(StopSwarm(reason="questions pending"))
                        await self.flush()
                        return RunOutcome(
                            "questions",
                            "questions pending",
                            questions=[(n.id, q) for n, q in pending],
                        )
                    if not pending:
                        self.emit(StopSwarm(reason="nothing runnable"))
                        await self.flush()
                        return RunOutcome("failed", "nothing runnable (inconsistent tree)")
                await self._wait_and_apply()
        except asyncio.CancelledError:
            await self._cancel_tasks()
            self.emit(StopSwarm(reason="interrupted"))
            await self.flush()
            raise
        finally:
            await self._cancel_tasks()
            try:
                with contextlib.suppress(SwarmStarError):
                    await self.flush()
            finally:
                try:
                    await self._off_loop(self.lease.release)
                finally:
                    if self._committer is not None:
                        self._committer.shutdown(wait=True)  # idle: every call waited for its work
                        self._committer = None

    def _ancestors(self, node_id: str) -> list[str]:
        out, parent = [], self.state.nodes[node_id].parent_id
        while parent is not None:
            out.append(parent)
            parent = self.state.nodes[parent].parent_id
        return out

    async def _start_runnable(self) -> None:
        chosen = self.scheduler.choose(self.state, len(self._tasks), self.emit)
        await self.flush()  # write before you act
        for node, reason in chosen:
            ctx = ActionContext(self, node, node.activations, reason)
            task = asyncio.create_task(self._activate(ctx))
            self._tasks[task] = node.id
            task.add_done_callback(self._on_done)

    def _on_done(self, task: asyncio.Task[list[Any]]) -> None:
        self._finished.append(task)
        self._wake.set()

    async def _activate(self, ctx: ActionContext) -> list[Any]:
        return await gated(ctx, lambda: self._run_activation(ctx))  # approvals: engine/action_gate.py

    async def _run_activation(self, ctx: ActionContext) -> list[Any]:
        if self.executor is not None and not self._uses_tools(ctx.node.action_id):
            return await self.executor.activate(self, ctx)
        return await run_action(self.actions, ctx)  # a leaf whose needs are unmet refuses

    def _uses_tools(self, action_id: str) -> bool:
        """Whether an activation reaches this run's tools, and so runs in this process even with
        an executor: a tool leaf (its calls are made and journaled by the writer, which holds the
        servers and the approvals), and a router when MCP servers are configured (their folders,
        listed on first entry, are in the writer's action space only)."""
        if self.tools is None:
            return False
        return action_id.startswith(TOOLS_FOLDER + ".") or (action_id == ROUTER and bool(self.tools.config.servers))

    async def _wait_and_apply(self) -> None:
        """Wait for activations (or a wake-up) and apply what finished.

        The first LimitReached (or unreachable endpoint) stops new model calls
        and new activations; calls already in flight complete and are recorded
        (they are paid for either way) and the run stops once the last
        activation has returned — except ``max_time``, a hard stop: the loop
        cancels in-flight activations (their calls may be paid again on resume).
        """
        # frames recorded while the last commit was under way may be due already (their wake-up was spent)
        due = len(self._buffer) >= COMMIT_FRAMES or (self._buffer and self._commit_timer is None)
        if not self._finished and not due:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
        budget = self.budget
        while self._finished:
            task = self._finished.popleft()
            node_id = self._tasks.pop(task, None)
            if node_id is None:
                continue  # cancelled and dropped by _cancel_tasks
            try:
                ops = task.result()
            except (LimitReached, ModelUnreachable, ExecutorUnreachable) as exc:  # pause: the node re-runs on resume
                budget.stopping = budget.stopping or exc
                continue
            except asyncio.CancelledError:
                continue
            except SwarmStarError as exc:
                self.emit(Fail(node_id=node_id, error=redact_error(self.llm, exc)))
                continue
            except Exception as exc:  # an action's bug must not take the swarm down
                action = self.state.nodes[node_id].action_id
                self.emit(
                    Fail(
                        node_id=node_id,
                        error=redact_error(self.llm, f"action {action} crashed: {type(exc).__name__}: {exc}"),
                    )
                )
                continue
            try:
                self._apply_outcome(node_id, ops)
            except LimitReached as exc:
                budget.stopping = budget.stopping or exc
            if self._tasks and self._commit_timer is None and self._saturated():
                self._commit_timer = asyncio.get_running_loop().call_later(COMMIT_DELAY, self._commit_due)

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

    async def _stop_for_limit(self, exc: LimitReached | Outage) -> RunOutcome:
        """Stop resumably: a limit (``limit``), or an unreachable endpoint or cluster (``unreachable``)."""
        reason = redact_error(self.llm, exc)
        if isinstance(exc, LimitReached):
            self.emit(StopSwarm(reason=reason, limit=exc.limit))
            await self.flush()
            return RunOutcome("limit", reason)
        self.emit(StopSwarm(reason=reason))
        await self.flush()
        return RunOutcome("unreachable", reason)

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        self._tasks.clear()
        self._finished.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _final(self) -> RunOutcome:
        root = self.state.root
        assert root is not None
        if self.state.status == SwarmStatus.FINISHED:
            return RunOutcome("finished", None, root.report, partial=root.partial)
        return RunOutcome("failed", root.error, root.report)
