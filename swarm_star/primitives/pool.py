"""An agent pool: many OpenAI-compatible chat endpoints driven over one aiohttp session.

Why raw aiohttp rather than the ``openai`` SDK here: a broadcast sends the
same small request to thousands of endpoints, and the SDK's per-request
transform and model construction cost more CPU than the request itself
(see benchmarks/README.md); the pool only needs the reply text and usage.

Limits: a global in-flight limit and a per-agent limit (per-agent first, then
global, so a task never holds a global permit while queued on a busy agent).
A permit covers one HTTP attempt only: backoff sleeps happen outside it, so a
failing agent never starves the others. An overall deadline bounds the whole
call, including time spent queued, and also shortens each attempt: an attempt
may take at most its fair share of what is left, ``remaining × max_in_flight /
requests not yet done`` (never under :data:`MIN_ATTEMPT_SECONDS`, never over
``timeout``), so agents that hang cannot hold every slot until the deadline
while healthy agents wait in the queue. Every failure becomes an
:class:`AgentReply` with ``ok=False`` and a one-line error; a 500 is never
mistaken for empty text.

Text from an agent passes the redaction boundary (:mod:`swarm_star.llm.redact`)
as it enters: an error body is redacted before it is cut to a line (a 401 may
quote the bearer key), a reply's text has the pool's key and the configured
keys masked (an agent may repeat the ``Authorization`` header), so no
reply, stored or printed, carries a key.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarm_star.errors import InputError
from swarm_star.llm.client import retry_after_seconds
from swarm_star.llm.redact import known_secrets, mask, redact
from swarm_star.models import SwarmSettings, Usage
from swarm_star.primitives.hostfile import Agent, load_hostfile
from swarm_star.text import clean_text

if TYPE_CHECKING:  # imported when a pool opens its session: CLI paths that only read stores skip it
    import aiohttp

__all__ = ["AGENT_KEY_VARIABLE", "AgentPool", "AgentReply", "Job", "PoolSettings", "messages_for", "replies_usage"]

AGENT_KEY_VARIABLE = "SWARM_STAR_AGENT_KEY"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0
MIN_ATTEMPT_SECONDS = 1.0
"""The least time an attempt is given under a deadline, however many requests wait."""


MAX_ERROR_BODY = 64 * 1024
"""Bytes of an error body read for its one-line summary (a 10 MB error page is not redacted whole)."""

DEFAULT_AGENT_MAX_TOKENS = 1024
"""Every agent request is capped (a model that rambles to its context limit costs minutes);
``max_tokens=None`` sends no cap, for servers that reject the field."""


@dataclass(frozen=True)
class PoolSettings:
    """How the pool talks to its agents. ``api_key`` is sent as a bearer token, never stored."""

    model: str = "default"
    max_in_flight: int = 256
    per_agent: int = 16
    connect_timeout: float = 5.0
    timeout: float = 60.0
    retries: int = 2
    backoff: float = 0.2
    max_tokens: int | None = DEFAULT_AGENT_MAX_TOKENS
    temperature: float | None = None
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or self.per_agent < 1:
            raise InputError("max_in_flight and per_agent must be at least 1")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise InputError("timeouts must be positive")
        if self.retries < 0:
            raise InputError("retries cannot be negative")


@dataclass
class AgentReply:
    """One request's outcome. ``index`` is the request's position in its batch."""

    index: int
    agent: str
    ok: bool
    text: str = ""
    error: str | None = None
    attempts: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def success(self) -> bool:
        """Aurora-Swarm's name for :attr:`ok`."""
        return self.ok

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentReply:
        return cls(**data)


Job = tuple[Agent, list[dict[str, str]]]
OnReply = Callable[[AgentReply], None]


def replies_usage(replies: Iterable[AgentReply | None]) -> Usage:
    """Usage of a batch: one call per attempt made, tokens as the agents reported them."""
    usage = Usage()
    for r in replies:
        if r is not None:
            usage = usage.plus(
                Usage(calls=r.attempts, prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens)
            )
    return usage


