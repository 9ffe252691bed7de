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
import functools
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from swarm_star.engine.activation import run_action
from swarm_star.engine.context import ActionContext
from swarm_star.engine.gc_tuning import tuned_gc
from swarm_star.engine.quality import report_junk
from swarm_star.errors import ExecutorUnreachable, LimitReached, ModelError, ModelUnreachable, SwarmStarError
from swarm_star.llm.client import ChatResult, LLMClient
from swarm_star.llm.redact import known_secrets, redact
from swarm_star.models import (
    AFTER_KEY,
    AwaitChildren,
    Fail,
    Limits,
    LLMCall,
    NodeRole,
    NodeStatus,
    Question,
    ResumeSwarm,
    RetryNode,
    RunAction,
    SaveMemory,
    Spawn,
    StopSwarm,
    SwarmEvent,
    SwarmNode,
    Usage,
    UserAnswer,
)
from swarm_star.models.operations import SETTLING_KINDS, Operation
from swarm_star.prompts.purpose import Purpose
from swarm_star.spaces import Space
from swarm_star.spaces.own import graft_own_actions
from swarm_star.state.history import SwarmLog
from swarm_star.state.lease import OwnerLease
from swarm_star.state.projection import SwarmState, SwarmStatus
from swarm_star.store.base import Delete, KVStore, StoreOp

__all__ = ["INBOX_PREFIX", "Engine", "Executor", "RunOutcome"]

