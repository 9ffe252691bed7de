"""The one place that talks to models: ``AsyncOpenAI`` with our own retry policy.

Why our own retries: the SDK's retries would stack with ours and hide how many
attempts a call took; so the SDK gets ``max_retries=0`` and this module retries
only what is worth retrying (429 honouring ``Retry-After``, 5xx, timeouts,
dropped connections) with exponential backoff and jitter.

Why the aiohttp transport: with the SDK's default HTTP client, thousands of
concurrent requests collapse (see benchmarks/README.md); ``DefaultAioHttpClient``
keeps high fan-out flat.

Structured output: ask for a JSON-schema response format; if the server
rejects that, fall back to JSON mode, then to plain text with the schema in
the prompt. The reply is validated with pydantic; one repair request carries
the validation error back; after that the call fails with ModelOutputError.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from swarm_star.errors import ModelError, ModelOutputError
from swarm_star.llm.endpoint import Endpoint
from swarm_star.models import ModelSettings, Usage

__all__ = ["ChatResult", "LLMClient", "parse_structured", "retry_after_seconds", "schema_prompt", "strip_fence"]

T = TypeVar("T", bound=BaseModel)
RESPONSE_MODES = ("json_schema", "json_object", "text")
MAX_RETRY_AFTER = 60.0


@dataclass
class ChatResult:
    """What one logical call produced, across its attempts and repair."""

    text: str
    usage: Usage
    attempts: int
    latency_s: float
    model: str
    messages: list[dict[str, str]] = field(default_factory=list)


@functools.lru_cache(maxsize=256)
def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, computed once per class (pydantic rebuilds it every call)."""
    return schema.model_json_schema()


def schema_prompt(schema: type[BaseModel]) -> str:
    return "Reply with only a JSON object (no prose, no code fences) that matches this JSON schema:\n" + json.dumps(
        json_schema_of(schema), separators=(",", ":")
    )


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def strip_fence(text: str) -> str:
    """The reply without a Markdown code fence around it (models add one unasked)."""
    match = _FENCE.match(text)
    return match.group(1) if match else text.strip()


def retry_after_seconds(value: str | None, cap: float = MAX_RETRY_AFTER) -> float | None:
    """A ``Retry-After`` header in seconds, capped; None if absent or not a number."""
    if not value:
        return None
    try:
        return min(float(value), cap)
    except ValueError:
        return None


def parse_structured(text: str, schema: type[T]) -> T:
    """Validate a model reply against ``schema`` (tolerating a code fence around it)."""
    body = strip_fence(text)
    try:
        return schema.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "reply"
        raise ModelOutputError(f"reply does not match {schema.__name__}: {where}: {first['msg']}") from exc


def _retry_after(exc: openai.APIStatusError) -> float | None:
    return retry_after_seconds(exc.response.headers.get("retry-after") if exc.response is not None else None)