def messages_for(prompt: str, system: str | None = None) -> list[dict[str, str]]:
    out = [{"role": "system", "content": system}] if system else []
    out.append({"role": "user", "content": prompt})
    return out


class _Attempt(Exception):
    """One failed attempt: ``retry`` says whether another could succeed."""

    def __init__(self, message: str, retry: bool, wait: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.wait = wait


class _Shared:
    """What a pool and all its sub-pools share: the session and the permits."""

    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings
        self.session: aiohttp.ClientSession | None = None
        self.in_flight = asyncio.Semaphore(settings.max_in_flight)
        self.per_agent: dict[str, asyncio.Semaphore] = {}
        self.headers = {"Content-Type": "application/json"}
        if settings.api_key:
            self.headers["Authorization"] = f"Bearer {settings.api_key}"
        self.secrets = known_secrets(extra=(settings.api_key or "",))

    def agent_gate(self, agent: Agent) -> asyncio.Semaphore:
        gate = self.per_agent.get(agent.base_url)
        if gate is None:
            gate = self.per_agent[agent.base_url] = asyncio.Semaphore(self.settings.per_agent)
        return gate

    async def open(self) -> aiohttp.ClientSession:
        import aiohttp

        if self.session is None or self.session.closed:
            connector = aiohttp.TCPConnector(limit=self.settings.max_in_flight, limit_per_host=self.settings.per_agent)
            self.session = aiohttp.ClientSession(connector=connector)
        return self.session


class AgentPool:
    """A set of agents plus the session and limits used to reach them.

    Use as ``async with AgentPool(agents) as pool:``. ``where``, ``sample`` and
    ``slice`` return sub-pools that share the parent's session and limits.
    Aurora-Swarm's keywords are accepted over ``settings``: ``concurrency``
    (requests in flight, :attr:`PoolSettings.max_in_flight`), ``model``,
    ``timeout`` and ``max_tokens``.
    """

    def __init__(
        self,
        agents: Sequence[Agent],
        settings: PoolSettings | None = None,
        *,
        concurrency: int | None = None,
        model: str | None = None,
        timeout: float | None = None,
        max_tokens: int | None = None,
        _shared: _Shared | None = None,
    ):
        if not agents:
            raise InputError("an agent pool needs at least one agent")
        self.agents = list(agents)
        given = {"max_in_flight": concurrency, "model": model, "timeout": timeout, "max_tokens": max_tokens}
        changes: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
        if changes and _shared is not None:
            raise InputError("a sub-pool shares its parent's settings")
        self._shared = _shared or _Shared(replace(settings or PoolSettings(), **changes))

    @classmethod
    def from_hostfile(cls, path: str | Path, settings: PoolSettings | None = None) -> AgentPool:
        return cls(load_hostfile(path), settings)

    @classmethod
    def for_swarm(cls, settings: SwarmSettings, env: Mapping[str, str] | None = None) -> AgentPool:
        """The pool a swarm's actions use: its hostfile, agent model and timeout.

        The bearer key comes from ``SWARM_STAR_AGENT_KEY`` at run time (never
        from settings, which are stored), and is never the OpenAI key: a
        hostfile may list machines that should not see it.
        """
        if not settings.hostfile:
            raise InputError("no hostfile configured for this swarm (swarm-star run --hostfile FILE)")
        env = os.environ if env is None else env
        pool_settings = PoolSettings(
            model=settings.agent_model,
            timeout=settings.agent_timeout,
            api_key=env.get(AGENT_KEY_VARIABLE),
        )
        return cls.from_hostfile(settings.hostfile, pool_settings)

    @property
    def settings(self) -> PoolSettings:
        return self._shared.settings

    def __len__(self) -> int:
        return len(self.agents)

    def __iter__(self) -> Iterator[Agent]:
        return iter(self.agents)

    async def __aenter__(self) -> AgentPool:
        await self._shared.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._shared.session is not None:
            await self._shared.session.close()

    # sub-pools

    def _view(self, agents: Sequence[Agent], what: str) -> AgentPool:
        if not agents:
            raise InputError(f"no agents match {what}")
        return AgentPool(agents, _shared=self._shared)

    def where(self, **tags: str) -> AgentPool:
        """Agents whose tags include all of ``tags`` (e.g. ``role="critic"``)."""
        return self._view([a for a in self.agents if a.matches(tags)], " ".join(f"{k}={v}" for k, v in tags.items()))

    def sample(self, k: int, seed: int | None = None) -> AgentPool:
        if not 0 < k <= len(self.agents):
            raise InputError(f"cannot sample {k} of {len(self.agents)} agents")
        return self._view(random.Random(seed).sample(self.agents, k), f"a sample of {k}")

    def slice(self, start: int, stop: int | None = None) -> AgentPool:
        return self._view(self.agents[start:stop], f"slice {start}:{stop}")

    def groups(self, tag: str) -> dict[str, AgentPool]:
        """Sub-pools by the value of ``tag`` (agents without it are left out)."""
        by_value: dict[str, list[Agent]] = {}
        for agent in self.agents:
            if tag in agent.tags:
                by_value.setdefault(agent.tags[tag], []).append(agent)
        return {value: AgentPool(agents, _shared=self._shared) for value, agents in by_value.items()}

    def agent_for(self, index: int) -> Agent:
        """Round-robin assignment: request ``index`` goes to this agent."""
        return self.agents[index % len(self.agents)]

    # requests

    async def run(
        self,
        jobs: Sequence[Job],
        *,
        deadline: float | None = None,
        on_reply: OnReply | None = None,
    ) -> list[AgentReply]:
        """Send every job concurrently; replies come back in job order.

        ``deadline``: seconds for the whole batch; requests not done by then
        end as failures ("deadline exceeded"). Cancelling the caller cancels
        every request still in flight.
        """
        await self._shared.open()
        loop = asyncio.get_running_loop()
        until = loop.time() + deadline if deadline is not None else None
        left = len(jobs)
        settings = self._shared.settings

        def attempt_timeout() -> float:
            """This attempt's fair share of the time left (see the module docstring)."""
            if until is None:
                return settings.timeout
            share = (until - loop.time()) * settings.max_in_flight / max(left, 1)
            return min(settings.timeout, max(MIN_ATTEMPT_SECONDS, share))

        async def one(index: int, job: Job) -> AgentReply:
            nonlocal left
            try:
                reply = await self.ask(job[0], job[1], index=index, until=until, attempt_timeout=attempt_timeout)
            finally:
                left -= 1
            if on_reply is not None:
                on_reply(reply)
            return reply

        return list(await asyncio.gather(*(one(i, job) for i, job in enumerate(jobs))))

    async def post(
        self, agent_index: int, prompt: str, *, system: str | None = None, max_tokens: int | None = None
    ) -> AgentReply:
        """Aurora-Swarm's single request: ``prompt`` to agent ``agent_index``; the reply has ``.text``."""
        if not 0 <= agent_index < len(self.agents):
            raise InputError(f"no agent {agent_index}: the pool has {len(self.agents)} (0-{len(self.agents) - 1})")
        return await self.ask(self.agents[agent_index], messages_for(prompt, system), max_tokens=max_tokens)

    async def ask(
        self,
        agent: Agent,
        messages: list[dict[str, str]],
        *,
        index: int = 0,
        until: float | None = None,
        attempt_timeout: Callable[[], float] | None = None,
        max_tokens: int | None = None,
    ) -> AgentReply:
        """One request with retries; ``until`` is an absolute ``loop.time()`` deadline;
        ``attempt_timeout`` gives each attempt's timeout when it gets its slot; ``max_tokens``
        overrides the pool's cap for this request."""
        started = time.perf_counter()
        reply = AgentReply(index=index, agent=agent.name, ok=False)
        body = self._body(messages, max_tokens)
        try:
            if until is None:
                await self._attempts(agent, body, reply, attempt_timeout)
            else:
                async with asyncio.timeout_at(until):
                    await self._attempts(agent, body, reply, attempt_timeout)
        except TimeoutError:
            reply.ok, reply.error = False, "deadline exceeded"
        reply.latency_s = round(time.perf_counter() - started, 4)
        return reply

    async def _attempts(
        self,
        agent: Agent,
        body: bytes,
        reply: AgentReply,
        attempt_timeout: Callable[[], float] | None = None,
    ) -> None:
        shared = self._shared
        settings = shared.settings
        while True:
            reply.attempts += 1
            try:
                async with shared.agent_gate(agent), shared.in_flight:
                    timeout = settings.timeout if attempt_timeout is None else attempt_timeout()
                    status, raw, retry_after = await self._post(agent, body, timeout)
                _parse(status, raw, retry_after, reply, shared.secrets)
                return
            except _Attempt as failure:
                reply.error = str(failure)
                if not failure.retry or reply.attempts > settings.retries:
                    return
                pause = failure.wait or settings.backoff * 2 ** (reply.attempts - 1) * (0.5 + random.random())
                await asyncio.sleep(pause)

    def _body(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> bytes:
        settings = self._shared.settings
        payload: dict[str, Any] = {"model": settings.model, "messages": messages}
        cap = max_tokens if max_tokens is not None else settings.max_tokens
        if cap is not None:
            payload["max_tokens"] = cap
        if settings.temperature is not None:
            payload["temperature"] = settings.temperature
        return json.dumps(payload).encode()

    async def _post(self, agent: Agent, body: bytes, total: float) -> tuple[int, bytes, str | None]:
        import aiohttp  # loaded by open() already

        shared = self._shared
        session = await shared.open()
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=min(total, shared.settings.connect_timeout))
        try:
            async with session.post(
                agent.base_url + "/chat/completions", data=body, headers=shared.headers, timeout=timeout
            ) as resp:
                return resp.status, await resp.read(), resp.headers.get("Retry-After")
        except TimeoutError as exc:
            raise _Attempt(f"timed out after {total:.3g} s", retry=True) from exc
        except aiohttp.ClientError as exc:
            detail = _line(str(exc), shared.secrets)
            raise _Attempt(f"connection failed: {type(exc).__name__}: {detail}", retry=True) from exc


def _parse(status: int, raw: bytes, retry_after: str | None, reply: AgentReply, secrets: Sequence[str]) -> None:
    """Fill ``reply`` from an agent's answer, or raise the attempt's one-line failure."""
    if status != 200:
        wait = retry_after_seconds(retry_after, MAX_RETRY_AFTER)
        detail = _line(raw[:MAX_ERROR_BODY].decode("utf-8", "replace"), secrets)
        raise _Attempt(f"HTTP {status}: {detail}", retry=status in RETRYABLE_STATUS, wait=wait)
    try:
        data = json.loads(raw)
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise _Attempt("malformed reply: not a chat completion JSON body", retry=True) from exc
    if message.get("refusal"):
        raise _Attempt(f"refused: {_line(str(message['refusal']), secrets)}", retry=False)
    text = message.get("content")
    if not isinstance(text, str) or not text.strip():
        raise _Attempt("empty reply", retry=False)
    usage = data.get("usage") or {}
    reply.ok, reply.text, reply.error = True, mask(clean_text(text), secrets), None  # half an emoji becomes U+FFFD
    reply.prompt_tokens = int(usage.get("prompt_tokens") or 0)
    reply.completion_tokens = int(usage.get("completion_tokens") or 0)


def _line(text: str, secrets: Sequence[str]) -> str:
    """An error text as kept: one line, redacted whole *before* it is cut (a cut key escapes the mask)."""
    return redact(clean_text(" ".join(text.split())), secrets)[:120]
