"""The one place that talks to models: ``AsyncOpenAI`` with our own retry policy.

Why our own retries: the SDK's retries would stack with ours and hide how many
attempts a call took; so the SDK gets ``max_retries=0`` and this module retries
only what is worth retrying (429 honouring ``Retry-After``, 5xx, timeouts,
dropped connections) with exponential backoff and jitter. Replies are streamed:
an attempt ends when nothing new arrives for ``ModelSettings.timeout`` (a stall),
and in any case after ``timeout + max_tokens / min_rate`` seconds, so a slow
model making progress is never cut off and a server that trickles forever still
ends (:mod:`.streaming`). Connection refused,
DNS failures and timeouts that exhaust their retries raise
:class:`~swarm_star.errors.ModelUnreachable` (the swarm pauses, it does not fail).

Why the aiohttp transport: with the SDK's default HTTP client, thousands of
concurrent requests collapse (see benchmarks/README.md); ``DefaultAioHttpClient``
keeps high fan-out flat. A per-endpoint semaphore (``ModelSettings.concurrency``,
1 on loopback, 64 elsewhere) keeps a single-slot local server from queueing
requests until they time out.

Structured output negotiates, per model of this endpoint, the best mode the
server accepts, and remembers it: ``json_schema`` → ``json_object`` with a
``schema`` (llama.cpp's grammar form) → plain ``json_object`` with the schema
in the prompt → text with the schema in the prompt. A mode is stepped down on
400/404/422, and on a 5xx whose body names the response format or a grammar; a
rejected mode never consumes the retry budget. A tool step (``native``) is first
sent with native function calling (``tools``) and its answer written as the
step's structured reply; an endpoint that refuses ``tools`` is remembered and
asked in the structured-output mode from then on. A schema sent to the server never
carries a repetition bound a grammar engine cannot compile (:mod:`.grammar`).
Every request carries exactly one system message (a schema prompt is merged into
it) and a ``max_tokens`` cap chosen by the call's :class:`~swarm_star.prompts.Purpose`.
Replies are parsed leniently (code fences stripped, raw newlines in strings
allowed), validated with pydantic, and repaired once.

Every attempt the server answered is counted in the call's usage, failed and
abandoned ones included; a failed call carries what it used on the exception
(``exc.partial``) so the engine can record it. Errors are redacted of
credentials before they leave this module, and a reply's text has the
client's key and the configured keys masked (a server may repeat the
``Authorization`` header it was sent).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from swarm_star.errors import ModelError, ModelOutputError, ModelUnreachable
from swarm_star.llm.endpoint import Endpoint
from swarm_star.llm.grammar import bounded_schema, format_refused, grammar_safe
from swarm_star.llm.prices import PriceBook
from swarm_star.llm.redact import known_secrets, mask, redact
from swarm_star.llm.streaming import STREAM_PROGRESS, Deadlines, Stalled, stream_completion
from swarm_star.models import HttpAttempt, ModelSettings, Usage
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.structured import REPAIR, SCHEMA_PROMPT
from swarm_star.prompts.tools import NativeTools
from swarm_star.text import clean_data, clean_text

if TYPE_CHECKING:  # the SDK is imported where a client is built: read-only CLI paths never pay for it
    import ssl

    import openai

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "RESPONSE_MODES",
    "TOOLS_MODE",
    "CallTally",
    "ChatResult",
    "Gate",
    "LLMClient",
    "bounded_schema",
    "parse_structured",
    "request_digest",
    "retry_after_seconds",
    "schema_prompt",
    "strict_schema",
    "strip_fence",
]

T = TypeVar("T", bound=BaseModel)
RESPONSE_MODES = ("json_schema", "json_object_schema", "json_object", "text")
TOOLS_MODE = "tools"
"""The mode of a step asked with native function calling (``tools``), tried before the others."""
MAX_RETRY_AFTER = 60.0
DEFAULT_MAX_TOKENS = 1024
"""The cap of a call whose purpose is not a :class:`~swarm_star.prompts.Purpose` (each member names its own)."""

Gate = Callable[[str, int, int], None]
"""Called before every attempt with (model, most prompt tokens it can cost, max_tokens); raises to stop."""


@dataclass
class ChatResult:
    """What one logical call produced, across its attempts and repair."""

    text: str
    usage: Usage
    attempts: int
    latency_s: float
    model: str
    messages: list[dict[str, str]] = field(default_factory=list)
    mode: str | None = None
    max_tokens: int | None = None
    finish_reason: str | None = None
    attempt_log: list[HttpAttempt] = field(default_factory=list)


@functools.lru_cache(maxsize=256)
def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, computed once per class (pydantic rebuilds it every call)."""
    return schema.model_json_schema()