class LLMClient:
    """An async chat client for one OpenAI-compatible endpoint. Pass it in; never global."""

    def __init__(self, endpoint: Endpoint, settings: ModelSettings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self._client = openai.AsyncOpenAI(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            max_retries=0,
            timeout=settings.timeout,
            http_client=openai.DefaultAioHttpClient(timeout=settings.timeout),
        )
        self._mode = 0  # index into RESPONSE_MODES; lowered once a server rejects a mode

    def model_for(self, role: str) -> str:
        explicit = getattr(self.settings, role, None)
        if isinstance(explicit, list):  # [primary, *fallbacks]: the primary answers by default
            explicit = explicit[0] if explicit else None
        return explicit or self.endpoint.default_model or self.settings.default_model

    def price(self, model: str, prompt: int, completion: int) -> float:
        per_million = self.settings.prices.get(model)
        if not per_million:
            return 0.0
        return (prompt * per_million[0] + completion * per_million[1]) / 1_000_000

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
    ) -> ChatResult:
        """One logical call: retries, response-format fallback and one repair request."""
        model = model or self.model_for(role)
        started = time.perf_counter()
        usage = Usage()
        attempts = 0
        convo = list(messages)
        for repair in (False, True):
            text, used, tries = await self._complete_structured(convo, model, schema, temperature, max_tokens, stop)
            usage, attempts = usage.plus(used), attempts + tries
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
                    {"role": "assistant", "content": text},
                    {
                        "role": "user",
                        "content": f"That reply was invalid ({exc}). " + schema_prompt(schema),
                    },
                ]
        return ChatResult(text, usage, attempts, time.perf_counter() - started, model, convo)

    async def _complete_structured(
        self,
        messages: list[dict[str, str]],
        model: str,
        schema: type[BaseModel] | None,
        temperature: float | None,
        max_tokens: int | None,
        stop: list[str] | None,
    ) -> tuple[str, Usage, int]:
        while True:
            mode = RESPONSE_MODES[self._mode] if schema is not None else "text"
            kwargs: dict[str, Any] = {}
            sent = messages
            if mode == "json_schema" and schema is not None:
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": schema.__name__, "schema": json_schema_of(schema)},
                }
            elif mode == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
            if schema is not None and mode != "json_schema":
                sent = [{"role": "system", "content": schema_prompt(schema)}, *messages]
            try:
                return await self._complete(sent, model, temperature, max_tokens, stop, kwargs)
            except openai.BadRequestError as exc:
                if schema is not None and self._mode < len(RESPONSE_MODES) - 1:
                    self._mode += 1  # this server rejects that response format: step down
                    continue
                raise ModelError(f"model request rejected (400): {_short(exc)}") from exc

    async def _complete(
        self,
        messages: list[dict[str, str]],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        stop: list[str] | None,
        extra: dict[str, Any],
    ) -> tuple[str, Usage, int]:
        attempt = 0
        limit = self.settings.max_retries
        payload: dict[str, Any] = {"model": model, "messages": messages, **extra}
        if temperature is not None:
            payload["temperature"] = temperature
        if mt := max_tokens or self.endpoint.max_tokens:
            payload["max_tokens"] = mt
        if stop:
            payload["stop"] = stop
        while True:
            attempt += 1
            try:
                # client.post is the SDK's documented low-level call: same transport, auth, errors
                # and timeouts as chat.completions.create, minus its per-request params transform
                # and model construction, which cost more CPU than the rest of a swarm step.
                response = await self._client.post("/chat/completions", body=payload, cast_to=object)
            except (openai.RateLimitError, openai.InternalServerError) as exc:
                if attempt > limit:
                    raise ModelError(f"model endpoint failed after {attempt} attempts: {_short(exc)}") from exc
                await asyncio.sleep(_retry_after(exc) or _backoff(attempt))
                continue
            except openai.APIStatusError as exc:
                if exc.status_code >= 500 and attempt <= limit:
                    await asyncio.sleep(_backoff(attempt))
                    continue
                if isinstance(exc, openai.BadRequestError):
                    raise
                raise ModelError(f"model endpoint error {exc.status_code}: {_short(exc)}") from exc
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                if attempt > limit:
                    what = "timed out" if isinstance(exc, openai.APITimeoutError) else "unreachable"
                    raise ModelError(f"model endpoint {what} after {attempt} attempts") from exc
                await asyncio.sleep(_backoff(attempt))
                continue
            except openai.OpenAIError as exc:
                raise ModelError(f"model call failed: {_short(exc)}") from exc
            except ValueError as exc:  # a 200 whose body is not JSON (cut off, or not an API at all)
                if attempt > limit:
                    raise ModelError(f"model endpoint returned a malformed body after {attempt} attempts") from exc
                await asyncio.sleep(_backoff(attempt))
                continue
            return self._read(response, model), self._usage(response, model), attempt

    def _read(self, response: Any, model: str) -> str:
        try:
            message = response["choices"][0]["message"]
            content = message.get("content")
            refusal = message.get("refusal")
        except (TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ModelOutputError("model returned no choices (not a chat completion)") from exc
        if refusal:
            raise ModelOutputError(f"model refused: {str(refusal)[:200]}")
        if content is not None and not isinstance(content, str):
            raise ModelOutputError("model returned non-text content")
        return content or ""

    def _usage(self, response: Any, model: str) -> Usage:
        used = response.get("usage") if isinstance(response, dict) else None
        used = used if isinstance(used, dict) else {}
        try:
            prompt = int(used.get("prompt_tokens") or 0)
            completion = int(used.get("completion_tokens") or 0)
        except (TypeError, ValueError):
            prompt = completion = 0
        return Usage(
            calls=1,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost=self.price(model, prompt, completion),
        )


def _backoff(attempt: int) -> float:
    return min(8.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random())


def _short(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return " ".join(str(text).split())[:200]
