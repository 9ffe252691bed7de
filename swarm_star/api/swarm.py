"""The :class:`Swarm`: create or open a swarm, run it, answer it, read its tree and history.

Runs are async: ``Swarm.run`` (and ``resume``, ``retry``) return a
:class:`~swarm_star.api.handle.RunHandle` on the running event loop, to
``await`` for the outcome; ``Swarm.run_sync`` is for scripts. A model client
may be passed in (``RunOptions(llm=...)``: tests, custom transports);
otherwise a :class:`~swarm_star.llm.routing.ModelRouter` is built from the
swarm's model settings and the environment (every provider its roles name,
routed by the swarm's own figures), and closed afterwards. The rules the CLI and the HTTP server share live in
:mod:`swarm_star.api.rules`; the methods here apply them.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarm_star.api import rules
from swarm_star.api.reads import locate
from swarm_star.errors import ConfigError, ConflictError, InputError, QuestionNotFound, SwarmExists
from swarm_star.models import (
    ROOT_NODE_ID,
    NodeRole,
    Question,
    Spawn,
    SwarmEvent,
    SwarmNode,
    SwarmRecord,
    SwarmSettings,
)
from swarm_star.state.history import SwarmLog
from swarm_star.state.layout import INBOX_PREFIX
from swarm_star.state.lease import OwnerLease, OwnerStatus
from swarm_star.state.projection import SwarmState
from swarm_star.state.reader import SwarmReader
from swarm_star.store import Backend, KVStore, StoreLocator, validate_swarm_id

if TYPE_CHECKING:  # imported where used: reading a swarm loads neither the engine nor the model client
    from swarm_star.api.handle import RunHandle
    from swarm_star.api.options import RunOptions
    from swarm_star.engine import RunOutcome
    from swarm_star.kit.pattern import Pattern
    from swarm_star.spaces import Space
    from swarm_star.state.timeline import Timeline
    from swarm_star.tools.host import ToolHost

__all__ = ["ROOT_NODE_ID", "Swarm", "lease_seconds", "locate", "new_swarm_id"]


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
        pattern: Pattern | Mapping[str, Any] | None = None,
    ) -> Swarm:
        """Create a swarm for ``directive`` (frame 0 spawns the root). Runs nothing yet.

        ``pattern``: run an orchestration pattern (``Cascade(tiers=(8, 3, 1))``, ``Sequential(steps)``,
        your own :class:`~swarm_star.kit.Pattern`, or ``{"name": …, "options": {…}}``) instead of the
        planning manager; its name and options are stored with the swarm."""
        from swarm_star.api.context_files import read_context
        from swarm_star.spaces.installed import load_spaces
        from swarm_star.spaces.stored import seed_ops

        directive = (directive or "").strip()
        if not directive:
            raise InputError("the directive is empty: say what the swarm should do")
        files = read_context(context_files)  # before anything is written
        chosen = None
        if pattern is not None:  # the kit (and what it imports) loads only for a pattern
            from swarm_star.kit.pattern import pattern_spec

            chosen = pattern_spec(pattern)
        rules.check_exec(settings or SwarmSettings())
        swarm_id = validate_swarm_id(swarm_id or new_swarm_id())
        locator = locate(space, backend, user_id, env)
        record = SwarmRecord(
            swarm_id=swarm_id,
            user_id=user_id,
            directive=directive,
            created_at=time.time(),
            settings=settings or SwarmSettings(),
        )
        state = SwarmState.new(record)
        root = Spawn(
            node_id=ROOT_NODE_ID,
            parent_id=None,
            role=NodeRole.ROOT,
            action_id="core.root",
            directive=directive,
            context={**({"files": files} if files else {}), **({"pattern": chosen} if chosen else {})},
        )
        event = SwarmEvent(frame=0, time=time.time(), op=root, nodes=[ROOT_NODE_ID])
        state.apply(event)
        try:  # record and frame 0 together: a swarm exists whole or not at all
            first = SwarmLog.creation(record) + seed_ops(*load_spaces())  # the spaces it starts with
            store = locator.create(swarm_id, SwarmLog.batch([event], state, [ROOT_NODE_ID], first))
        except ConflictError as exc:
            raise SwarmExists(f"swarm {swarm_id!r} already exists: choose another id") from exc
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
        locator = locate(space, backend, user_id, env)
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

    @property
    def workspace(self) -> Path:
        """The swarm's workspace folder (a git repository once an action wrote to it)."""
        return self.locator.swarm_dir(self.id) / "workspace"

    def run(self, options: RunOptions | None = None) -> RunHandle:
        """Run (or resume) until finished, failed, a limit, or pending questions.

        Call it on the event loop that is to run the swarm; ``await`` the
        handle for the :class:`RunOutcome`. The owner lease is taken here,
        before the history is read (AlreadyRunning while a live process holds
        it), so two runs started together cannot both run from the same state.
        A swarm whose root is done stays as it is (new limits do not re-open
        it): the outcome says finished or failed and nothing is written.
        """
        from swarm_star.api.options import RunOptions

        return self._start(options or RunOptions())

    def resume(self, options: RunOptions | None = None) -> RunHandle:
        """Continue a stopped or waiting swarm; AlreadyFinished / AlreadyFailed for a
        settled one (see :func:`~swarm_star.api.rules.check_resumable`)."""
        from swarm_star.api.options import RunOptions

        self.check_resumable()
        return self._start(options or RunOptions())

    def retry(self, node_id: str | None = None, options: RunOptions | None = None) -> RunHandle:
        """Re-open the failed nodes of ``node_id``'s subtree (the whole tree by default)
        and run; ``handle.retried`` names them. InputError when nothing failed there.
        The targets come from the stored node records (no replay); the run reads
        the history again once it holds the lease."""
        from swarm_star.api.options import RunOptions

        targets = rules.retry_plan(self.id, rules.stored_nodes(self.log), node_id)
        return self._start(options or RunOptions(), tuple(targets))

    def fork(self, frame: int, swarm_id: str | None = None) -> Swarm:
        """A new swarm whose history is this one's frames 0..``frame``, stopped and resumable;
        this one is untouched (see :mod:`swarm_star.api.fork` for what a fork leaves behind)."""
        from swarm_star.api.fork import fork_swarm

        return fork_swarm(self, frame, swarm_id)

    def check_resumable(self) -> None:
        """Raise AlreadyFinished or AlreadyFailed if ``resume`` would refuse this swarm
        (judged from the stored node records: no replay of the history)."""
        rules.check_resumable(self.id, rules.stored_nodes(self.log))

    def run_sync(
        self, options: RunOptions | None = None, *, on_frame: Callable[[SwarmEvent], None] | None = None
    ) -> RunOutcome:
        """``run`` for synchronous callers: runs its own event loop until the run ends;
        ``on_frame`` is subscribed to the run's frames (``RunHandle.subscribe``)."""
        from swarm_star import eventloop

        async def go() -> RunOutcome:
            handle = self.run(options)
            if on_frame is not None:
                handle.subscribe(on_frame)
            return await handle

        return eventloop.run(go())

    def _start(self, options: RunOptions, retry: tuple[str, ...] = ()) -> RunHandle:
        import asyncio

        from swarm_star.api.handle import RunHandle

        asyncio.get_running_loop()  # RuntimeError now, not a lease held by a run that never starts
        tools = self._tool_host(options)  # a missing or broken MCP servers file: said now, nothing held
        lease = OwnerLease(self.store, seconds=lease_seconds(options.env))
        lease.acquire()
        handle = RunHandle(self.id, options, retry)
        handle._start(self._run_leased(lease, options, retry, handle, tools), lease.release)
        return handle

    def _tool_host(self, options: RunOptions) -> ToolHost:
        """The run's tools: the MCP servers file (this run's, else the stored one) and the policy."""
        from swarm_star.api.tools import load_mcp
        from swarm_star.tools.host import ToolHost

        stored = self.log.record().settings.tools
        settings = stored
        if options.approvals:
            settings = stored.model_copy(update={"approvals": {**stored.approvals, **options.approvals}})
        path = stored.mcp if options.mcp is None else (options.mcp or None)  # "" : no servers this run
        host = ToolHost(load_mcp(path), settings)
        host.exec_yes = options.yes
        return host

    async def _run_leased(
        self, lease: OwnerLease, options: RunOptions, retry: tuple[str, ...], handle: RunHandle, tools: ToolHost
    ) -> RunOutcome:
        try:
            return await self._run_engine(lease, options, retry, handle, tools)
        finally:
            await tools.aclose()  # every MCP server this run started is stopped

    async def _run_engine(
        self, lease: OwnerLease, options: RunOptions, retry: tuple[str, ...], handle: RunHandle, tools: ToolHost
    ) -> RunOutcome:
        from swarm_star.engine import Engine
        from swarm_star.llm.routing import ModelRouter
        from swarm_star.spaces.installed import load_spaces

        self.state = self.log.replay()  # only now: the lease is ours, nobody else writes
        done = rules.settled(self.state)
        if done is not None and not retry:
            return done
        rules.check_exec(self.settings)  # this machine may lack the sandbox the swarm was made with
        llm = options.llm
        if llm is None:  # every provider its roles name; routing reads the swarm's own figures
            llm = ModelRouter(options.models or self.settings.models, options.env, stats=self.state.endpoints)
        elif isinstance(llm, ModelRouter):
            llm.stats = self.state.endpoints
        actions, utils = load_spaces()
        if options.patterns:
            from swarm_star.kit.pattern import bind_patterns

            bind_patterns(actions, options.patterns)
        engine = Engine(
            store=self.store,
            state=self.state,
            llm=llm,
            actions=actions,
            utils=utils,
            swarm_dir=self.locator.swarm_dir(self.id),
            poll_interval=options.poll_interval,
            lease=lease,
            tune_gc=options.tune_gc,
            executor=options.executor,
            tools=tools,
        )
        handle._bind(engine)
        try:
            return await engine.run(
                limits=options.limits, interactive=options.interactive, on_question=handle._question, retry=retry
            )
        finally:
            self.state = engine.state
            if options.llm is None:
                await llm.aclose()

    # questions

    def questions(self) -> list[tuple[SwarmNode, Question]]:
        """Questions still waiting for an answer (answers already queued excluded).

        Read from the stored node records, not by replaying the history."""
        return rules.pending_questions(self.log)

    def answer(self, question_id: str, text: str) -> None:
        """Queue an answer; a running swarm picks it up within its poll interval,
        a stopped one when it is resumed."""
        if not text.strip():
            raise InputError("the answer is empty")
        if question_id not in {q.id for _, q in self.questions()}:
            raise QuestionNotFound(f"no pending question {question_id!r} in swarm {self.id}")
        self.store.put(INBOX_PREFIX + question_id, {"answer": text, "time": time.time()})

    def approvals(self) -> list[tuple[SwarmNode, Question]]:
        """Tool calls waiting for the user's approval (each a pending question naming the exact call)."""
        from swarm_star.api.tools import split_questions

        return split_questions(self.questions())[1]

    def approve(self, question_id: str, approve: bool) -> None:
        """Approve (run it) or deny a pending tool call; like ``answer`` with yes or no."""
        if question_id not in {q.id for _, q in self.approvals()}:
            raise QuestionNotFound(f"no pending approval {question_id!r} in swarm {self.id}")
        self.answer(question_id, "yes" if approve else "no")

    # reading

    def owner(self) -> OwnerStatus:
        """Who holds the swarm's owner lease and whether that process is alive."""
        return rules.owner(self.store)

    def wait_for_owner(
        self, notify: Callable[[OwnerStatus, float], None], env: Mapping[str, str] | None = None
    ) -> None:
        """Before ``resume``/``retry``: if a live holder still has the lease (its process may
        have just died, or froze), wait up to one lease for it to lapse, ``notify(status,
        seconds)`` once first; AlreadyRunning if it is still held then (exit 6)."""
        rules.wait_for_owner(self.store, lease_seconds(env), notify)

    def spaces(self) -> tuple[Space, Space]:
        """The swarm's action and util spaces as its store records them, what its routers walk:
        the installed trees it recorded, the actions it created, every MCP server's tools it
        listed (``spaces/stored.py``). Read only: nothing is written, no server is started."""
        from swarm_star.api.tools import graft_recorded_tools
        from swarm_star.spaces.installed import load_spaces
        from swarm_star.spaces.stored import adopt_spaces

        actions, utils = load_spaces()
        adopt_spaces(self.log, actions, utils, self.log.record().settings, self.locator.swarm_dir(self.id), write=False)
        graft_recorded_tools(actions, self.log)
        return actions, utils

    def memory_space(self) -> Space:
        """The swarm's memory space as the routers see it (context files, results, notes)."""
        from swarm_star.spaces.memory import memory_space

        return memory_space(self.state.memory.values())

    @property
    def reader(self) -> SwarmReader:
        """The swarm's store as read, without a replay: its stored records (meta, node
        records, ``frame_count``, ``node``) and its history."""
        return self.log

    def frame(self, number: int) -> SwarmEvent | None:
        """One frame of the history, None if there is no such frame."""
        return self.log.frame(number)

    def tree(self, frame: int | None = None) -> SwarmState:
        """The state now, or as it was right after frame ``frame`` (a replay: it
        includes the recorded calls and the memory; :meth:`read_tree` is cheaper)."""
        return self.log.replay(frame)

    def timeline(self) -> Timeline:
        """What ran when, from the frames' timestamps: node activations and model calls as bars."""
        from swarm_star.state.timeline import build_timeline

        return build_timeline(self.log.frames())

    def read_tree(self, frame: int | None = None) -> SwarmState:
        """The tree as the read commands show it, without the recorded calls or the memory:
        now, read from the stored projection (the meta and node records: a few reads,
        whatever the length of the history), or right after frame ``frame`` (one replay,
        frames streamed, each recorded call dropped once applied)."""
        if frame is None:
            return self.log.load(memory=False)
        return self.log.replay(frame, journal=False)

    def history(self, node_id: str | None = None) -> Iterator[SwarmEvent]:
        for event in self.log.frames():
            if node_id is None or node_id in event.nodes:
                yield event

    async def tail(self, *, start: int = 0, poll: float = 0.5) -> AsyncIterator[SwarmEvent]:
        """Follow the history as frames are committed (works from another process too)."""
        import asyncio

        next_frame = start
        while True:
            for event in self.log.frames(next_frame):
                next_frame = event.frame + 1
                yield event
            await asyncio.sleep(poll)