INBOX_PREFIX = "swarm_inbox_"
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

    def _note_runnable(self, op: Operation) -> None:
        if op.kind == "spawn" or op.kind == "user_answer":  # op.kind (not a copy of it) narrows the union
            self._runnable.add(op.node_id)
        elif op.kind == "await_children":
            self._check_parent_ready(op.node_id)
        elif op.kind == "terminate" or op.kind == "fail":
            node = self.state.nodes[op.node_id]
            if op.kind == "terminate":
                self._remember_result(node, op.artifacts)
            if node.parent_id is not None:
                self._wake_dependents(node.parent_id, node.id)
                self._check_parent_ready(node.parent_id)

    def _check_parent_ready(self, node_id: str) -> None:
        node = self.state.nodes[node_id]
        if node.status == NodeStatus.WAITING_CHILDREN and all(self.state.nodes[c].status.done for c in node.children):
            self._runnable.add(node_id)

    def _wake_dependents(self, parent_id: str, done_id: str) -> None:
        """A part finished: its siblings that wait for it may start (or be skipped)."""
        for sibling_id in self.state.nodes[parent_id].children:
            sibling = self.state.nodes[sibling_id]
            if sibling.status == NodeStatus.PENDING and done_id in sibling.context.get(AFTER_KEY, ()):
                self._runnable.add(sibling_id)

    def _blocked(self, node: SwarmNode) -> tuple[bool, str | None]:
        """(waits, skip reason) for a pending node that names prerequisites.

        Checked whenever such a node is about to start (also again if it is
        re-opened later), never for one resuming after a user's answer. A
        prerequisite that failed, reported junk or does not exist can never
        deliver what the node needs: the node is skipped with a reason naming
        it, so the run always ends and the manager's review sees why.
        """
        after = node.context.get(AFTER_KEY) if not node.questions else None
        if not after:
            return False, None
        waits = False
        for prereq_id in after:
            prereq = self.state.nodes.get(prereq_id)
            if prereq is None:
                return False, f"skipped: its prerequisite {prereq_id} does not exist"
            what = " ".join(prereq.directive.split())[:80]
            if prereq.status == NodeStatus.FAILED:
                why = " ".join((prereq.error or "").split())[:200]
                return False, f"skipped: its prerequisite {prereq_id} ({what!r}) failed: {why}"
            junk = report_junk(prereq.report) if prereq.status == NodeStatus.TERMINATED else None
            if junk is not None:
                return False, f"skipped: its prerequisite {prereq_id} ({what!r}) reported nothing usable ({junk})"
            waits = waits or not prereq.status.done
        return waits, None

    def _remember_result(self, node: SwarmNode, artifacts: list[str]) -> None:
        """Every finished action and manager leaves its report in ``results/`` of the memory space."""
        if node.role not in (NodeRole.ACTION, NodeRole.MANAGER) or node.parent_id is None:
            return
        if report_junk(node.report) is not None:
            return  # nothing worth finding later
        what = " ".join(node.directive.split())[:60]
        self.emit(
            SaveMemory(
                node_id=node.id,
                entry_id=f"results.{node.id}.report",
                folder="results",
                title=f"{node.id} {node.action_id}: {what}",
                content=(node.report or "") + (("\nWritten: " + ", ".join(artifacts)) if artifacts else ""),
                artifacts=list(artifacts),
            )
        )

    # model calls, on behalf of actions

    async def call_model(
        self,
        node_id: str,
        key: str,
        purpose: Purpose | str,
        messages: list[dict[str, str]],
        *,
        role: str,
        schema: type[BaseModel] | None,
        temperature: float | None,
        model: str | None = None,
        digest: str | None = None,
        replaces: str | None = None,
    ) -> LLMCall:
        """Make one journaled model call: budget reserved per attempt before it is sent,
        the role's models tried in order (``model`` pins one), every answered attempt
        recorded, failed ones included (a usage-only frame with ``error`` set)."""
        self._check_budget()
        if self.llm is None:
            raise SwarmStarError("this swarm needs a model endpoint to continue")
        self._seed_modes()
        models = [model] if model else self.llm.models_for(role)
        for index, name in enumerate(models):
            held: list[Usage] = []
            try:
                result = await self.llm.chat(
                    messages,
                    role=role,
                    schema=schema,
                    temperature=temperature,
                    model=name,
                    purpose=purpose,
                    gate=functools.partial(self._reserve, held),
                )
            except BaseException as exc:  # a cancelled call (hard stop) is recorded too: it may be paid
                partial = getattr(exc, "partial", None)
                if partial is not None and partial.attempt_log:
                    why = "cancelled: the run stopped" if isinstance(exc, asyncio.CancelledError) else self._redact(exc)
                    self._record(self._call_record(node_id, key, purpose, partial, digest, replaces, why))
                fallback = isinstance(exc, ModelError) and not isinstance(exc, ModelUnreachable)
                if fallback and index < len(models) - 1:
                    continue
                raise
            finally:
                self._release(held)
            return self._record(self._call_record(node_id, key, purpose, result, digest, replaces, None))
        raise SwarmStarError(f"no model configured for role {role}")  # pragma: no cover - models is never empty

    def _call_record(
        self,
        node_id: str,
        key: str,
        purpose: Purpose | str,
        result: ChatResult,
        digest: str | None,
        replaces: str | None,
        error: str | None,
    ) -> LLMCall:
        return LLMCall(
            node_id=node_id,
            call_key=key,
            model=result.model,
            purpose=purpose,
            request=result.messages,
            response=result.text,
            usage=result.usage,
            attempts=result.attempts,
            latency_s=round(result.latency_s, 4),
            mode=result.mode,
            max_tokens=result.max_tokens,
            finish_reason=result.finish_reason,
            attempt_log=result.attempt_log,
            digest=digest,
            error=error,
            replaces=replaces,
        )

    def _seed_modes(self) -> None:
        """Start each model at the structured-output mode this swarm already found
        (recorded in its call frames), instead of re-negotiating after a resume."""
        if self._modes_seeded or self.llm is None:
            return
        self._modes_seeded = True
        for call in self.state.calls.values():
            if call.mode and call.error is None and call.mode != "text":
                self.llm.remember_mode(call.model, call.mode)

    def _reserve(self, held: list[Usage], model: str, prompt_tokens: int, max_tokens: int) -> None:
        """Before an attempt is sent: reserve one call and the most tokens and cost it can use.

        An attempt starts only if what is used, what calls in flight reserved and its
        own reservation all fit the limit. Calls are exact. Tokens and cost hold as long
        as no request costs more than reserved: ``prompt_tokens`` is an upper bound for
        byte-level tokenizers (see ``estimate_tokens``) and ``max_tokens`` caps the reply.
        """
        if self._stopping is not None:
            raise self._stopping
        self._check_time()
        limits, used, reserved = self.state.limits, self.state.usage, self._reserved
        if used.calls + reserved.calls + 1 > limits.max_calls:
            raise LimitReached("max_calls", f"{used.calls} model calls made, {reserved.calls} in flight")
        need = prompt_tokens + max_tokens
        if used.tokens + reserved.tokens + need > limits.max_tokens:
            raise LimitReached(
                "max_tokens",
                f"{used.tokens} tokens used, {reserved.tokens} reserved in flight, "
                f"the next request may use {need} (prompt up to {prompt_tokens} + reply cap {max_tokens})",
            )
        cost = self.llm.prices.cost(model, prompt_tokens, max_tokens) if self.llm is not None else None
        if limits.max_cost is not None and used.cost + reserved.cost + (cost or 0.0) > limits.max_cost:
            raise LimitReached(
                "max_cost",
                f"${used.cost:.4f} spent, ${reserved.cost:.4f} reserved in flight, "
                f"the next request may cost ${cost or 0.0:.4f}",
            )
        share = Usage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=max_tokens, cost=cost or 0.0)
        held.append(share)
        self._reserved = self._reserved.plus(share)

    def _release(self, held: list[Usage]) -> None:
        for share in held:
            self._reserved = Usage(
                calls=self._reserved.calls - share.calls,
                prompt_tokens=self._reserved.prompt_tokens - share.prompt_tokens,
                completion_tokens=self._reserved.completion_tokens - share.completion_tokens,
                cost=round(self._reserved.cost - share.cost, 10),
            )
        held.clear()

    def _redact(self, exc: BaseException | str) -> str:
        text = str(exc)
        return self.llm.redact(text) if self.llm is not None else redact(text, known_secrets())

    async def call_primitive(
        self,
        node_id: str,
        key: str,
        purpose: Purpose | str,
        request: str,
        expected_calls: int,
        work: Callable[[], Awaitable[tuple[dict[str, Any], Usage]]],
        *,
        digest: str | None = None,
        replaces: str | None = None,
    ) -> LLMCall:
        """Run a swarm primitive that makes its own requests (e.g. to hostfile agents)
        and journal its whole JSON result as one call record, usage included.

        ``expected_calls`` is reserved against the call budget *before* sending
        (with the calls other branches have in flight), so a broadcast to 4,000
        agents cannot overshoot ``max_calls`` by 4,000.
        """
        self._check_budget()
        limits, used = self.state.limits, self.state.usage
        if used.calls + self._reserved.calls + expected_calls > limits.max_calls:
            raise LimitReached(
                "max_calls",
                f"{purpose} needs {expected_calls} calls, {used.calls} made, {self._reserved.calls} in flight",
            )
        held = [Usage(calls=expected_calls)]
        self._reserved = self._reserved.plus(held[0])
        started = time.monotonic()
        try:
            result, usage = await work()
        finally:
            self._release(held)
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
            digest=digest,
            replaces=replaces,
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
        if used.calls + self._reserved.calls >= limits.max_calls:
            in_flight = f", {self._reserved.calls} in flight" if self._reserved.calls else ""
            raise LimitReached("max_calls", f"{used.calls} model calls{in_flight}")
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

    def _ancestors(self, node_id: str) -> list[str]:
        out, parent = [], self.state.nodes[node_id].parent_id
        while parent is not None:
            out.append(parent)
            parent = self.state.nodes[parent].parent_id
        return out

    def _start_runnable(self) -> None:
        chosen: list[tuple[SwarmNode, str]] = []
        progress = True
        while progress:  # a skipped part may make its parent or its own dependents runnable
            progress = False
            free = self.state.limits.concurrency - len(self._tasks) - len(chosen)
            if free <= 0 or not self._runnable:
                break
            for node_id in sorted(self._runnable, key=_tree_order):
                if free <= 0:
                    break
                self._runnable.discard(node_id)
                node = self.state.nodes[node_id]
                if node.status == NodeStatus.PENDING:
                    waits, skip = self._blocked(node)
                    if skip is not None:
                        self.emit(Fail(node_id=node_id, error=skip))
                        progress = True
                        continue
                    if waits:
                        continue  # woken again when a prerequisite finishes
                    reason = "answered" if node.questions else "retry" if node.activations else "start"
                elif node.status == NodeStatus.RUNNING:
                    reason = "resumed"
                else:
                    reason = "children_done"
                self.emit(RunAction(node_id=node_id, activation=node.activations, reason=reason))
                chosen.append((node, reason))
                free -= 1
        self.flush()  # write before you act
        for node, reason in chosen:
            ctx = ActionContext(self, node, node.activations, reason)
            task = asyncio.create_task(self._activate(ctx))
            self._tasks[task] = node.id

    async def _activate(self, ctx: ActionContext) -> list[Any]:
        if self.executor is not None:
            return await self.executor.activate(self, ctx)
        return await run_action(self.actions, ctx)  # a leaf whose needs are unmet refuses

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


def _tree_order(node_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in node_id.split("."))
