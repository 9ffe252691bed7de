"""Activations as Ray tasks; this process stays the single writer of the store.

Why Ray: when actions do real CPU work (run tests, parse files), one event loop
on one core is the limit; Ray spreads activations over the processes of a
cluster (or of this machine) without us writing a scheduler, and a dead
worker is reported to the caller instead of hanging it.

How a remote activation runs: the engine submits the node, a snapshot of the
swarm state and the model endpoint to a *streaming generator* method of one of
a pool of Ray actors (worker processes, one per CPU, each running many
activations on its own event loop). The worker runs the action with an
:class:`ActionContext` whose host is a :class:`WorkerHost`: the same
:class:`~swarm_star.engine.journal.CallJournal` and
:class:`~swarm_star.engine.budget.Budget` the writer uses (fallbacks, mode
negotiation, usage of failed attempts), over the snapshot, except that each
finished call is yielded back at once instead of being written. The writer
journals each call as it arrives (:meth:`ActionHost.record`: a frame,
committed at its next loop pass), and takes the action's operations from the
final item. Nothing in a worker writes to the store.

Failures: an action's exception comes back as an item and fails the node as it
would in-process; limits and an unreachable endpoint pause the swarm as usual.
Lost infrastructure is an outage, never a failed part: a worker that dies
(killed, out of memory, node lost) is re-submitted by the engine, without
limit while the cluster lives, with the state *as journaled so far*: the calls
it completed and streamed back are replayed from the frames by key and digest,
not paid again. What is paid twice is only a call that was in flight when the
worker died (sent, not yet streamed back). When the cluster itself is gone (its
GCS refuses connections, or no node is alive) the activation raises
:class:`~swarm_star.errors.ExecutorUnreachable` and the swarm pauses, resumable,
like it does for an unreachable model endpoint.

Output: Ray's driver prints worker-death notices on ``sys.stdout`` from a
thread of its own (``log_to_driver=False`` does not stop those); the CLI points
``sys.stdout`` at stderr while it runs a swarm on Ray (see ``cli/flags.py``),
so its stdout carries only its own output.

Budgets: each worker reserves against the snapshot it was given, and the
engine checks the limits as calls arrive; with many workers in flight the
calls already sent can overshoot ``max_calls`` by at most the number of
activations in flight (in-process runs reserve exactly).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarm_star.engine.activation import run_action
from swarm_star.engine.budget import Budget
from swarm_star.engine.context import ActionContext
from swarm_star.engine.host import ActionHost
from swarm_star.engine.journal import CallJournal
from swarm_star.errors import ConfigError, ExecutorUnreachable, LimitReached, ModelUnreachable, SwarmStarError
from swarm_star.models import LLMCall
from swarm_star.spaces.own import load_own_actions

if TYPE_CHECKING:
    from swarm_star.llm.protocol import ModelClient
    from swarm_star.spaces import Space
    from swarm_star.state.projection import SwarmState

__all__ = ["EXECUTORS", "RayExecutor", "WorkerHost"]

EXECUTORS = ("local", "ray")
MAX_BACKOFF = 5.0  # seconds between re-submissions of an activation whose worker keeps dying
PROBE_TIMEOUT = 3.0  # seconds to wait for the cluster's GCS to accept a connection


class WorkerLost(SwarmStarError):
    """A Ray worker's stream ended without a result (neither an error nor the operations)."""


