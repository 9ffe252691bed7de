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
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from swarm_star.engine.context import ActionContext
from swarm_star.errors import LimitReached, SwarmStarError
from swarm_star.llm.client import LLMClient
from swarm_star.models import (
    AwaitChildren,
    Fail,
    Limits,
    LLMCall,
    NodeStatus,
    Question,
    ResumeSwarm,
    RunAction,
    Spawn,
    StopSwarm,
    SwarmEvent,
    SwarmNode,
    Usage,
    UserAnswer,
)
from swarm_star.models.operations import SETTLING_KINDS, Operation
from swarm_star.spaces import Space
from swarm_star.state.history import SwarmLog
from swarm_star.state.lease import OwnerLease
from swarm_star.state.projection import SwarmState, SwarmStatus
from swarm_star.store.base import Delete, KVStore, StoreOp

__all__ = ["INBOX_PREFIX", "Engine", "RunOutcome"]

INBOX_PREFIX = "swarm_inbox_"


@dataclass
class RunOutcome:
    """How a run ended. ``status``: finished, failed, questions, limit, interrupted."""

    status: str
    reason: str | None = None
    report: str | None = None
    questions: list[tuple[str, Question]] = field(default_factory=list)


class Engine:
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
    ) -> None:
        self.store = store
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
        self._stopping: LimitReached | None = None
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
        return event

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

    def _note_runnable(self, op: Operation) -> None:
        kind = op.kind
        if kind == "spawn" or kind == "user_answer":
            self._runnable.add(op.node_id)
        elif kind == "await_children":
            self._check_parent_ready(op.node_id)
        elif kind in ("terminate", "fail"):
            parent = self.state.nodes[op.node_id].parent_id
            if parent is not None:
                self._check_parent_ready(parent)

    def _check_parent_ready(self, node_id: str) -> None:
        node = self.state.nodes[node_id]
        if node.status == NodeStatus.WAITING_CHILDREN and all(self.state.nodes[c].status.done for c in node.children):
            self._runnable.add(node_id)

    # model calls, on behalf of actions

    async def call_model(
        self,
        node_id: str,
        key: str,
        purpose: str,
        messages: list[dict[str, str]],
        *,
        role: str,
        schema: type[BaseModel] | None,
        temperature: float | None,
    ) -> LLMCall:
        self._check_budget()
        if self.llm is None:
            raise SwarmStarError("this swarm needs a model endpoint to continue")
        result = await self.llm.chat(messages, role=role, schema=schema, temperature=temperature)
        call = LLMCall(
            node_id=node_id,
            call_key=key,
            model=result.model,
            purpose=purpose,
            request=messages,
            response=result.text,
            usage=result.usage,
            attempts=result.attempts,
            latency_s=round(result.latency_s, 4),
        )
        return self._record(call)

    async def call_primitive(
        self,
        node_id: str,
        key: str,
        purpose: str,
        request: str,
        expected_calls: int,
        work: Callable[[], Awaitable[tuple[dict[str, Any], Usage]]],
    ) -> LLMCall:
        """Run a swarm primitive that makes its own requests (e.g. to hostfile agents)
        and journal its whole JSON result as one call record, usage included.

        ``expected_calls`` is checked against the call budget *before* sending,
        so a broadcast to 4,000 agents cannot overshoot ``max_calls`` by 4,000.
        """
        self._check_budget()
        limits, used = self.state.limits, self.state.usage
        if used.calls + expected_calls > limits.max_calls:
            raise LimitReached("max_calls", f"{purpose} needs {expected_calls} calls, {used.calls} already made")
        started = time.monotonic()
        result, usage = await work()
        call = LLMCall(
            node_id=node_id,
            call_key=key,
            model=purpose,
            purpose=purpose,
            request=[{"role": "user", "content": request}],
            response=json.dumps(result, separators=(",", ":")),
            usage=usage,
            attempts=1,
            latency_s=round(time.monotonic() - started, 4),
        )
        return self._record(call)

    def _record(self, call: LLMCall) -> LLMCall:
        """Journal a finished call and wake the loop so its frame is committed promptly."""
        self.emit(call)
        self._wake.set()
        return call

    def _check_budget(self) -> None:
        if self._stopping is not None:
            raise self._stopping
        limits, used = self.state.limits, self.state.usage
        if used.calls >= limits.max_calls:
            raise LimitReached("max_calls", f"{used.calls} model calls")
        if used.tokens >= limits.max_tokens:
            raise LimitReached("max_tokens", f"{used.tokens} tokens")
        if limits.max_cost is not None and used.cost >= limits.max_cost:
            raise LimitReached("max_cost", f"${used.cost:.4f} spent")
        self._check_time()

    def _check_time(self) -> None:
        limit = self.state.limits.max_time
        if limit is not None and time.monotonic() - self._started > limit:
            raise LimitReached("max_time", f"{limit:g} s of wall time")

    # answers

    def answer(self, question_id: str, text: str) -> None:
        """Give an answer from this process (e.g. typed at the terminal). Thread-unsafe:
        call it on the loop; from another thread use ``loop.call_soon_threadsafe``."""
        self._local_answers.append((question_id, text))
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

    # running

    async def run(
        self,
        *,
        limits: Limits | None = None,
        interactive: bool = False,
        on_question: Callable[[SwarmNode, Question], None] | None = None,
    ) -> RunOutcome:
        """Run until finished, failed, a limit, or (unless ``interactive``) open questions.

        The lease comes first, then the state: a state read before the lease
        was taken may be stale by the time this process may write.
        """
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
            if self.state.status == SwarmStatus.STOPPED or limits is not None:
                self.emit(ResumeSwarm(limits=limits or self.state.limits))
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

    def _start_runnable(self) -> None:
        free = self.state.limits.concurrency - len(self._tasks)
        if free <= 0 or not self._runnable:
            return
        chosen: list[tuple[SwarmNode, str]] = []
        for node_id in sorted(self._runnable, key=_tree_order)[:free]:
            self._runnable.discard(node_id)
            node = self.state.nodes[node_id]
            if node.status == NodeStatus.PENDING:
                reason = "answered" if node.questions else "start"
            elif node.status == NodeStatus.RUNNING:
                reason = "resumed"
            else:
                reason = "children_done"
            self.emit(RunAction(node_id=node_id, activation=node.activations, reason=reason))
            chosen.append((node, reason))
        self.flush()  # write before you act
        for node, reason in chosen:
            ctx = ActionContext(self, node, node.activations, reason)
            task = asyncio.create_task(self._activate(ctx))
            self._tasks[task] = node.id

    async def _activate(self, ctx: ActionContext) -> list[Any]:
        module = self.actions.module(ctx.node.action_id)
        return list(await module.run(ctx))

    async def _wait_and_apply(self) -> None:
        """Wait for activations (or a wake-up) and apply what finished.

        A limit does not cancel anything: the first LimitReached stops new model
        calls and new activations, while calls already in flight complete and
        are recorded (they are paid for either way); the run stops once the
        last activation has returned.
        """
        self._wake.clear()
        waker = asyncio.create_task(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                [*self._tasks, waker],
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
            except LimitReached as exc:
                self._stopping = self._stopping or exc
                continue
            except asyncio.CancelledError:
                continue
            except SwarmStarError as exc:
                self.emit(Fail(node_id=node_id, error=str(exc)))
                continue
            except Exception as exc:  # an action's bug must not take the swarm down
                action = self.state.nodes[node_id].action_id
                self.emit(
                    Fail(
                        node_id=node_id,
                        error=f"action {action} crashed: {type(exc).__name__}: {exc}",
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

    def _stop_for_limit(self, exc: LimitReached) -> RunOutcome:
        self.emit(StopSwarm(reason=str(exc), limit=exc.limit))
        self.flush()
        return RunOutcome("limit", str(exc))

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


def _tree_order(node_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in node_id.split("."))
