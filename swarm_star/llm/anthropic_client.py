"""Anthropic's Messages API through the official ``anthropic`` SDK, behind the same ``chat`` as
:class:`~swarm_star.llm.client.LLMClient`.

Why native and not Anthropic's OpenAI-compatible layer: that layer drops what
matters here (prompt caching, the usage of cached tokens, forced tool use,
Anthropic's error types and its ``retry-after``). What differs from the
OpenAI path, and how:

- **System prompt.** Every system text of the conversation becomes the
  request's ``system`` block, marked ``cache_control: ephemeral``, so a long
  stable prefix (a router's or a planner's menu) is read from Anthropic's
  prompt cache on later calls. A second breakpoint ends the part of the first
  user message that siblings share (the briefing, before the task's label:
  :func:`~swarm_star.prompts.labels.stable_end`), so a part's request reads
  what its sibling's wrote. Usage counts every prompt token (``input_tokens`` plus
  cache reads and writes) and says how many were cached; the price library
  prices cached tokens at their own rate.
- **Structured output** negotiates, per model, like the OpenAI path: ``tool``
  (the schema as the one tool, ``tool_choice`` forcing it; the reply is the
  tool call's input) → ``json`` (the schema in the system prompt, the reply
  parsed leniently). A server that refuses tools (400) or answers a forced
  tool call with text (an Anthropic-compatible server whose model cannot use
  tools, such as llama.cpp's with a template that has none) is stepped down,
  and the mode is remembered. Replies are validated and repaired once.
- **Errors.** The SDK's own retries are off (``max_retries=0``) so attempts are
  counted here: 429 and 529 (``overloaded_error``) and other 5xx are retried
  honouring ``retry-after`` (or ``retry-after-ms``), timeouts on a remote
  server too, connection failures past their retries raise
  :class:`~swarm_star.errors.ModelUnreachable`. Every attempt the server
  answered is counted, and error texts pass the redaction boundary.
- **Keys.** The key is passed explicitly, so the SDK never reads a credential
  from the environment (``ANTHROPIC_AUTH_TOKEN``, profiles) for a URL it was
  not meant for.
- ``temperature`` goes in the request body (newer SDKs no longer take it as
  an argument; the API and compatible servers still read it).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from pydantic import BaseModel

from swarm_star.errors import ModelError, ModelOutputError, ModelUnreachable
from swarm_star.llm.client import (
    CallTally,
    ChatResult,
    Gate,
    _backoff,
    _connection_reason,
    _short,
    _timed_out,
    estimate_tokens,
    json_schema_of,
    max_tokens_for,
    one_system,
    parse_structured,
    retry_after_seconds,
    schema_prompt,
)
from swarm_star.llm.endpoint import Endpoint
from swarm_star.llm.prices import PriceBook
from swarm_star.llm.redact import known_secrets, mask, redact
from swarm_star.models import HttpAttempt, ModelSettings, Usage
from swarm_star.prompts.labels import stable_end
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.structured import REPAIR
from swarm_star.prompts.tools import NativeTools
from swarm_star.text import clean_data, clean_text

__all__ = ["ANTHROPIC_MODES", "AnthropicClient"]

ANTHROPIC_MODES = ("tool", "json")
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_STEP_DOWN_STATUS = (400, 404, 422)


class _StepDown(Exception):
    """The server does not do this structured-output mode (refused it, or ignored a forced tool)."""


class AnthropicClient:
    """An async chat client for one Anthropic Messages endpoint. Pass it in; never global."""

    def __init__(self, endpoint: Endpoint, settings: ModelSettings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        import anthropic  # only paid by processes that call an Anthropic model

        self._client = anthropic.AsyncAnthropic(
            api_key=endpoint.api_key, base_url=endpoint.url, max_retries=0, timeout=settings.timeout
        )
        self._modes: dict[str, int] = {}
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None
        self._secrets = known_secrets(extra=(endpoint.api_key,))
        self.prices = PriceBook(settings.prices, endpoint)

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency or (1 if self.endpoint.loopback else 16)

    @property
    def retry_timeouts(self) -> bool:
        if self.settings.retry_timeouts is not None:
            return self.settings.retry_timeouts
        return not self.endpoint.loopback

    def mode_for(self, model: str) -> str:
        return ANTHROPIC_MODES[self._modes.get(model, 0)]

    def remember_mode(self, model: str, mode: str) -> None:
        if mode in ANTHROPIC_MODES:
            self._modes[model] = max(self._modes.get(model, 0), ANTHROPIC_MODES.index(mode))

    def max_tokens_for(self, purpose: Purpose | str | None, role: str) -> int:
        return max_tokens_for(purpose, role, self.settings, self.endpoint)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def aclose(self) -> None:
        await self._client.close()

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        role: str = "worker",
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        model: str | None = None,
        purpose: Purpose | str | None = None,
        gate: Gate | None = None,
        native: NativeTools | None = None,
    ) -> ChatResult:
        """One logical call (negotiation, retries, one repair); on failure ``exc.partial`` holds the usage.
        ``native`` is not used: a tool step is asked in the structured-output mode here."""
        call = CallTally(model or self.settings.model_for(role), max_tokens or self.max_tokens_for(purpose, role))
        try:
            convo = list(messages)
            for repair in (False, True):
                text = await self._negotiate(convo, schema, call, temperature, stop, gate)
                if schema is None:
                    break
                try:
                    parse_structured(text, schema)
                    break
                except ModelOutputError as exc:
                    if repair:
                        raise
                    convo = [
                        *convo,
                        {"role": "assistant", "content": text[:2000]},
                        {"role": "user", "content": REPAIR.format(error=exc)},
                    ]
            return call.result(text)
        except BaseException as exc:
            exc.partial = call.result("")  # type: ignore[attr-defined]
            raise

    async def _negotiate(
        self,
        convo: list[dict[str, str]],
        schema: type[BaseModel] | None,
        call: CallTally,
        temperature: float | None,
        stop: list[str] | None,
        gate: Gate | None,
    ) -> str:
        while True:
            index = self._modes.get(call.model, 0)
            mode = ANTHROPIC_MODES[index] if schema is not None else None
            extra_system = schema_prompt(schema) if schema is not None and mode == "json" else None
            sent = one_system(convo, extra_system)
            call.sent, call.mode = sent, mode
            payload = self._payload(sent, schema, mode, call, temperature, stop)
            try:
                return await self._complete(payload, sent, schema, call, gate)
            except _StepDown:
                if index < len(ANTHROPIC_MODES) - 1:
                    self._modes[call.model] = max(self._modes.get(call.model, 0), index + 1)
                    continue
                raise ModelError("model request rejected: no structured-output mode accepted") from None

    def _payload(
        self,
        sent: list[dict[str, str]],
        schema: type[BaseModel] | None,
        mode: str | None,
        call: CallTally,
        temperature: float | None,
        stop: list[str] | None,
    ) -> dict[str, Any]:
        system = next((m["content"] for m in sent if m.get("role") == "system"), None)
        turns: list[dict[str, Any]] = [
            {"role": m["role"], "content": m["content"]} for m in sent if m.get("role") != "system"
        ]
        first = next((t for t in turns if t["role"] == "user"), None)
        cut = stable_end(first["content"]) if first is not None else 0
        if first is not None and cut:  # a second breakpoint: after what siblings share (the briefing)
            first["content"] = [
                {"type": "text", "text": first["content"][:cut], "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": first["content"][cut:]},
            ]
        payload: dict[str, Any] = {"model": call.model, "max_tokens": call.max_tokens, "messages": turns}
        if system:
            payload["system"] = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
        if stop:
            payload["stop_sequences"] = stop
        if temperature is not None:
            payload["extra_body"] = {"temperature": temperature}
        if schema is not None and mode == "tool":
            description = (schema.__doc__ or f"Reply as {schema.__name__}.").strip()
            payload["tools"] = [
                {"name": schema.__name__, "description": description, "input_schema": json_schema_of(schema)}
            ]
            payload["tool_choice"] = {"type": "tool", "name": schema.__name__}
        return payload

    async def _complete(
        self,
        payload: dict[str, Any],
        sent: list[dict[str, str]],
        schema: type[BaseModel] | None,
        call: CallTally,
        gate: Gate | None,
    ) -> str:
        import anthropic

        attempt = 0
        limit = self.settings.max_retries
        timeout = self.settings.timeout
        tools = {"tools": payload["tools"]} if "tools" in payload else None
        prompt_estimate = estimate_tokens(sent, {"response_format": tools} if tools else None)
        while True:
            attempt += 1
            if gate is not None:
                gate(call.model, prompt_estimate, call.max_tokens)
            record = HttpAttempt(mode=call.mode)
            call.log.append(record)
            started = time.perf_counter()
            sent_at = 0.0
            wait: float | None = None
            try:
                async with self._slot():
                    started = sent_at = time.perf_counter()
                    async with asyncio.timeout(timeout):
                        response = await self._client.messages.create(**payload)
                record.status = 200
            except asyncio.CancelledError:
                self._count(call, record, None, "cancelled", "in flight when the run stopped", started, sent_at > 0)
                raise
            except (TimeoutError, anthropic.APIConnectionError) as exc:
                if isinstance(exc, anthropic.APITimeoutError) or _timed_out(exc):
                    self._count(call, record, None, "timeout", f"no complete reply within {timeout:g} s", started)
                    if not self.retry_timeouts or attempt > limit:
                        raise ModelUnreachable(
                            f"model endpoint unreachable: timed out ({attempt} attempt(s) of {timeout:g} s)"
                        ) from None
                else:
                    reason = _connection_reason(exc)
                    paid = reason not in ("connection refused", "host not found (DNS)")
                    self._count(call, record, None, "connection", reason, started, paid)
                    if attempt > limit:
                        raise ModelUnreachable(
                            f"model endpoint unreachable: {reason} ({self.endpoint.url}, {attempt} attempts)"
                        ) from None
            except anthropic.APIStatusError as exc:
                status = exc.status_code
                message = self.redact(_short(exc))
                kind = _error_type(exc) or type(exc).__name__
                self._count(call, record, status, kind, message, started)
                if tools and status in _STEP_DOWN_STATUS:
                    raise _StepDown from None
                if status in (408, 409, 429) or status >= 500:
                    if attempt > limit:
                        raise ModelError(f"model endpoint failed after {attempt} attempts: {message}") from None
                    wait = _retry_after(exc)
                else:
                    raise ModelError(f"model endpoint error {status} ({kind}): {message}") from None
            except anthropic.AnthropicError as exc:
                message = self.redact(_short(exc))
                self._count(call, record, None, type(exc).__name__, message, started)
                raise ModelError(f"model call failed: {message}") from None
            except UnicodeEncodeError as exc:
                self._count(call, record, None, "unencodable", _short(exc), started, False)
                raise ModelError(f"the request could not be encoded (not sent): {_short(exc)[:120]}") from None
            else:
                return self._read(response, schema, call, record, started, forced=bool(tools))
            await asyncio.sleep(wait if wait is not None else _backoff(attempt))

    def saturated(self) -> bool:
        """Every request slot is taken or waited for: a call made now would queue. The engine
        then lets a finished activation's outcome wait for company (``engine/loop.py``)."""
        slots = self._slots
        return slots is not None and self._slots_loop is asyncio.get_running_loop() and slots.locked()

    def _slot(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:
            self._slots, self._slots_loop = asyncio.Semaphore(self.concurrency), loop
        return self._slots

    def _count(
        self,
        call: CallTally,
        record: HttpAttempt,
        status: int | None,
        kind: str,
        message: str,
        started: float,
        paid: bool = True,
    ) -> None:
        record.status = status
        record.error = f"{kind}: {message}"[:200]
        record.latency_s = round(time.perf_counter() - started, 4)
        if paid:
            call.usage = call.usage.plus(Usage(calls=1))

    def _read(
        self,
        response: Any,
        schema: type[BaseModel] | None,
        call: CallTally,
        record: HttpAttempt,
        started: float,
        forced: bool,
    ) -> str:
        record.latency_s = round(time.perf_counter() - started, 4)
        used = getattr(response, "usage", None)
        fresh = int(getattr(used, "input_tokens", 0) or 0)
        read = int(getattr(used, "cache_read_input_tokens", 0) or 0)
        written = int(getattr(used, "cache_creation_input_tokens", 0) or 0)
        completion = int(getattr(used, "output_tokens", 0) or 0)
        prompt = fresh + read + written
        record.prompt_tokens, record.completion_tokens = prompt, completion
        cost = self.prices.cost(call.model, prompt, completion, cached=read, cache_write=written)
        call.usage = call.usage.plus(
            Usage(
                calls=1,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=cost or 0.0,
                unpriced_calls=0 if cost is not None else 1,
                cached_tokens=read,
                cache_write_tokens=written,
            )
        )
        stop_reason = getattr(response, "stop_reason", None)
        call.finish_reason = _FINISH.get(str(stop_reason), stop_reason)
        if stop_reason == "refusal":
            record.error = "refusal"
            raise ModelOutputError("model refused to answer")
        blocks = list(getattr(response, "content", None) or [])
        if forced:
            for block in blocks:
                if getattr(block, "type", None) == "tool_use":
                    return mask(json.dumps(clean_data(block.input), ensure_ascii=False), self._secrets)
            record.error = "no tool call: forced tool use not honoured"
            raise _StepDown
        text = "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", None) == "text")
        return mask(clean_text(text), self._secrets)


def _error_type(exc: Any) -> str | None:
    """Anthropic's error type from the body (``overloaded_error``, ``rate_limit_error``…)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return str(error["type"])
    return None


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis = retry_after_seconds(headers.get("retry-after-ms"), cap=60_000.0)
    if millis is not None:
        return millis / 1000
    return retry_after_seconds(headers.get("retry-after"))
