"""A local Anthropic Messages API server (``POST /v1/messages``) with scripted replies and faults.

What :class:`~swarm_star.testing.openai_server.LocalOpenAIServer` is for the
OpenAI path, this is for the native Anthropic one: the real ``anthropic`` SDK
talks to it over HTTP. A *responder* sees each request translated to the
OpenAI shape (a ``system`` message first, a forced tool as a ``json_schema``
response format named after the tool), so the same
:class:`~swarm_star.testing.scripted.ScriptedModel` drives whole swarms through
either API. A forced tool is answered with a ``tool_use`` block holding the
reply's JSON; ``ignore_tools`` answers it with text instead (what llama.cpp's
server does for a model whose template has no tools), ``reject_tools`` with a 400.

Faults (queued in ``faults``): ``429`` (``rate_limit_error`` with ``retry-after``),
``529`` (``overloaded_error``), ``500``, ``401`` (``authentication_error``).
``cache_read`` tokens of every prompt are reported as read from the prompt cache.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from swarm_star.testing.openai_server import Fault, Reply, Responder
from swarm_star.testing.threaded import ThreadedApp

__all__ = ["LocalAnthropicServer", "as_openai_request"]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def as_openai_request(body: dict[str, Any]) -> dict[str, Any]:
    """The Messages request in the OpenAI shape the scripted responders read."""
    messages: list[dict[str, Any]] = []
    system = _text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    messages += [{"role": m.get("role"), "content": _text(m.get("content"))} for m in body.get("messages", [])]
    out: dict[str, Any] = {"model": body.get("model"), "messages": messages, "max_tokens": body.get("max_tokens")}
    tools = body.get("tools") or []
    if tools and body.get("tool_choice"):
        tool = tools[0]
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": tool.get("name"), "schema": tool.get("input_schema")},
        }
    return out


@dataclass
class LocalAnthropicServer:
    """Start with ``start()`` (returns the base URL, without ``/v1``, as ``ANTHROPIC_BASE_URL``
    takes it) and stop with ``stop()``."""

    responder: Responder
    latency: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    ignore_tools: bool = False
    reject_tools: bool = False
    cache_read: int = 0
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    api_keys: list[str] = field(default_factory=list)  # each request's x-api-key header
    authorizations: list[str] = field(default_factory=list)  # each request's Authorization header

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._served = ThreadedApp("local-anthropic-server")

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._handle)
        self._served.start(app)
        return self.base_url

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> LocalAnthropicServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.api_keys.append(request.headers.get("x-api-key", ""))
            self.authorizations.append(request.headers.get("Authorization", ""))
            self.log.append(body)
            fault = self.faults.pop(0) if self.faults else None
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if fault is not None:
                return _fault(fault)
            forced = bool(body.get("tools") and body.get("tool_choice"))
            if forced and self.reject_tools:
                return _error(400, "invalid_request_error", "tools: not supported by this server")
            outcome: Any = self.responder(as_openai_request(body))
            if isinstance(outcome, Fault):
                return _fault(outcome)
            reply = outcome if isinstance(outcome, Reply) else Reply(outcome)
            return web.json_response(self._message(body, reply, forced and not self.ignore_tools))
        finally:
            with self._lock:
                self.in_flight -= 1

    def _message(self, body: dict[str, Any], reply: Reply, as_tool: bool) -> dict[str, Any]:
        content = reply.content
        if as_tool:
            data = content if isinstance(content, dict) else json.loads(content)
            name = body["tools"][0]["name"]
            blocks = [{"type": "tool_use", "id": f"toolu_{self.requests}", "name": name, "input": data}]
            stop = "tool_use"
        else:
            text = content if isinstance(content, str) else json.dumps(content)
            blocks = [{"type": "text", "text": text}]
            stop = "end_turn"
        cached = min(self.cache_read, reply.prompt_tokens)
        return {
            "id": f"msg_{self.requests}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.prompt_tokens - cached,
                "cache_read_input_tokens": cached,
                "cache_creation_input_tokens": 0,
                "output_tokens": reply.completion_tokens,
            },
        }


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status, headers=headers)


def _fault(fault: Fault) -> web.Response:
    if fault.kind == "429":
        return _error(429, "rate_limit_error", "rate limited", {"retry-after": str(fault.retry_after)})
    if fault.kind == "529":
        return _error(529, "overloaded_error", "Overloaded")
    if fault.kind == "500":
        return _error(500, "api_error", "injected server error")
    if fault.kind == "401":
        return _error(401, "authentication_error", "invalid x-api-key")
    raise ValueError(f"unknown fault {fault.kind}")
