"""A small HTTP proxy in front of a real model server that counts what the server did.

The real-model tier and the SmolLM2 benchmark put it between Swarm Star and
``llama_cpp.server`` to check the swarm's own accounting against the server's:
requests answered (by status), tokens the server reported in its usage, and
whether every request carried ``max_tokens``. It forwards bodies unchanged, and a
streamed reply as it arrives (its usage is read from its events; a server that
streams without usage, like llama-cpp-python, reported no tokens for it).
Anthropic's Messages API (``/v1/messages``) is counted too: its prompt tokens are
``input_tokens`` plus the cache reads and writes, as Swarm Star counts them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from swarm_star.testing.threaded import ThreadedApp

__all__ = ["CountingProxy"]


@dataclass
class CountingProxy:
    """Start with ``start()`` (returns the proxy's base URL, ``.../v1``); ``stop()`` ends it."""

    upstream: str  # e.g. http://127.0.0.1:8000 (no /v1)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    without_max_tokens: int = 0
    max_tokens_seen: list[int] = field(default_factory=list)
    response_formats: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._served = ThreadedApp("counting-proxy")

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._served.start(app)
        return self.base_url

    def settled(self, timeout: float = 10.0) -> bool:
        """Wait until every request's answer has been counted (a streamed answer is counted once
        the server has finished it, which can be a moment after the client read its last event)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if sum(self.statuses.values()) >= self.requests:
                    return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        self._served.stop()

    def _note_request(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests += 1
            if isinstance(body.get("max_tokens"), int):
                self.max_tokens_seen.append(body["max_tokens"])
            else:
                self.without_max_tokens += 1
            fmt = body.get("response_format") or ({"type": "tools"} if body.get("tools") else {})
            kind = fmt.get("type", "text")
            self.response_formats["json_object_schema" if kind == "json_object" and "schema" in fmt else kind] += 1

    def _note_response(self, status: int, data: Any) -> None:
        usage = data.get("usage") if isinstance(data, dict) else None
        with self._lock:
            self.statuses[status] += 1
            if isinstance(usage, dict):
                if "input_tokens" in usage:  # Anthropic's Messages API
                    self.prompt_tokens += sum(
                        int(usage.get(k) or 0)
                        for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
                    )
                    self.completion_tokens += int(usage.get("output_tokens") or 0)
                else:
                    self.prompt_tokens += int(usage.get("prompt_tokens") or 0)
                    self.completion_tokens += int(usage.get("completion_tokens") or 0)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        chat = request.path.endswith(("/chat/completions", "/v1/messages"))
        if chat:
            try:
                self._note_request(json.loads(raw))
            except ValueError:
                self._note_request({})
        forwarded = ("content-type", "authorization", "x-api-key", "anthropic-version")
        headers = {k: v for k, v in request.headers.items() if k.lower() in forwarded}
        timeout = aiohttp.ClientTimeout(total=None)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(request.method, self.upstream + request.path_qs, data=raw, headers=headers) as upstream,
        ):
            content_type = upstream.content_type or "application/json"
            if content_type != "text/event-stream":
                body = await upstream.read()
                if chat:
                    try:
                        data = json.loads(body)
                    except ValueError:
                        data = None
                    self._note_response(upstream.status, data)
                return web.Response(body=body, status=upstream.status, content_type=content_type)
            # a streamed reply goes through as it comes (a slow model must not look stalled
            # behind the proxy); its usage is in an event, usually the last
            response = web.StreamResponse(status=upstream.status, headers={"Content-Type": content_type})
            await response.prepare(request)
            seen = bytearray()
            try:
                async for piece in upstream.content.iter_any():
                    seen += piece
                    await response.write(piece)  # the client may hang up once it has [DONE]
                await response.write_eof()
            except (ConnectionError, RuntimeError):
                pass
            finally:  # the server answered (and reported its usage) whether or not the client stayed
                self._note_response(upstream.status, _stream_usage(bytes(seen)))
            return response


def _stream_usage(body: bytes) -> dict[str, Any]:
    """``{"usage": ...}`` from the last event of a server-sent stream that carries one ({} if none)."""
    found: dict[str, Any] = {}
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("usage"), dict):
            found = {"usage": event["usage"]}
    return found