def schema_prompt(schema: type[BaseModel]) -> str:
    return SCHEMA_PROMPT + json.dumps(json_schema_of(schema), separators=(",", ":"))


_FENCE = re.compile(r"^\s*```[A-Za-z]*\s*(.*?)\s*```\s*$", re.S)


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


def _loads_lenient(body: str) -> Any:
    """JSON with raw control characters allowed in strings (llama.cpp's grammar lets
    newlines through), falling back to the outermost ``{...}`` when prose surrounds it."""
    try:
        return json.loads(body, strict=False)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            return json.loads(body[start : end + 1], strict=False)
        raise


def parse_structured(text: str, schema: type[T]) -> T:
    """Validate a model reply against ``schema``: fences stripped, lenient JSON, then pydantic.
    A lone surrogate the JSON spells as an escape (``"\\ud83d"``) becomes U+FFFD."""
    try:
        data = clean_data(_loads_lenient(strip_fence(text)))
    except json.JSONDecodeError as exc:
        raise ModelOutputError(f"reply does not match {schema.__name__}: not a JSON object ({exc.msg})") from exc
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "reply"
        raise ModelOutputError(f"reply does not match {schema.__name__}: {where}: {first['msg']}") from exc


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The schema in OpenAI's strict form (every object closed, every property
    required), or None when it cannot be strict without changing its meaning
    (optional fields with defaults): then it is sent non-strict."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: walk(value) for key, value in node.items() if key != "default"}
            if node.get("type") == "object" and "properties" in node:
                props = node["properties"]
                if set(node.get("required", ())) != set(props) or any("default" in p for p in props.values()):
                    raise ValueError("not strict-compatible")
                out["additionalProperties"] = False
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    try:
        return walk(schema)
    except ValueError:
        return None


