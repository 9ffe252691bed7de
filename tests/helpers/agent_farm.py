"""Many local OpenAI-compatible agents on 127.0.0.1, for hostfile tests and benchmarks.

One background thread serves every agent (one aiohttp app bound to N ports),
so hundreds of agents cost one thread. Each agent can be given latency and a
fault: ``"500"``, ``"429"`` (with Retry-After), ``"slow"`` (slower than any
sane timeout), ``"drop"`` (connection closed mid-request), ``"malformed"``
(a 200 whose body is not JSON), ``"empty"`` (empty content), ``"echo401"`` (a 401
whose body repeats the bearer key it was sent, bare), ``"echo200"`` (a reply whose
text repeats the ``Authorization`` header). ``flaky[i] = k`` makes agent ``i``
fail its first ``k`` requests with a 500 and then recover.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["AgentFarm", "echo"]

AgentResponder = Callable[[int, dict[str, Any]], str]


def echo(agent: int, request: dict[str, Any]) -> str:
    """Default reply: which agent answered, and the last user message."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return f"agent {agent}: {users[-1]['content'] if users else ''}"


@dataclass
class AgentFarm:
    count: int
    responder: AgentResponder = echo
    latency: float = 0.0
    faults: dict[int, str] = field(default_factory=dict)
    flaky: dict[int, int] = field(default_factory=dict)
    tags: Callable[[int], str] = lambda i: f"node=agent-{i:04d} role={'critic' if i % 2 else 'writer'}"
    requests: Counter[int] = field(default_factory=Counter)
    peak_in_flight: int = 0

    def __post_init__(self) -> None:
        self.ports: list[int] = []
        self._port_index: dict[int, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._in_flight = 0

    def start(self) -> AgentFarm:
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_post("/v1/chat/completions", self._handle)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
            self._loop.run_until_complete(runner.setup())
            for index in range(self.count):
                site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
                self._loop.run_until_complete(site.start())
                port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
                self.ports.append(port)
                self._port_index[port] = index
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(runner.cleanup())
            pending = asyncio.all_tasks(self._loop)  # handlers still sleeping in a "slow" fault
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="agent-farm", daemon=True)
        self._thread.start()
        ready.wait(30)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> AgentFarm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hostfile_text(self) -> str:
        lines = ["# local agent farm"]
        lines += [f"127.0.0.1:{port}\t{self.tags(i)}" for i, port in enumerate(self.ports)]
        return "\n".join(lines) + "\n"

    def write_hostfile(self, path: Path) -> Path:
        path.write_text(self.hostfile_text())
        return path

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
        index = self._port_index[port]
        body = await request.json()
        with self._lock:
            self.requests[index] += 1
            seen = self.requests[index]
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            fault = self.faults.get(index)
            if fault is None and seen <= self.flaky.get(index, 0):
                fault = "500"
            if fault is not None:
                return await self._fault(request, fault)
            return web.json_response(_completion(body, self.responder(index, body)))
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _fault(self, request: web.Request, fault: str) -> web.StreamResponse:
        if fault == "500":
            return web.json_response({"error": {"message": "injected server error"}}, status=500)
        if fault == "429":
            return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0.05"})
        if fault == "slow":
            await asyncio.sleep(30)
            return web.json_response({"error": "too late"}, status=504)
        if fault == "drop":
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("injected drop")
        if fault == "malformed":
            return web.Response(text='{"choices": [{"message": {"content": "tru', content_type="application/json")
        if fault == "empty":
            return web.json_response(_completion({}, ""))
        auth = request.headers.get("Authorization", "")
        if fault == "echo401":
            key = auth.split()[-1] if auth else ""
            return web.json_response({"error": f"unauthorized: {key} is not a key of this server"}, status=401)
        if fault == "echo200":
            return web.json_response(_completion({}, f"You sent me Authorization: {auth}. Hello!"))
        raise ValueError(f"unknown fault {fault}")


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-farm",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "local"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
