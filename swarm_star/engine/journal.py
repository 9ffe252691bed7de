"""The call journal actions call into: model calls and primitives, each a journaled step."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from swarm_star.errors import LimitReached, ModelError, ModelUnreachable, SwarmStarError
from swarm_star.llm.client import ChatResult
from swarm_star.llm.redact import known_secrets, redact
from swarm_star.models import (
    LLMCall,
    Usage,
)
from swarm_star.prompts.purpose import Purpose


class CallJournal:
    """Part of :class:`~swarm_star.engine.loop.Engine`: journaled model calls and primitive runs."""

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
