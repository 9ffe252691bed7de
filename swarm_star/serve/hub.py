"""The server's view of the swarm space: read handles, runs in this process, frame waits.

Why a hub: the HTTP app must (a) read any swarm in the space, whoever runs it,
(b) run swarms in its own event loop and stop them again, and (c) wake event
streams the moment a frame is committed here, while still polling the store
for swarms another process runs. Everything goes through :mod:`swarm_star.api`:
reading through its :class:`~swarm_star.api.SwarmReader` (which alone knows the
store's keys and frame format), driving (create, run, answer, stop, resume,
retry) through :class:`~swarm_star.api.Swarm`, and the rules (who owns a swarm,
which questions are pending, what may be resumed or retried) through
:mod:`swarm_star.api.rules`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request

from swarm_star.api import Backend, RunHandle, RunOptions, Swarm, SwarmReader, locate, resolve_space
from swarm_star.api.rules import owner, pending_questions
from swarm_star.errors import AlreadyRunning, NotRunning, SwarmStarError
from swarm_star.models import Question, SwarmNode
from swarm_star.serve.endpoints import ServedEndpoints
from swarm_star.serve.fanout import EncodedFrames
from swarm_star.serve.live import LiveTail

__all__ = ["ENCODED_BLOCK", "ENCODED_KEEP_BYTES", "LIVE_DELIVERY_BYTES", "Run", "SwarmHub", "hub_of", "target"]

ENCODED_BLOCK = 100
"""Frames per block of :class:`EncodedFrames`: one store read when a block is first needed."""
ENCODED_KEEP_BYTES = 8 * 2**20
"""Encoded frames kept per swarm and wire format for the clients that follow it."""
LIVE_DELIVERY_BYTES = 256 * 1024
"""At most about this much (plus one block) in one delivery of a live tail: what one slow client can hold."""


@dataclass
class Run:
    """A swarm this server runs: the API's handle, and the task that records how it ended."""

    handle: RunHandle
    task: asyncio.Task[None]


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
        mcp: str | None = None,
    ) -> None:
        self.otel = otel or tracer_provider is not None
        self.tracer_provider = tracer_provider
        self.space = resolve_space(space, env)
        self.backend: Backend = backend
        self.user_id = user_id
        self.env = env
        self.poll_interval = poll_interval
        self.endpoints = endpoints if endpoints is not None else ServedEndpoints.configure(env=env)
        self.locator = locate(self.space, backend, user_id, env)
        self.mcp = mcp  # the operator's MCP servers file: the only one swarms run here use
        self.runs: dict[str, Run] = {}
        self.stopped_at_shutdown: list[str] = []  # the swarms shutdown stopped (serve's Ctrl-C names them)
        self.last_runs: dict[str, RunRecord] = {}
        self._handles: dict[str, SwarmReader] = {}  # one open store per swarm read here
        self._handles_lock = threading.Lock()
        self._encoded: dict[tuple[str, Callable[[dict[str, Any]], bytes]], EncodedFrames] = {}
        # per swarm and encoder: the run whose commits wake the tail (None: a tail polling the store)
        self._tails: dict[
            tuple[str, Callable[[dict[str, Any]], bytes]], tuple[Run | None, LiveTail]
        ] = {}  # None: a tail polling the store

    # reading

    def _handle(self, swarm_id: str) -> SwarmReader:
        """The shared read handle on a swarm's store (thread-safe; closed at shutdown);
        SwarmNotFound for an unknown swarm."""
        with self._handles_lock:
            handle = self._handles.get(swarm_id)
            if handle is None:
                handle = SwarmReader(self.locator.open(swarm_id))
                self._handles[swarm_id] = handle
            return handle

    def reader(self, swarm_id: str) -> SwarmReader:
        """A reader for one request over the shared handle: its cache of decoded text
        lives as long as the request, never for the server's lifetime."""
        return SwarmReader(self._handle(swarm_id).store)

    def encoded(self, swarm_id: str, encode: Callable[[dict[str, Any]], bytes]) -> EncodedFrames:
        """The swarm's frames as ``encode`` makes them (a stored frame -> the bytes sent), encoded
        once for every client of this server: one :class:`EncodedFrames` per swarm and encoder."""
        handle = self._handle(swarm_id)  # SwarmNotFound before anything is kept
        with self._handles_lock:
            frames = self._encoded.get((swarm_id, encode))
            if frames is None:
                frames = EncodedFrames(handle.frame_block, encode, block=ENCODED_BLOCK, keep_bytes=ENCODED_KEEP_BYTES)
                self._encoded[(swarm_id, encode)] = frames
            return frames

    def live_tail(
        self, swarm_id: str, encode: Callable[[dict[str, Any]], bytes], gather: Callable[[int], float]
    ) -> LiveTail:
        """The live tail of a swarm (one per swarm and encoder, shared by its clients): woken by
        each commit of a run here; for a swarm not run here (a CLI run, another server, a stored
        swarm) it reads the store every :attr:`poll_interval` once for all its clients, where
        each client polled on its own before (50 clients of a CLI run: 50 worker-thread reads per
        poll). A polling tail closes when a run starts here, and its clients move to that run's."""
        run = self.runs.get(swarm_id)
        if run is not None and run.task.done():
            run = None
        key = (swarm_id, encode)
        kept = self._tails.get(key)
        if kept is None or kept[0] is not run or kept[1].closed:
            if run is not None:

                def next_commit() -> asyncio.Event | None:
                    return self.frame_waiter(swarm_id) if self.runs.get(swarm_id) is run else None

            else:

                def next_commit() -> asyncio.Event | None:
                    # never set: the tail reads the store again after its poll (None: a run began here)
                    return None if self.is_running_here(swarm_id) else asyncio.Event()

            tail = LiveTail(
                self.encoded(swarm_id, encode),
                next_commit,
                gather,
                max_bytes=LIVE_DELIVERY_BYTES,
                poll=self.poll_interval,
            )
            kept = self._tails[key] = (run, tail)
        return kept[1]

    @contextlib.contextmanager
    def peek(self, swarm_id: str) -> Iterator[SwarmReader]:
        """A short read (listing): the shared handle if one is open, else a store opened and closed here,
        so listing a space of many swarms does not keep a connection per swarm."""
        with self._handles_lock:
            shared = self._handles.get(swarm_id)
        if shared is not None:
            yield SwarmReader(shared.store)
            return
        with SwarmReader(self.locator.open(swarm_id)) as reader:
            yield reader

    def pending_questions(self, swarm_id: str) -> list[tuple[SwarmNode, Question]]:
        """Unanswered questions, queued answers excluded (the API's rule, from the node records)."""
        return pending_questions(self.reader(swarm_id))

    def owner(self, swarm_id: str) -> dict[str, Any] | None:
        """The live lease holder of a swarm run elsewhere (pid, host), or None.

        The API's rule (the lease's expiry, and on this machine whether the
        holder's process still exists), so a swarm whose process was killed is
        free here as soon as it is for the CLI."""
        held = owner(self._handle(swarm_id).store)
        return {"pid": held.pid, "host": held.host} if held.alive else None

    # driving

    def is_running_here(self, swarm_id: str) -> bool:
        run = self.runs.get(swarm_id)
        return run is not None and not run.task.done()

    def start(self, swarm_id: str, begin: Callable[[Swarm, RunOptions], RunHandle]) -> RunHandle:
        """Start a run of a swarm as a task of this server's event loop: ``begin(swarm, options)``
        is ``Swarm.run``, ``Swarm.resume`` or a ``Swarm.retry`` (each refuses with the API's
        rules: AlreadyRunning, AlreadyFinished, AlreadyFailed, nothing to retry).

        The run is interactive: a question parks its node and the run waits
        for an answer from the page or the API instead of stopping. Its model
        endpoint and key come from the operator's list (:mod:`.endpoints`): a
        swarm recorded with another endpoint is an InputError (a 400).
        """
        if self.is_running_here(swarm_id):
            raise AlreadyRunning(f"swarm {swarm_id} is already running in this server")
        swarm = Swarm.open(swarm_id, space=self.space, backend=self.backend, user_id=self.user_id, env=self.env)
        try:
            models = self.endpoints.for_run(swarm.log.record().settings.models, swarm_id)
            options = RunOptions(
                interactive=True, env=self.env, poll_interval=self.poll_interval, models=models, mcp=self.mcp or ""
            )
            handle = begin(swarm, options)
        except BaseException:
            swarm.close()
            raise
        tracer = None
        if self.otel:  # spans through the OpenTelemetry SDK (the otel extra)
            from swarm_star.telemetry import SwarmTracer

            tracer = SwarmTracer(swarm_id, self.tracer_provider, nodes=swarm.state.nodes)
            handle.subscribe(tracer.on_event)

        async def settle() -> None:
            try:
                outcome = await handle
                self.last_runs[swarm_id] = RunRecord(outcome.status, outcome.reason)
            except asyncio.CancelledError:
                self.last_runs[swarm_id] = RunRecord("stopped", "stopped from the server")
            except SwarmStarError as exc:
                self.last_runs[swarm_id] = RunRecord("error", str(exc))
            finally:
                swarm.close()
                if tracer is not None:
                    tracer.close()

        self.runs[swarm_id] = Run(handle, asyncio.get_running_loop().create_task(settle()))
        return handle

    def wake(self, swarm_id: str) -> None:
        """An answer was queued for a swarm: if this server runs it, it reads it now."""
        if self.is_running_here(swarm_id):
            self.runs[swarm_id].handle.wake()

    async def stop(self, swarm_id: str) -> None:
        """Stop a swarm this server runs; its state is saved and it can be resumed."""
        run = self.runs.get(swarm_id)
        if run is None or run.task.done():
            held = self.owner(swarm_id)
            if held is not None:
                raise AlreadyRunning(
                    f"swarm {swarm_id} is run by another process (pid {held['pid']} on {held['host']}); stop it there"
                )
            raise NotRunning(f"swarm {swarm_id} is not running")
        with contextlib.suppress(NotRunning):  # it may have ended meanwhile
            await run.handle.stop()
        await run.task

    def frame_waiter(self, swarm_id: str) -> asyncio.Event | None:
        """Take this *before* reading the store: set once the next frame is committed here.

        None for swarms not run by this server (the caller polls the store).
        """
        run = self.runs.get(swarm_id)
        if run is None or run.task.done():
            return None
        return run.handle.next_frame()

    async def wait(self, waiter: asyncio.Event | None, timeout: float) -> None:
        """Wait for ``waiter`` (from :meth:`frame_waiter`) or ``timeout`` seconds."""
        if waiter is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)

    async def shutdown(self) -> None:
        """Stop every run (each saves its state as stopped, named in ``stopped_at_shutdown``)
        and close the read handles."""
        for swarm_id in list(self.runs):
            if self.is_running_here(swarm_id):
                with contextlib.suppress(SwarmStarError):
                    await self.stop(swarm_id)
                    self.stopped_at_shutdown.append(swarm_id)
        with self._handles_lock:
            for handle in self._handles.values():
                with contextlib.suppress(SwarmStarError):
                    handle.close()
            self._handles.clear()
            self._encoded.clear()
            self._tails.clear()


def hub_of(request: Request) -> SwarmHub:
    """The hub of the app that serves ``request`` (set by ``create_app``)."""
    hub: SwarmHub = request.app.state.hub
    return hub


def target(request: Request) -> tuple[SwarmHub, str]:
    """The hub, and the swarm the request's path names (``{swarm_id}``)."""
    return hub_of(request), request.path_params["swarm_id"]