def request_digest(messages: list[dict[str, str]], schema: type[BaseModel] | None) -> str:
    """What an action asked, as a short digest: the messages and the schema it wants.
    A recorded reply answers only a request with the same digest."""
    body = json.dumps(
        [messages, json_schema_of(schema) if schema is not None else None], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def one_system(messages: list[dict[str, str]], extra: str | None = None) -> list[dict[str, str]]:
    """The conversation with every system text (and ``extra``) merged into one leading
    system message: many chat templates allow only one, some drop the rest."""
    parts = [m["content"] for m in messages if m.get("role") == "system" and m.get("content")]
    if extra:
        parts.append(extra)
    rest = [m for m in messages if m.get("role") != "system"]
    return ([{"role": "system", "content": "\n\n".join(parts)}] if parts else []) + rest


TEMPLATE_TOKENS_PER_MESSAGE = 8  # a chat template's role markers and separators, per message
TEMPLATE_TOKENS_PER_REQUEST = 32  # its framing and any default system text, per request


def estimate_tokens(messages: list[dict[str, str]], extra: dict[str, Any] | None = None) -> int:
    """The most prompt tokens a request can cost, reserved against the budget before it is sent.

    An upper bound, not an average: a byte-level BPE tokenizer (GPT, Llama 3, Qwen)
    never makes a token of less than one byte, so the UTF-8 size of every text sent
    (the messages and the response format's JSON, which providers count as prompt)
    plus a chat template's overhead bounds what a server can count (an average of
    ~3 characters a token let requests in flight overshoot the limit, #19).
    """
    size = sum(len(str(m.get("content") or "").encode("utf-8", "surrogatepass")) for m in messages)
    fmt = (extra or {}).get("response_format")
    if fmt is not None:
        size += len(json.dumps(fmt, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    return size + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) + TEMPLATE_TOKENS_PER_REQUEST


def max_tokens_for(purpose: Purpose | str | None, role: str, settings: ModelSettings, endpoint: Endpoint) -> int:
    """The completion cap: the role's override, else ``--max-call-tokens``, else the purpose's
    (a :class:`Purpose` member's own cap; any other label gets :data:`DEFAULT_MAX_TOKENS`)."""
    if role in settings.role_max_tokens:
        return settings.role_max_tokens[role]
    if settings.max_tokens or endpoint.max_tokens:
        return int(settings.max_tokens or endpoint.max_tokens)  # type: ignore[arg-type]
    cap = purpose.max_tokens if isinstance(purpose, Purpose) else None
    return cap or DEFAULT_MAX_TOKENS


class _Rejected(Exception):
    """The server refused the response format of this request (step down, don't retry)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class CallTally:
    """Bookkeeping of one logical call across attempts (shared by every provider's client)."""

    model: str
    max_tokens: int
    started: float = field(default_factory=time.perf_counter)
    usage: Usage = field(default_factory=Usage)
    log: list[HttpAttempt] = field(default_factory=list)
    sent: list[dict[str, str]] = field(default_factory=list)
    mode: str | None = None
    finish_reason: str | None = None
    native: NativeTools | None = None  # a tool step: its native function-calling form

    def result(self, text: str) -> ChatResult:
        return ChatResult(
            text=text,
            usage=self.usage,
            attempts=len(self.log),
            latency_s=time.perf_counter() - self.started,
            model=self.model,
            messages=self.sent,
            mode=self.mode,
            max_tokens=self.max_tokens,
            finish_reason=self.finish_reason,
            attempt_log=self.log,
        )


def _tls_for(url: str) -> ssl.SSLContext | bool:
    """Verify certificates against the system's authorities, which cost ~20 ms to load.

    A plain-http endpoint (the local servers) never needs them: it gets a context that
    trusts no authority at all, so a redirect to https fails closed instead of going
    unverified.
    """
    import ssl
    import urllib.parse

    if urllib.parse.urlsplit(url).scheme.lower() == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class LLMClient:
    """An async chat client for one OpenAI-compatible endpoint. Pass it in; never global."""

    def __init__(self, endpoint: Endpoint, settings: ModelSettings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        import openai  # ~0.5 s of CPU: only paid by processes that call a model

        self._client = openai.AsyncOpenAI(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            max_retries=0,
            timeout=settings.timeout,
            http_client=openai.DefaultAioHttpClient(timeout=settings.timeout, verify=_tls_for(endpoint.url)),
        )
        self._modes: dict[str, int] = {}  # model -> index into RESPONSE_MODES, lowered on rejection
        self._whole: set[str] = set()  # models whose server reports no usage in a stream: sent unstreamed
        self._no_tools: set[str] = set()  # models whose server refused native function calling
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None
        self._secrets = known_secrets(extra=(endpoint.api_key,))
        self.prices = PriceBook(settings.prices, endpoint)

    # configuration

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency or (1 if self.endpoint.loopback else 64)

    @property
    def retry_timeouts(self) -> bool:
        if self.settings.retry_timeouts is not None:
            return self.settings.retry_timeouts
        return not self.endpoint.loopback

    def models_for(self, role: str) -> list[str]:
        """``[primary, *fallbacks]``: the role's models (see ``ModelSettings.own_models_for``),
        else the endpoint's or settings' default."""
        return self.settings.own_models_for(role) or [self.endpoint.default_model or self.settings.default_model]

    def model_for(self, role: str) -> str:
        return self.models_for(role)[0]

    def route(self, role: str) -> list[tuple[str, str | None]]:
        """The role's models in configured order; one endpoint routes nothing (see llm/routing.py)."""
        return [(model, None) for model in self.models_for(role)]

    def mode_for(self, model: str) -> str:
        """The structured-output mode this endpoint is known to accept for ``model``."""
        return RESPONSE_MODES[self._modes.get(model, 0)]

    def native_tools(self, model: str) -> bool:
        """Whether tool steps for ``model`` are sent with native function calling (until refused)."""
        return model not in self._no_tools

    def streams(self, model: str) -> bool:
        """Whether requests for ``model`` are streamed (not once its server streamed without usage)."""
        return model not in self._whole

    def remember_mode(self, model: str, mode: str) -> None:
        """Start ``model`` at ``mode`` (e.g. the mode a resumed swarm found before)."""
        if mode in RESPONSE_MODES:
            self._modes[model] = max(self._modes.get(model, 0), RESPONSE_MODES.index(mode))

    def max_tokens_for(self, purpose: Purpose | str | None, role: str) -> int:
        return max_tokens_for(purpose, role, self.settings, self.endpoint)

    def price(self, model: str, prompt: int, completion: int) -> float:
        """Cost in USD; 0.0 when unknown (see :meth:`PriceBook.known`)."""
        return self.prices.cost(model, prompt, completion) or 0.0

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def aclose(self) -> None:
        await self._client.close()

    # calls

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
        """One logical call: negotiation, retries and one repair request.

        ``gate`` is asked before every attempt (the engine reserves budget
        there). ``native``: the same step in native function-calling form, sent
        instead where the endpoint takes it. On failure the exception carries
        ``partial``: a :class:`ChatResult` with the usage and attempts so far.
        """
        call = CallTally(model or self.model_for(role), max_tokens or self.max_tokens_for(purpose, role))
        call.native = native
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
                        {
                            "role": "user",
                            "content": REPAIR.format(error=exc),
                        },
                    ]
            return call.result(text)
        except BaseException as exc:  # cancellation included: what was sent is still counted
            exc.partial = call.result("")  # type: ignore[attr-defined]
            raise

    def _shape(
        self, convo: list[dict[str, str]], schema: type[BaseModel] | None, mode: str, max_tokens: int
    ) -> tuple[list[dict[str, str]], dict[str, Any]]:
        if schema is None:
            return one_system(convo), {}
        js = json_schema_of(schema)
        if mode == "json_schema":
            strict = strict_schema(js)
            # a local server compiles it to a grammar too: bound free text there, as below (a small
            # model otherwise fills a string up to the cap and the reply is cut off mid-JSON)
            shaped = bounded_schema(strict or js, max_tokens) if self.endpoint.loopback else grammar_safe(strict or js)
            spec: dict[str, Any] = {"name": schema.__name__, "schema": shaped}
            if strict is not None:
                spec["strict"] = True
            fmt = {"type": "json_schema", "json_schema": spec}
            return one_system(convo), {"response_format": fmt}
        sent = one_system(convo, schema_prompt(schema))
        if mode == "json_object_schema":
            return sent, {"response_format": {"type": "json_object", "schema": bounded_schema(js, max_tokens)}}
        if mode == "json_object":
            return sent, {"response_format": {"type": "json_object"}}
        return sent, {}

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
            native = call.native if call.native is not None and call.model not in self._no_tools else None
            if native is not None:  # its reply is always a valid step: never followed by a repair
                sent, extra = one_system(native.messages), native.payload()
                call.sent, call.mode = one_system(native.shown()), TOOLS_MODE  # the record keeps text only
                try:
                    return await self._complete(sent, call, temperature, stop, extra, gate)
                except _Rejected:
                    self._no_tools.add(call.model)  # remembered: this endpoint's tool steps go structured
                    continue
            index = self._modes.get(call.model, 0) if schema is not None else len(RESPONSE_MODES) - 1
            mode = RESPONSE_MODES[index]
            sent, extra = self._shape(convo, schema, mode, call.max_tokens)
            call.sent, call.mode = sent, mode
            try:
                return await self._complete(sent, call, temperature, stop, extra, gate)
            except _Rejected as exc:
                if extra and index < len(RESPONSE_MODES) - 1:
                    self._modes[call.model] = max(self._modes.get(call.model, 0), index + 1)
                    continue
                raise ModelError(f"model request rejected ({exc.status}): {exc}") from None

    async def _complete(
        self,
        messages: list[dict[str, str]],
        call: CallTally,
        temperature: float | None,
        stop: list[str] | None,
        extra: dict[str, Any],
        gate: Gate | None,
    ) -> str:
        import openai  # already loaded by __init__; a dict lookup here

        attempt = 0
        limit = self.settings.max_retries
        deadlines = Deadlines.of(self.settings, call.max_tokens)
        payload: dict[str, Any] = {"model": call.model, "messages": messages, "max_tokens": call.max_tokens, **extra}
        if temperature is not None:
            payload["temperature"] = temperature
        if stop:
            payload["stop"] = stop
        prompt_estimate = estimate_tokens(messages, extra)
        while True:
            attempt += 1
            if gate is not None:
                gate(call.model, prompt_estimate, call.max_tokens)
            record = HttpAttempt(mode=call.mode)
            call.log.append(record)
            started = time.perf_counter()
            wait: float | None = None
            sent_at = 0.0
            try:
                async with self._slot():
                    started = sent_at = time.perf_counter()
                    # client.post is the SDK's documented low-level call: same transport, auth, errors
                    # and timeouts as chat.completions.create, minus its per-request params transform
                    # and model construction, which cost more CPU than the rest of a swarm step.
                    # Streamed: a stall ends it; the total clock ends a reply that drips forever.
                    async with asyncio.timeout(deadlines.total):
                        if call.model in self._whole:
                            response = await self._client.post(
                                "/chat/completions", body=payload, cast_to=object, options={"timeout": deadlines.total}
                            )
                        else:
                            response, usage_seen = await stream_completion(
                                self._client, payload, deadlines, STREAM_PROGRESS.get()
                            )
                            if not usage_seen:  # its tokens would go uncounted: send this model's requests whole
                                self._whole.add(call.model)
                record.status = 200
            except asyncio.CancelledError:  # a hard stop: the request may have been processed (and paid)
                self._count(
                    call, record, None, "cancelled", "in flight when the run stopped", started, paid=sent_at > 0
                )
                raise
            except (TimeoutError, openai.APIConnectionError) as exc:
                if not _timed_out(exc):
                    reason = _connection_reason(exc)
                    paid = reason not in ("connection refused", "host not found (DNS)")
                    self._count(call, record, None, "connection", reason, started, paid=paid)
                    if attempt > limit:
                        raise ModelUnreachable(
                            f"model endpoint unreachable: {reason} ({self.endpoint.url}, {attempt} attempts)"
                        ) from None
                    await asyncio.sleep(_backoff(attempt))
                    continue
                why = _timeout_reason(exc, deadlines, time.perf_counter() - started)
                self._count(call, record, None, "timeout", why, started)
                if not self.retry_timeouts or attempt > limit:
                    raise ModelUnreachable(
                        f"model endpoint unreachable: timed out ({attempt} attempt(s); {why}"
                        f"{'' if self.retry_timeouts else '; timed-out calls are not retried on a local server'})"
                    ) from exc
            except openai.APIStatusError as exc:
                status = exc.status_code
                message = self.redact(_short(exc))
                detail = f"{message} {getattr(exc, 'body', '')}"
                self._count(call, record, status, type(exc).__name__, message, started)
                if extra and format_refused(status, detail):  # incl. a grammar it could not compile
                    raise _Rejected(status, message) from None
                if status == 429 or status >= 500:
                    if attempt > limit:
                        raise ModelError(f"model endpoint failed after {attempt} attempts: {message}") from None
                    wait = _retry_after(exc) if status == 429 else None
                else:
                    raise ModelError(f"model endpoint error {status}: {message}") from None
            except openai.APIError as exc:  # an error event inside a stream: a server fault, or the format refused
                message = self.redact(_short(exc))
                status = _stream_error_status(exc)
                self._count(call, record, status, "stream error", message, started)
                if extra and format_refused(status, f"{message} {getattr(exc, 'body', '')}"):
                    raise _Rejected(status, message) from None
                if status != 429 and status < 500:
                    raise ModelError(f"model endpoint error {status}: {message}") from None
                if attempt > limit:
                    raise ModelError(f"model endpoint failed after {attempt} attempts: {message}") from None
            except openai.OpenAIError as exc:
                message = self.redact(_short(exc))
                self._count(call, record, None, type(exc).__name__, message, started)
                raise ModelError(f"model call failed: {message}") from None
            except UnicodeEncodeError as exc:  # raised before sending: nothing reached the server
                self._count(call, record, None, "unencodable", _short(exc), started, paid=False)
                raise ModelError(f"the request could not be encoded (not sent): {_short(exc)[:120]}") from None
            except ValueError:  # a 200 whose body is not JSON (cut off, or not an API at all)
                self._count(call, record, 200, "malformed", "reply body is not JSON", started)
                if attempt > limit:
                    raise ModelError(f"model endpoint returned a malformed body after {attempt} attempts") from None
            else:
                text = self._read(response, call, record, started)
                return text
            await asyncio.sleep(wait or _backoff(attempt))

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
        *,
        paid: bool = True,
    ) -> None:
        """An attempt that ended without a usable reply: logged, and counted as a call
        when the request reached the server (it may have been paid for)."""
        record.status = status
        record.error = f"{kind}: {message}"[:200]
        record.latency_s = round(time.perf_counter() - started, 4)
        if paid:
            call.usage = call.usage.plus(Usage(calls=1))

    def _read(self, response: Any, call: CallTally, record: HttpAttempt, started: float) -> str:
        record.latency_s = round(time.perf_counter() - started, 4)
        used = response.get("usage") if isinstance(response, dict) else None
        used = used if isinstance(used, dict) else {}
        details = used.get("prompt_tokens_details")
        try:
            prompt = int(used.get("prompt_tokens") or 0)
            completion = int(used.get("completion_tokens") or 0)
            cached = min(prompt, int(details.get("cached_tokens") or 0)) if isinstance(details, dict) else 0
        except (TypeError, ValueError):
            prompt = completion = cached = 0
        record.prompt_tokens, record.completion_tokens = prompt, completion
        cost = self.prices.cost(call.model, prompt, completion, cached=cached)
        call.usage = call.usage.plus(
            Usage(
                calls=1,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=cost or 0.0,
                unpriced_calls=0 if cost is not None else 1,
                cached_tokens=cached,
            )
        )
        try:
            choice = response["choices"][0]
            message = choice["message"]
            content = message.get("content")
            refusal = message.get("refusal")
            content = clean_text(content) if isinstance(content, str) else content  # half an emoji: U+FFFD
            call.finish_reason = choice.get("finish_reason")
        except (TypeError, KeyError, IndexError, AttributeError) as exc:
            record.error = "malformed: no choices"
            raise ModelOutputError("model returned no choices (not a chat completion)") from exc
        if refusal:
            record.error = "refusal"
            raise ModelOutputError(f"model refused: {self.redact(clean_text(str(refusal)))[:200]}")
        if content is not None and not isinstance(content, str):
            record.error = "malformed: non-text content"
            raise ModelOutputError("model returned non-text content")
        if call.mode == TOOLS_MODE and call.native is not None:  # the answer as the step's structured reply
            calls = message.get("tool_calls")
            calls = [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
            if call.native.ignored(calls):
                record.error = "tools ignored: the first step called nothing"
                raise _Rejected(200, "the server answered the tool's first step without a call")
            content = call.native.reply(content or "", calls)
        return mask(content or "", self._secrets)  # a reply that repeats the key it was sent keeps none of it


def _retry_after(exc: openai.APIStatusError) -> float | None:
    return retry_after_seconds(exc.response.headers.get("retry-after") if exc.response is not None else None)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in out):
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _timeout_reason(exc: BaseException, deadlines: Deadlines, elapsed: float) -> str:
    """Which clock ended the attempt, in words."""
    if isinstance(exc, Stalled):
        return str(exc)
    if elapsed >= deadlines.total - 0.05:
        return f"not complete within {deadlines.total:g} s (the total for this call's max_tokens)"
    return f"no data for {deadlines.stall:g} s"


def _stream_error_status(exc: BaseException) -> int:
    """The status an error event inside a stream names (llama.cpp puts one in ``code``), else 500."""
    body = getattr(exc, "body", None)
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) and 400 <= code < 600 else 500


def _timed_out(exc: BaseException) -> bool:
    """A real timeout somewhere under the error. (The aiohttp transport reports a
    dropped connection as a *connect timeout*; that is not a timeout.)"""
    return any(isinstance(e, TimeoutError) for e in _chain(exc))


def _connection_reason(exc: BaseException) -> str:
    """What went wrong under an SDK connection error: refused is not a DNS failure is not a drop."""
    seen: set[int] = set()
    current: BaseException | None = exc
    text = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "host not found (DNS)"
        text += f" {type(current).__name__} {current}"
        current = current.__cause__ or current.__context__
    lowered = text.lower()
    if "refused" in lowered or "errno 111" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "dns" in lowered:
        return "host not found (DNS)"
    if "disconnect" in lowered or "reset" in lowered or "closed" in lowered:
        return "connection dropped"
    return "connection failed"


def _backoff(attempt: int) -> float:
    return min(8.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random())


def _short(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return clean_text(" ".join(str(text).split())[:300])