@dataclass
class RayExecutor:
    """Runs each activation on a pool of Ray actors. ``address=None`` starts a local Ray instance.

    Why actors, not one task per activation: an activation mostly waits for the
    model, and a Ray task holds a CPU slot while it waits, so 2 CPUs would run
    2 activations at a time. Each actor is a worker process with its own event
    loop that runs many activations at once (like the engine's loop does), one
    actor per CPU (``workers``), so CPU-heavy actions run in parallel on
    separate cores. Actors are restarted by Ray when their process dies.

    ``num_cpus`` applies to a local instance only. An activation whose worker died is
    re-submitted (its journaled calls are kept) for as long as the cluster lives.
    """

    address: str | None = None
    num_cpus: int | None = 2
    workers: int | None = None  # actors in the pool; default: the cluster's CPUs
    running: dict[str, int] = field(default_factory=dict)  # node id -> pid of the process running it now
    lost: int = 0  # activations whose worker died mid-way in this executor's life (each re-submitted)
    _actors: list[Any] = field(default_factory=list, repr=False)
    _load: list[int] = field(default_factory=list, repr=False)
    _started_ray: bool = field(default=False, repr=False)
    _gone: str | None = field(default=None, repr=False)  # why the cluster is known to be gone

    def start(self) -> None:
        """Connect to (or start) Ray and the actor pool once; cheap when already up."""
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError("the ray executor needs Ray: pip install 'swarm-star[ray]'") from exc
        if not ray.is_initialized():
            # ERROR: Ray's own warnings (e.g. "Token authentication is enabled …") are not the run's
            # output; what goes wrong for a swarm is said by the swarm (a frame, an error line)
            quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, **quiet)
            self._started_ray = True
        if not self._actors:
            count = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            # num_cpus=0: an actor mostly waits for the model, and a CPU reservation per actor would
            # make a second pool (another run in this process) wait forever for free CPUs.
            actor = ray.remote(_ActivationActor).options(
                max_restarts=-1, max_task_retries=0, max_concurrency=10_000, num_cpus=0
            )
            self._actors = [actor.remote() for _ in range(count)]
            self._load = [0] * count

    def close(self) -> None:
        """Shut down the Ray instance this executor started (one it connected to stays up)."""
        import ray

        if self._started_ray and ray.is_initialized():
            ray.shutdown()
        self._started_ray, self._gone = False, None
        self._actors, self._load = [], []

    async def activate(self, host: ActionHost, ctx: ActionContext) -> list[Any]:
        """Run one activation remotely; journal its calls with ``host`` as they arrive; return its ops."""
        import ray

        if self._gone is not None:  # known gone: look again before submitting anything to it
            self._gone = await asyncio.to_thread(cluster_gone)
            if self._gone is not None:
                raise ExecutorUnreachable(f"{self._gone}; the swarm is paused, resume when it is back")
        self.start()
        llm = host.llm
        node_id = ctx.node.id
        failures = 0
        while True:
            job = _Job(
                state=host.state,
                node_id=node_id,
                activation=ctx.activation,
                reason=ctx.reason,
                swarm_dir=str(host.swarm_dir),
                endpoint=None if llm is None else llm.endpoint,
                models=None if llm is None else llm.settings,
                resolved=getattr(llm, "resolved", None),  # a ModelRouter's providers, keys included
                exec_yes=host.exec_yes,
            )
            slot = min(range(len(self._actors)), key=self._load.__getitem__)  # the least busy actor
            self._load[slot] += 1
            stream = self._actors[slot].activate.options(num_returns="streaming").remote(job)
            try:
                async for ref in stream:
                    kind, value = await ref
                    if kind == "pid":
                        self.running[node_id] = value
                    elif kind == "call":
                        host.record(value)  # journaled now: a crash after this does not repay it
                    elif kind == "ops":
                        return list(value)
                    else:
                        raise _rebuild(value)
                raise WorkerLost(f"the worker for node {node_id} ended without a result")
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError):
                failures += 1
                self.lost += 1
                if self._gone is None:  # another activation may have looked already
                    self._gone = await asyncio.to_thread(cluster_gone)
                if self._gone is not None:
                    raise ExecutorUnreachable(f"{self._gone}; the swarm is paused, resume when it is back") from None
                await asyncio.sleep(min(MAX_BACKOFF, 0.2 * failures))  # let Ray restart the actor
            except asyncio.CancelledError:
                ray.cancel(stream, force=False)
                raise
            finally:
                self._load[slot] -= 1
                self.running.pop(node_id, None)


def cluster_gone() -> str | None:
    """Why the connected Ray cluster is gone, or None while it lives.

    Gone: its GCS (the head's control store) refuses connections, or no node is
    alive. A TCP connect decides the first because Ray's own calls block while
    the GCS is away (and Ray ends the driver process after about a minute).
    """
    import ray

    if not ray.is_initialized():
        return "the Ray cluster is not connected"
    try:
        gcs = ray.get_runtime_context().gcs_address
    except Exception:  # Ray Client mode has no GCS address here: judge by the connection alone
        return None
    host, _, port = str(gcs).rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT).close()
    except (OSError, ValueError) as exc:
        return f"the Ray cluster is unreachable (its GCS at {gcs}: {getattr(exc, 'strerror', None) or exc})"
    if not any(node.get("Alive") for node in ray.nodes()):
        return "the Ray cluster has no live node"
    return None


@dataclass
class _Job:
    state: SwarmState
    node_id: str
    activation: int
    reason: str
    swarm_dir: str
    endpoint: Any
    models: Any
    resolved: Any = None
    exec_yes: bool = False  # the run's --yes, which the worker's activations honour as the writer's do


