"""The server's view of the swarm space: read handles, runs in this process, frame waits.

Why a hub: the HTTP app must (a) read any swarm in the space, whoever runs it,
(b) run swarms in its own event loop and stop them again, and (c) wake event
streams the moment a frame is committed here, while still polling the store
for swarms another process runs. Reading goes through the store and
:class:`~swarm_star.state.history.SwarmLog`; driving (create, run, answer,
stop, resume, retry) goes through :mod:`swarm_star.api` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarm_star.api import Swarm
from swarm_star.engine.engine import INBOX_PREFIX, Engine, RunOutcome
from swarm_star.errors import ConflictError, SwarmStarError
from swarm_star.models import Limits, NodeStatus, Question, SwarmEvent, SwarmNode
from swarm_star.serve.endpoints import ServedEndpoints
from swarm_star.state.history import SwarmLog
from swarm_star.state.lease import OWNER_KEY
from swarm_star.store import Backend, KVStore, StoreLocator, resolve_space

__all__ = ["RunHandle", "SwarmHub"]


@dataclass
class RunHandle:
    """A swarm this server is running: its task, its engine once started, its last outcome."""

    swarm_id: str
    task: asyncio.Task[RunOutcome | None]
    engine: Engine | None = None
    frames: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        """Wake every waiter of the current generation; later waiters get a fresh event."""
        current, self.frames = self.frames, asyncio.Event()
        current.set()


@dataclass
class RunRecord:
    """How the last run started by this server ended (shown in the swarm summary)."""

    status: str
    reason: str | None = None


class SwarmHub:
    """Everything the app shares between requests; created per app, never global."""

    def __init__(
        self,
        *,
        space: str | Path | None = None,
        backend: Backend = "sqlite",
        user_id: str = "local",
        env: Mapping[str, str] | None = None,
        poll_interval: float = 0.25,
        tracer_provider: Any = None,
        otel: bool = False,
        endpoints: ServedEndpoints | None = None,
    ) -> None:
        self.otel = otel or tracer_provider is not None
        self.tracer_provider = tracer_provider
        self.space = resolve_space(space, env)
        self.backend: Backend = backend
        self.user_id = user_id
        self.env = env
        self.poll_interval = poll_interval
        self.endpoints = endpoints if endpoints is not None else ServedEndpoints.configure(env=env)
        self.locator = StoreLocator(self.space, backend, user_id=user_id, env=env)
        self.runs: dict[str, RunHandle] = {}
        self.last_runs: dict[str, RunRecord] = {}
        self._stores: dict[str, KVStore] = {}
        self._stores_lock = threading.Lock()

    # reading

    def store(self, swarm_id: str) -> KVStore:
        """A shared read handle on a swarm's store (thread-safe; closed at shutdown)."""
        with self._stores_lock:
            store = self._stores.get(swarm_id)
            if store is None:
                store = self.locator.open(swarm_id)
                self._stores[swarm_id] = store
            return store

    def log(self, swarm_id: str) -> SwarmLog:
        return SwarmLog(self.store(swarm_id))

    @contextlib.contextmanager
    def peek(self, swarm_id: str) -> Iterator[SwarmLog]:
        """A short read (listing): the shared handle if one is open, else a store opened and closed here,
        so listing a space of many swarms does not keep a connection per swarm."""
        with self._stores_lock:
            shared = self._stores.get(swarm_id)
        if shared is not None:
            yield SwarmLog(shared)
            return
        store = self.locator.open(swarm_id)
        try:
            yield SwarmLog(store)
        finally:
            store.close()

    def swarm_ids(self) -> list[str]:
        return self.locator.list_swarm_ids()

    def pending_questions(self, swarm_id: str) -> list[tuple[SwarmNode, Question]]:
        """Unanswered questions from the committed node records, queued answers excluded.

        Same rule as ``Swarm.questions`` without replaying every frame on each request.
        """
        log = self.log(swarm_id)
        queued = {key[len(INBOX_PREFIX) :] for key in log.store.keys(INBOX_PREFIX)}
        return [
            (node, q)
            for node in log.nodes().values()
            if node.status == NodeStatus.WAITING_USER
            for q in node.questions
            if q.answer is None and q.id not in queued
        ]

    def owner(self, swarm_id: str) -> dict[str, Any] | None:
        """The live lease holder of a swarm run elsewhere (pid, host), or None."""
        held = self.store(swarm_id).get(OWNER_KEY)
        if not held or held.get("released") or float(held.get("expires", 0)) < time.time():
            return None
        return {"pid": held.get("pid"), "host": held.get("host")}

    # driving

    def is_running_here(self, swarm_id: str) -> bool:
        handle = self.runs.get(swarm_id)
        return handle is not None and not handle.task.done()

    def start(self, swarm_id: str, *, limits: Limits | None = None, retry: Sequence[str] = ()) -> RunHandle:
        """Run (or resume) a swarm as a task of this server's event loop.

        The run is interactive: a question parks its node and the run waits
        for an answer from the page or the API instead of stopping. Its model
        endpoint and key come from the operator's list (:mod:`.endpoints`): a
        swarm recorded with another endpoint is an InputError (a 400).
        """
        if self.is_running_here(swarm_id):
            raise ConflictError(f"swarm {swarm_id} is already running in this server")
        owner = self.owner(swarm_id)
        if owner is not None:
            raise ConflictError(f"swarm is being run by another process (pid {owner['pid']} on {owner['host']})")
        swarm = Swarm.open(swarm_id, space=self.space, backend=self.backend, user_id=self.user_id, env=self.env)
        try:
            models = self.endpoints.for_run(swarm.log.record().settings.models, swarm_id)
        except SwarmStarError:
            swarm.close()
            raise
        handle: RunHandle
        tracer = None
        if self.otel:  # spans through the OpenTelemetry SDK (the otel extra)
            from swarm_star.telemetry import SwarmTracer

            tracer = SwarmTracer(swarm_id, self.tracer_provider, nodes=swarm.state.nodes)

        def on_event(event: SwarmEvent) -> None:
            handle.notify()
            if tracer is not None:
                tracer.on_event(event)

        def on_engine(engine: Engine) -> None:
            handle.engine = engine

        async def body() -> RunOutcome | None:
            try:
                outcome = await swarm.run(
                    limits=limits,
                    retry=retry,
                    interactive=True,
                    on_event=on_event,
                    on_engine=on_engine,
                    env=self.env,
                    poll_interval=self.poll_interval,
                    models=models,
                )
                self.last_runs[swarm_id] = RunRecord(outcome.status, outcome.reason)
                return outcome
            except asyncio.CancelledError:
                self.last_runs[swarm_id] = RunRecord("stopped", "stopped from the server")
                return None
            except SwarmStarError as exc:
                self.last_runs[swarm_id] = RunRecord("error", str(exc))
                return None
            finally:
                swarm.close()
                handle.notify()
                if tracer is not None:
                    tracer.close()

        handle = RunHandle(swarm_id, asyncio.get_running_loop().create_task(body()))
        self.runs[swarm_id] = handle
        return handle

    async def stop(self, swarm_id: str) -> None:
        """Stop a swarm this server runs; its state is saved and it can be resumed."""
        handle = self.runs.get(swarm_id)
        if handle is None or handle.task.done():
            owner = self.owner(swarm_id)
            if owner is not None:
                raise ConflictError(
                    f"swarm {swarm_id} is run by another process (pid {owner['pid']} on {owner['host']}); stop it there"
                )
            raise ConflictError(f"swarm {swarm_id} is not running")
        handle.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await handle.task

    def frame_waiter(self, swarm_id: str) -> asyncio.Event | None:
        """Take this *before* reading the store: set once the next frame is committed here.

        None for swarms not run by this server (the caller polls the store).
        """
        handle = self.runs.get(swarm_id)
        if handle is None or handle.task.done():
            return None
        return handle.frames

    async def wait(self, waiter: asyncio.Event | None, timeout: float) -> None:
        """Wait for ``waiter`` (from :meth:`frame_waiter`) or ``timeout`` seconds."""
        if waiter is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)

    async def shutdown(self) -> None:
        """Stop every run (each saves its state as stopped) and close the read handles."""
        for swarm_id in list(self.runs):
            if self.is_running_here(swarm_id):
                with contextlib.suppress(SwarmStarError):
                    await self.stop(swarm_id)
        with self._stores_lock:
            for store in self._stores.values():
                with contextlib.suppress(SwarmStarError):
                    store.close()
            self._stores.clear()
