"""A local OpenAI-compatible chat-completions server with scripted replies and faults.

It runs an aiohttp server on 127.0.0.1 in a background thread (so synchronous
tests, subprocesses and the demo can all use it). A *responder* decides each
reply from the request JSON (typically from the response schema's name);
faults can be queued or drawn at random: 500, 429 with Retry-After, a reply
slower than the client's timeout, a dropped connection, truncated or
schema-invalid JSON, refusals, a reply that trickles one byte a second and
never ends, a stream of keep-alive comments that never sends an event, a 500
saying a grammar could not be parsed (llama.cpp's words), a 401 whose body
echoes the ``Authorization`` header, and a 200 whose reply text repeats it
(``echo200``; a responder may return that fault for the requests it should
hit). ``sse_pieces`` writes streamed replies split anywhere, with comments and
multi-line data, as a real server may.

``tools`` (on by default) answers native function calling: a reply with
``tool_calls`` comes back as the assistant's ``tool_calls`` (streamed in pieces
when asked); ``tools=False`` answers any request carrying ``tools`` with a 400
naming them, as a server without function calling does.

``reject_formats`` makes it behave like servers that do not speak every
structured-output mode: ``{"json_schema": 500}`` answers a json_schema request
with a 500 whose body names ``response_format`` (what llama-cpp-python does),
``{"json_schema": 422, "json_object_schema": 400}`` steps a client down twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from swarm_star.prompts.labels import SCHEMA_MARKER
from swarm_star.testing.threaded import ThreadedApp

__all__ = ["Fault", "LocalOpenAIServer", "Reply", "Responder", "request_schema", "response_mode"]


@dataclass
class Reply:
    """A normal reply; ``content`` is text (a dict is sent as JSON)."""

    content: str | dict[str, Any]
    prompt_tokens: int = 10
    completion_tokens: int = 5
    tool_calls: list[dict[str, Any]] | None = None  # native calls: each {"name": ..., "arguments": "<JSON>"}
    cached_tokens: int = 0  # of the prompt tokens, served from the provider's prompt cache


@dataclass
class Fault:
    """An injected failure. kind: 500, 429, slow, drop, truncated, invalid, refusal, trickle, echo401, echo200,
    grammar (a 500 with llama.cpp's text for a schema its grammar parser could not compile),
    stream_grammar (the same as an error event in a started stream), keepalive (a started stream
    of keep-alive comments every ``every`` seconds and never an event), cutstream (a started stream
    whose connection drops after one event), donecut (the whole streamed reply and ``[DONE]``, then the
    connection drops before the body's end), drip (a
    streamed reply that sends one token every ``every`` seconds and never ends) and slowstream (the
    responder's own reply, streamed over ``delay`` seconds, one piece every ``every`` seconds: a slow
    model making progress, not a fault of the server)."""

    kind: str
    retry_after: float = 0.1
    delay: float = 5.0
    every: float = 1.0


Responder = Callable[[dict[str, Any]], "Reply | Fault | str | dict[str, Any]"]


def request_schema(request: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """(name, JSON schema) the request asks for, from response_format or the prompt."""
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema", {})
        return spec.get("name"), spec.get("schema")
    if fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"].get("title"), fmt["schema"]
    for message in request.get("messages", []):
        content = str(message.get("content", ""))
        if SCHEMA_MARKER in content:
            schema = json.loads(content.split(SCHEMA_MARKER, 1)[1])
            return schema.get("title"), schema
    return None, None


def response_mode(request: dict[str, Any]) -> str:
    """The structured-output mode a request asks for, in the client's names."""
    fmt = request.get("response_format") or {}
    kind = fmt.get("type") or "text"
    return "json_object_schema" if kind == "json_object" and "schema" in fmt else kind


@dataclass
class LocalOpenAIServer:
    """Start with ``start()`` (returns the base URL) and stop with ``stop()``."""

    responder: Responder
    latency: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    reject_json_schema: bool = False
    reject_formats: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    completed: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0  # the most requests it held at once (per-provider limits are checked on it)
    log: list[dict[str, Any]] = field(default_factory=list)
    keep_log: bool = False
    authorizations: list[str] = field(default_factory=list)  # each request's Authorization header: which key came
    models: list[str] | None = None  # served at GET /v1/models when set (a real server's listing); else 404
    stream_usage: bool = True  # False: a streamed reply carries no usage, whatever was asked (llama-cpp-python)
    streams: bool = True  # False: answers one JSON body even when a request asks for a stream
    sse_pieces: int = 0  # > 0: a stream written as a real server may split it (see _awkward)
    tools: bool = True  # False: a request with native `tools` is refused (400), as by a server without them

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._served = ThreadedApp("local-openai-server")

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/chat/completions", self._handle)
        if self.models is not None:
            app.router.add_get("/v1/models", self._list_models)
            app.router.add_get("/models", self._list_models)
        self._served.start(app, port, backlog=4096)
        return self.base_url

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> LocalOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _list_models(self, request: web.Request) -> web.Response:
        data = [{"id": name, "object": "model", "owned_by": "local"} for name in self.models or []]
        return web.json_response({"object": "list", "data": data})

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.authorizations.append(request.headers.get("Authorization", ""))
            if self.keep_log:
                self.log.append(body)
        try:
            if body.get("tools") and not self.tools:
                return web.json_response({"error": {"message": "tools are not supported by this server"}}, status=400)
            mode = response_mode(body)
            status = self.reject_formats.get(mode) or (400 if self.reject_json_schema and mode == "json_schema" else 0)
            if status:
                return web.json_response(
                    {"error": {"message": f"response_format: input should be 'text' or 'json_object', not {mode}"}},
                    status=status,
                )
            if self.latency:
                await asyncio.sleep(self.latency)
            outcome: Any = self._next_fault() or self.responder(body)
            if isinstance(outcome, Fault):
                return await self._fault(request, outcome, body)
            return await self._answer(request, body, self._reply_completion(body, outcome))
        finally:
            with self._lock:
                self.in_flight -= 1
                self.completed += 1

    def _reply_completion(self, body: dict[str, Any], outcome: Any) -> dict[str, Any]:
        reply = outcome if isinstance(outcome, Reply) else Reply(outcome)
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        completion = self._completion(body, content, reply)
        if reply.tool_calls:
            choice = completion["choices"][0]
            choice["message"]["tool_calls"] = [
                {"id": f"call_{self.requests}_{n}", "type": "function", "function": dict(call)}
                for n, call in enumerate(reply.tool_calls)
            ]
            choice["finish_reason"] = "tool_calls"
        return completion

    async def _answer(
        self,
        request: web.Request,
        body: dict[str, Any],
        completion: dict[str, Any],
        every: float = 0.0,
        pieces: int = 1,
        cut: bool = False,
    ) -> web.StreamResponse:
        """The completion as one JSON body, or streamed (server-sent events) when the request asks;
        ``cut``: the stream's connection drops after ``[DONE]``, before the body's end."""
        if not (body.get("stream") and self.streams):
            return web.json_response(completion)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
        message = completion["choices"][0]["message"]
        text = message.get("content") or ""
        count = max(1, min(pieces, len(text)))
        events: list[dict[str, Any]] = [{"role": "assistant"}]
        events += [{"content": text[i * len(text) // count : (i + 1) * len(text) // count]} for i in range(count)]
        for n, call in enumerate(message.get("tool_calls") or ()):  # its name first, its arguments in two pieces
            arguments = call["function"]["arguments"]
            head = {"index": n, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
            events.append({"tool_calls": [{**head, "function": {**head["function"], "arguments": arguments[:5]}}]})
            events.append({"tool_calls": [{"index": n, "function": {"arguments": arguments[5:]}}]})
        if message.get("refusal"):
            events.append({"refusal": message["refusal"]})
        finish = completion["choices"][0]["finish_reason"]
        chunks = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in events]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if self.stream_usage and (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": completion["usage"]})
        lines = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks] + [b"data: [DONE]\n\n"]
        with contextlib.suppress(ConnectionError, RuntimeError):
            if self.sse_pieces:
                await self._awkward(response, chunks)
            elif not every:  # at once: one write
                await response.write(b"".join(lines))
            else:  # the role event, then one piece every `every` seconds
                for n, line in enumerate(lines):
                    if n > 1 and n < len(events):
                        await asyncio.sleep(every)
                    await response.write(line)
            if cut and request.transport is not None:
                await asyncio.sleep(0.02)  # the events arrive; the chunked end never does
                request.transport.close()
                raise ConnectionResetError("injected drop after [DONE]")
            await response.write_eof()
        return response

    async def _awkward(self, response: web.StreamResponse, chunks: list[dict[str, Any]]) -> None:
        """The events with CRLF line ends, a keep-alive comment before each, each event's JSON
        over several ``data:`` lines, written ``sse_pieces`` bytes at a time with a pause
        between writes so that they arrive apart: a client must put events together from
        pieces split anywhere (inside a line, between CR and LF)."""
        events = [
            b": keep-alive\r\n\r\n"
            + b"".join(b"data: " + line.encode() + b"\r\n" for line in json.dumps(c, indent=1).split("\n"))
            + b"\r\n"
            for c in chunks
        ]
        body = b"".join(events) + b"data: [DONE]\r\n\r\n"
        for start in range(0, len(body), self.sse_pieces):
            await response.write(body[start : start + self.sse_pieces])
            await asyncio.sleep(0.001)

    @staticmethod
    async def _event(response: web.StreamResponse, data: dict[str, Any]) -> None:
        await response.write(b"data: " + json.dumps(data).encode() + b"\n\n")

    def _completion(
        self, body: dict[str, Any], content: str, reply: Reply, refusal: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{self.requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "local"),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None if refusal else content,
                        "refusal": refusal,
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                **({"prompt_tokens_details": {"cached_tokens": reply.cached_tokens}} if reply.cached_tokens else {}),
            },
        }

    async def _fault(self, request: web.Request, fault: Fault, body: dict[str, Any]) -> web.StreamResponse:
        if fault.kind == "500":
            return web.json_response({"error": {"message": "injected server error"}}, status=500)
        if fault.kind == "grammar":
            message = (
                "parse: error parsing grammar: number of rules that are going to be repeated multiplied by the "
                "new repetition exceeds sane defaults, please reduce the number of repetitions or rule complexity"
                " failed to parse grammar"
            )
            return web.json_response({"error": {"message": message, "code": 500}}, status=500)
        if fault.kind == "stream_grammar":  # the same refusal, as an error event inside a started stream
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            error = {"error": {"message": "failed to parse grammar", "code": 500, "type": "server_error"}}
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._event(response, error)
                await response.write_eof()
            return response
        if fault.kind == "429":
            return web.json_response(
                {"error": {"message": "rate limited"}},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            return await self._answer(request, body, self._completion(body, "late", Reply("late")))
        if fault.kind == "slowstream":  # progress all along: a slow model, not a broken server
            completion = self._reply_completion(body, self.responder(body))
            text = completion["choices"][0]["message"]["content"] or ""
            pieces = max(1, min(int(fault.delay / fault.every), len(text)))  # a piece is one character or more
            return await self._answer(request, body, completion, every=fault.delay / pieces, pieces=pieces)
        if fault.kind == "drip":  # a streamed reply that never ends: one token every `every` seconds
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            chunk = {"id": "drip", "object": "chat.completion.chunk", "created": 0, "model": body.get("model")}
            with contextlib.suppress(ConnectionError, RuntimeError):
                while request.transport is not None and not request.transport.is_closing():
                    delta = {"index": 0, "delta": {"content": "a"}, "finish_reason": None}
                    await self._event(response, {**chunk, "choices": [delta]})
                    until = time.monotonic() + fault.every
                    while time.monotonic() < until and request.transport and not request.transport.is_closing():
                        await asyncio.sleep(min(0.1, fault.every))  # gone clients end the handler soon
            return response
        if fault.kind == "keepalive":  # a started stream of keep-alive comments and blank lines, no event
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            with contextlib.suppress(ConnectionError, RuntimeError):
                while request.transport is not None and not request.transport.is_closing():
                    await response.write(b": keep-alive\n\n\n")
                    await asyncio.sleep(fault.every)
            return response
        if fault.kind == "donecut":  # the whole reply and [DONE], then the connection drops
            return await self._answer(request, body, self._reply_completion(body, self.responder(body)), cut=True)
        if fault.kind == "cutstream":  # a started stream whose connection drops after one event
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._event(response, {"id": "cut", "object": "chat.completion.chunk", "choices": []})
                await asyncio.sleep(0.05)
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("injected drop mid-stream")
        if fault.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("injected drop")
        if fault.kind == "truncated":
            return await self._answer(request, body, self._completion(body, '{"needs_context": fal', Reply("")))
        if fault.kind == "invalid":
            return await self._answer(request, body, self._completion(body, '{"unexpected": 1}', Reply("")))
        if fault.kind == "trickle":  # headers at once, then one byte a second, never finishing
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            with contextlib.suppress(ConnectionError, RuntimeError):
                for _ in range(int(fault.delay)):
                    await response.write(b" ")
                    await asyncio.sleep(1.0)
            return response
        if fault.kind == "echo401":
            auth = request.headers.get("Authorization", "")
            return web.json_response(
                {"error": {"message": f"Incorrect API key provided: {auth} (key={auth.split()[-1]})"}}, status=401
            )
        if fault.kind == "echo200":
            auth = request.headers.get("Authorization", "")
            completion = self._completion(body, f"Done. (You sent Authorization: {auth})", Reply(""))
            return await self._answer(request, body, completion)
        if fault.kind == "refusal":
            completion = self._completion(body, "", Reply(""), refusal="I can't help with that.")
            return await self._answer(request, body, completion)
        raise ValueError(f"unknown fault {fault.kind}")
