"""The call journal actions call into: each model call and each step is a journaled record.

An action reaches the outside world through two doors, both here: a model call
(:meth:`CallJournal.call_model`) and a step that makes its own requests or
changes the workspace (:meth:`CallJournal.call_primitive`: a broadcast to
hostfile agents, the commit a coding activation starts from, a command run).
Each one is checked against the budget before it starts and ends as one
:class:`~swarm_star.models.LLMCall` record handed to ``record``: the writer
turns it into a frame (committed at its next pass), a Ray worker streams it
back to the writer. ``ActionContext`` looks a record up by its key and digest
before it comes here, so a step whose record was committed is never repeated
(see ``engine/context.py``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from swarm_star.engine.budget import Budget
from swarm_star.engine.flight import InFlight
from swarm_star.errors import ModelError, SwarmStarError
from swarm_star.llm.client import ChatResult
from swarm_star.llm.protocol import ModelClient
from swarm_star.llm.redact import known_secrets, redact
from swarm_star.models import LLMCall, Usage
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.tools import NativeTools
from swarm_star.state.projection import SwarmState

__all__ = ["INTERRUPTED", "CallJournal", "redact_error"]

INTERRUPTED = "interrupted: the run stopped while this step ran (a resume runs it again)"


def redact_error(llm: ModelClient | None, exc: BaseException | str) -> str:
    """An error's text as it may be stored or shown: the endpoint's key and credential shapes masked."""
    text = str(exc)
    return llm.redact(text) if llm is not None else redact(text, known_secrets())


class CallJournal:
    """Journaled model calls and steps for the activations of one process (the writer or a worker).

    ``state`` gives the swarm state as it is now (the writer replaces its state
    when it takes the lease); ``record`` journals a finished call.
    """

    def __init__(
        self,
        *,
        state: Callable[[], SwarmState],
        llm: ModelClient | None,
        budget: Budget,
        record: Callable[[LLMCall], LLMCall],
    ) -> None:
        self._state = state
        self.llm = llm
        self.budget = budget
        self._record = record
        self._modes_seeded = False
        self.flight = InFlight()  # what this journal has started and not yet recorded

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
        native: NativeTools | None = None,
    ) -> LLMCall:
        """Make one journaled model call: budget reserved per attempt before it is sent,
        the role's models tried in order (``model`` pins one), every answered attempt
        recorded, failed ones included (a usage-only frame with ``error`` set)."""
        self.budget.check(self._state())
        if self.llm is None:
            raise SwarmStarError("this swarm needs a model endpoint to continue")
        self._seed_modes()
        routes = [(model, None)] if model else self.llm.route(role)
        for index, (name, route) in enumerate(routes):
            held: list[Usage] = []
            try:
                with self.flight.track(node_id, key, purpose, "call", name):
                    result = await self.llm.chat(
                        messages,
                        role=role,
                        schema=schema,
                        temperature=temperature,
                        model=name,
                        purpose=purpose,
                        gate=functools.partial(self._reserve, held),
                        native=native,
                    )
            except BaseException as exc:  # a cancelled call (hard stop) is recorded too: it may be paid
                partial = getattr(exc, "partial", None)
                if partial is not None and partial.attempt_log:
                    why = (
                        "cancelled: the run stopped"
                        if isinstance(exc, asyncio.CancelledError)
                        else redact_error(self.llm, exc)
                    )
                    self._record(_call_record(node_id, key, purpose, partial, digest, replaces, why, route))
                # the next model of the role, also when this one's endpoint is unreachable (it may be
                # another provider's); the swarm pauses only when the last one is unreachable too
                if isinstance(exc, ModelError) and index < len(routes) - 1:
                    continue
                raise
            finally:
                self.budget.release(held)
            return self._record(_call_record(node_id, key, purpose, result, digest, replaces, None, route))
        raise SwarmStarError(f"no model configured for role {role}")  # pragma: no cover - models is never empty

    def _reserve(self, held: list[Usage], model: str, prompt_tokens: int, max_tokens: int) -> None:
        """The client's gate, asked before every attempt (see :meth:`Budget.reserve`)."""
        self.budget.reserve(self._state(), held, model, prompt_tokens, max_tokens)

    def _seed_modes(self) -> None:
        """Start each model at the structured-output mode this swarm already found
        (recorded in its call frames), instead of re-negotiating after a resume."""
        if self._modes_seeded or self.llm is None:
            return
        self._modes_seeded = True
        for call in self._state().calls.values():
            if call.mode and call.error is None and call.mode != "text":
                self.llm.remember_mode(call.model, call.mode)

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
        """Run a step that makes its own requests (e.g. to hostfile agents) or changes
        the workspace, and journal its whole JSON result as one call record, usage included.

        ``expected_calls`` is reserved against the call budget *before* sending
        (with the calls other branches have in flight), so a broadcast to 4,000
        agents cannot overshoot ``max_calls`` by 4,000.
        """
        state = self._state()
        self.budget.check(state)
        held = self.budget.reserve_calls(state, expected_calls, purpose)
        started = time.monotonic()
        error = None
        try:
            with self.flight.track(node_id, key, purpose, "step"):
                result, usage = await work()
        except asyncio.CancelledError:  # a hard stop (wall time, Ctrl-C): journaled, run again on resume
            result, usage, error = {"interrupted": True}, Usage(), INTERRUPTED
        finally:
            self.budget.release(held)
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
            error=error,
        )
        self._record(call)
        if error is not None:
            raise asyncio.CancelledError(error)
        return call


def _call_record(
    node_id: str,
    key: str,
    purpose: Purpose | str,
    result: ChatResult,
    digest: str | None,
    replaces: str | None,
    error: str | None,
    route: str | None = None,
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
        replaces=replaces,
        error=error,
        route=route,
    )
