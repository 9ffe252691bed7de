"""The public Python API: create a swarm, run it, answer it, read its tree and history.

Async first (``Swarm.run``), with ``Swarm.run_sync`` for scripts. A model
client may be passed in (tests, custom transports); otherwise one is built
from the swarm's model settings and the environment, and closed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path

from swarm_star.api.context_files import read_context
from swarm_star.engine.engine import INBOX_PREFIX, Engine, Executor, RunOutcome
from swarm_star.errors import ConfigError, ConflictError, InputError, QuestionNotFound
from swarm_star.llm import LLMClient, resolve_endpoint
from swarm_star.models import (
    Limits,
    ModelSettings,
    NodeRole,
    Question,
    Spawn,
    SwarmEvent,
    SwarmNode,
    SwarmRecord,
    SwarmSettings,
)
from swarm_star.spaces import Space, find_space_dir, load_space
from swarm_star.state.history import SwarmLog
from swarm_star.state.lease import OwnerLease
from swarm_star.state.projection import SwarmState
from swarm_star.store import Backend, KVStore, StoreLocator, resolve_space, validate_swarm_id

__all__ = ["ROOT_ID", "Swarm", "lease_seconds", "load_spaces", "new_swarm_id"]

ROOT_ID = "0"


def _with_executor(executor: Executor, then: Callable[[Engine], None] | None) -> Callable[[Engine], None]:
    def attach(engine: Engine) -> None:
        engine.executor = executor
        if then is not None:
            then(engine)

    return attach


def load_spaces() -> tuple[Space, Space]:
    """The action and util spaces shipped with Swarm Star."""
    return (
        load_space(find_space_dir("actions"), "actions", "run"),
        load_space(find_space_dir("utils_space"), "utils", "call"),
    )


def lease_seconds(env: Mapping[str, str] | None = None) -> float:
    """The owner lease's lifetime: ``$SWARM_STAR_LEASE_SECONDS`` or 30 s. It is renewed
    every third of that, so it only bounds how long a *dead* writer blocks a resume
    when it ran on another machine (on this one, a dead pid frees it at once)."""
    raw = (os.environ if env is None else env).get("SWARM_STAR_LEASE_SECONDS", "30")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0.5 <= seconds <= 3600:
        raise ConfigError(f"SWARM_STAR_LEASE_SECONDS must be 0.5-3600 seconds, got {raw!r}")
    return seconds


def new_swarm_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class Swarm:
    """One swarm: its store, its projected state, and the operations on it."""

    def __init__(self, locator: StoreLocator, swarm_id: str, store: KVStore) -> None:
        self.locator = locator
        self.id = swarm_id
        self.store = store
        self.log = SwarmLog(store)
        self._state: SwarmState | None = None
        self.log.record()  # a swarm that cannot be read fails here, in one line

    @property
    def state(self) -> SwarmState:
        """The full state (a replay of the history), read on first use."""
        if self._state is None:
            self._state = self.log.replay()
        return self._state

    @state.setter
    def state(self, value: SwarmState) -> None:
        self._state = value

    # opening

    @classmethod
    def create(
        cls,
        directive: str,
        *,
        context_files: Sequence[str | Path] = (),
        settings: SwarmSettings | None = None,
        space: str | Path | None = None,
        backend: Backend = "sqlite",
        swarm_id: str | None = None,
        user_id: str = "local",
        env: Mapping[str, str] | None = None,
    ) -> Swarm:
        """Create a swarm for ``directive`` (frame 0 spawns the root). Runs nothing yet."""
        directive = (directive or "").strip()
        if not directive:
            raise InputError("the directive is empty: say what the swarm should do")
        files = read_context(context_files)  # before anything is written
        swarm_id = validate_swarm_id(swarm_id or new_swarm_id())
        locator = StoreLocator(resolve_space(space, env), backend, user_id=user_id, env=env)
        record = SwarmRecord(
            swarm_id=swarm_id,
            user_id=user_id,
            directive=directive,
            created_at=time.time(),
            settings=settings or SwarmSettings(),
        )
        state = SwarmState.new(record)
        root = Spawn(
            node_id=ROOT_ID,
            parent_id=None,
            role=NodeRole.ROOT,
            action_id="core.root",
            directive=directive,
            context={"files": files} if files else {},
        )
        event = SwarmEvent(frame=0, time=time.time(), op=root, nodes=[ROOT_ID])
        state.apply(event)
        try:  # record and frame 0 together: a swarm exists whole or not at all
            store = locator.create(swarm_id, SwarmLog.batch([event], state, [ROOT_ID], SwarmLog.creation(record)))
        except ConflictError as exc:
            raise InputError(f"swarm {swarm_id!r} already exists; pick another --swarm-id") from exc
        return cls(locator, swarm_id, store)

    @classmethod
    def open(
        cls,
        swarm_id: str,
        *,
        space: str | Path | None = None,
        backend: Backend = "sqlite",
        user_id: str = "local",
        env: Mapping[str, str] | None = None,
    ) -> Swarm:
        """Open an existing swarm; SwarmNotFound if there is none with that id."""
        locator = StoreLocator(resolve_space(space, env), backend, user_id=user_id, env=env)
        return cls(locator, swarm_id, locator.open(swarm_id))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Swarm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # running

    @property
    def settings(self) -> SwarmSettings:
        return self.state.record.settings

    async def run(
        self,
        *,
        llm: LLMClient | None = None,
        limits: Limits | None = None,
        interactive: bool = False,
        on_question: Callable[[SwarmNode, Question], None] | None = None,
        on_event: Callable[[SwarmEvent], None] | None = None,
        on_engine: Callable[[Engine], None] | None = None,
        env: Mapping[str, str] | None = None,
        poll_interval: float = 0.25,
        models: ModelSettings | None = None,
        retry: Sequence[str] = (),
        executor: Executor | None = None,
    ) -> RunOutcome:
        """Run (or resume) until finished, failed, a limit, or pending questions.

        ``limits`` replaces the stored limits (how a stopped swarm is resumed
        with a raised budget). With ``interactive`` the run waits for answers
        instead of stopping; ``on_question`` is told of each new question.
        ``models`` replaces the stored model settings for this run only (a new
        timeout or endpoint on resume); ``retry`` re-opens failed nodes first.
        ``executor`` runs activations elsewhere (``RayExecutor``: as Ray tasks);
        this process stays the only writer of the store.

        The owner lease is taken before the history is read, so two resumes
        started together cannot both run from the same state.
        """
        if executor is not None:  # e.g. RayExecutor: activations run as Ray tasks, this process writes
            on_engine = _with_executor(executor, on_engine)
        lease = OwnerLease(self.store, seconds=lease_seconds(env))
        lease.acquire()
        try:
            return await self._run_leased(
                lease, llm, limits, interactive, on_question, on_event, on_engine, env, poll_interval, models, retry
            )
        finally:
            lease.release()

    async def _run_leased(
        self,
        lease: OwnerLease,
        llm: LLMClient | None,
        limits: Limits | None,
        interactive: bool,
        on_question: Callable[[SwarmNode, Question], None] | None,
        on_event: Callable[[SwarmEvent], None] | None,
        on_engine: Callable[[Engine], None] | None,
        env: Mapping[str, str] | None,
        poll_interval: float,
        models: ModelSettings | None,
        retry: Sequence[str],
    ) -> RunOutcome:
        self.state = self.log.replay()
        own_client = llm is None
        if llm is None:
            chosen = models or self.settings.models
            llm = LLMClient(resolve_endpoint(chosen, env), chosen)
        actions, utils = load_spaces()
        engine = Engine(
            store=self.store,
            state=self.state,
            llm=llm,
            actions=actions,
            utils=utils,
            swarm_dir=self.locator.swarm_dir(self.id),
            poll_interval=poll_interval,
            lease=lease,
        )
        if on_event is not None:
            engine.subscribe(on_event)
        if on_engine is not None:
            on_engine(engine)
        try:
            return await engine.run(limits=limits, interactive=interactive, on_question=on_question, retry=retry)
        finally:
            self.state = engine.state
            if own_client:
                await llm.aclose()

    def run_sync(self, **kwargs: object) -> RunOutcome:
        """``run`` for synchronous callers."""
        return asyncio.run(self.run(**kwargs))  # type: ignore[arg-type]

    # questions

    def questions(self) -> list[tuple[SwarmNode, Question]]:
        """Questions still waiting for an answer (answers already queued excluded).

        Read from the stored node records, not by replaying the history."""
        state = self.log.load()
        queued = {key[len(INBOX_PREFIX) :] for key in self.store.keys(INBOX_PREFIX)}
        return [(n, q) for n, q in state.pending_questions() if q.id not in queued]

    def answer(self, question_id: str, text: str) -> None:
        """Queue an answer; a running swarm picks it up within its poll interval,
        a stopped one when it is resumed."""
        if not text.strip():
            raise InputError("the answer is empty")
        if question_id not in {q.id for _, q in self.questions()}:
            raise QuestionNotFound(f"no pending question {question_id!r} in swarm {self.id}")
        self.store.put(INBOX_PREFIX + question_id, {"answer": text, "time": time.time()})

    # reading

    def tree(self, frame: int | None = None) -> SwarmState:
        """The state now, or as it was right after frame ``frame`` (a replay: it
        includes the recorded calls; ``questions`` reads the stored projection)."""
        return self.log.replay(frame)

    def history(self, node_id: str | None = None) -> Iterator[SwarmEvent]:
        for event in self.log.frames():
            if node_id is None or node_id in event.nodes:
                yield event

    async def watch(self, *, start: int = 0, poll: float = 0.5) -> AsyncIterator[SwarmEvent]:
        """Tail the history as frames are committed (works from another process too)."""
        next_frame = start
        while True:
            for event in self.log.frames(next_frame):
                next_frame = event.frame + 1
                yield event
            await asyncio.sleep(poll)