def _rebuild(error: dict[str, str]) -> Exception:
    """The worker's exception, as the writer's loop expects it (see Engine._wait_and_apply)."""
    kind, message = error["kind"], error["message"]
    if kind == "limit":
        return LimitReached(error.get("limit", "max_calls"), message)
    if kind == "unreachable":
        return ModelUnreachable(message)
    if kind == "swarm":
        return SwarmStarError(message)
    return RuntimeError(message)  # an action bug: the node fails with this message


# ---- worker side -------------------------------------------------------------------------


class _ActivationActor:
    """One worker process: runs many activations at once on its event loop, yields calls as they finish."""

    def __init__(self) -> None:
        self.runtime = _WorkerRuntime()

    async def activate(self, job: _Job) -> AsyncIterator[tuple[str, Any]]:
        items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        task = asyncio.create_task(self.runtime.run(job, items.put_nowait))
        try:
            yield ("pid", os.getpid())
            while True:
                item = await items.get()
                yield item
                if item[0] != "call":
                    return
        finally:
            task.cancel()


class _WorkerRuntime:
    """Per worker process: the action spaces and model clients, kept across activations so
    modules are loaded once and connections and negotiated modes are reused."""

    def __init__(self) -> None:
        self.spaces: dict[str, tuple[Space, Space]] = {}
        self.clients: dict[tuple[Any, ...], ModelClient] = {}

    def _spaces(self, swarm_dir: str) -> tuple[Space, Space]:
        if swarm_dir not in self.spaces:
            from swarm_star.spaces.installed import load_spaces

            self.spaces[swarm_dir] = load_spaces()
        return self.spaces[swarm_dir]

    def _client(self, job: _Job) -> ModelClient | None:
        endpoint, models = job.endpoint, job.models
        if endpoint is None:
            return None
        from swarm_star.llm.client import LLMClient
        from swarm_star.llm.routing import ModelRouter

        key = (endpoint.base_url, endpoint.api_key, models.model_dump_json(), job.resolved is not None)
        if key not in self.clients:
            if job.resolved is not None:
                self.clients[key] = ModelRouter(models, resolved=job.resolved)
            else:
                self.clients[key] = LLMClient(endpoint, models)
        client = self.clients[key]
        if isinstance(client, ModelRouter):
            client.stats = job.state.endpoints  # route by the figures of the state this job was given
        return client

    async def run(self, job: _Job, put: Callable[[tuple[str, Any]], None]) -> None:
        try:
            actions, utils = self._spaces(job.swarm_dir)
            host = WorkerHost(job.state, actions, utils, Path(job.swarm_dir), self._client(job), put, job.exec_yes)
            load_own_actions(host.actions, host.state.record.settings, host.swarm_dir)
            node = job.state.nodes[job.node_id]
            ctx = ActionContext(host, node, job.activation, job.reason)
            ops = await run_action(host.actions, ctx)  # a leaf whose needs are unmet refuses
        except LimitReached as exc:
            put(("error", {"kind": "limit", "limit": exc.limit, "message": str(exc)}))
        except ModelUnreachable as exc:
            put(("error", {"kind": "unreachable", "message": str(exc)}))
        except SwarmStarError as exc:
            put(("error", {"kind": "swarm", "message": str(exc)}))
        except Exception as exc:
            put(("error", {"kind": "crash", "message": f"{type(exc).__name__}: {exc}"}))
        else:
            put(("ops", ops))


class WorkerHost:
    """The :class:`~swarm_star.engine.host.ActionHost` of an activation in a worker process.

    It has no store, lease or loop of its own: the state is the snapshot the
    writer sent, calls go through the same journal and budget as the writer's,
    and each finished call is streamed back (``put``) for the writer to journal.
    """

    def __init__(
        self,
        state: SwarmState,
        actions: Space,
        utils: Space,
        swarm_dir: Path,
        llm: ModelClient | None,
        put: Callable[[tuple[str, Any]], None],
        exec_yes: bool = False,
    ) -> None:
        self.state = state
        self.exec_yes = exec_yes
        self.actions = actions
        self.utils = utils
        self.swarm_dir = swarm_dir
        self.llm = llm
        self._put = put
        self.tools = None  # tool leaves (and, with MCP servers, routers) run on the writer: Engine._uses_tools
        prices = llm.prices if llm is not None else None
        self.journal = CallJournal(state=lambda: self.state, llm=llm, budget=Budget(prices), record=self.record)

    def record(self, call: LLMCall) -> LLMCall:
        """Stream the finished call back to the writer, which journals it."""
        self._put(("call", call))
        return call
