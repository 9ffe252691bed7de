"""The MCP servers of one run: each started on first use, every one stopped when the run ends.

Why a keeper task per server: the official SDK's ``Client`` is an async context
manager whose task group must be entered and left by the same task, while tool
calls come from many activations. A keeper task holds the connection open;
activations call through it; :meth:`McpSessions.aclose` (the end of the run,
Ctrl-C included) tells every keeper to leave, and the SDK's shielded shutdown
closes stdin, then kills the server's whole process group.

No orphans after ``kill -9`` of the orchestrator either: on Linux a stdio server
is started through ``setpriv --pdeathsig KILL`` (util-linux), so the kernel kills
it when the process that started it dies, whatever way it died.

A server that crashes, hangs or answers garbage fails the one call with the
reason (:class:`~swarm_star.errors.ToolError`); its connection is dropped and
the next call starts it again. Nothing here fails the swarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO, Any

from swarm_star.errors import ToolError
from swarm_star.llm.redact import mask, redact
from swarm_star.tools.mcp_config import McpConfig, McpServer

__all__ = ["McpSessions", "ToolInfo", "ToolResult", "result_text"]

START_TIMEOUT = 30.0
STDERR_TAIL = 300
logging.getLogger("mcp").addHandler(logging.NullHandler())  # the SDK logs a server's garbage: we report it


@dataclass(frozen=True)
class ToolInfo:
    """A tool as a server lists it: what routers show and the policy reads."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)
    read_only: bool | None = None
    destructive: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "read_only": self.read_only,
            "destructive": self.destructive,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolInfo:
        return cls(
            name=str(data["name"]),
            description=str(data.get("description") or ""),
            input_schema=dict(data.get("input_schema") or {}),
            read_only=data.get("read_only"),
            destructive=data.get("destructive"),
        )


@dataclass(frozen=True)
class ToolResult:
    """What a call returned, as text; ``is_error``: the tool reported an error (not the transport)."""

    text: str
    is_error: bool = False


def result_text(result: Any) -> str:
    """A ``CallToolResult`` as plain text: text blocks as they are, anything else named."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(str(block.text))
        elif kind in ("image", "audio"):
            parts.append(
                f"[{kind} {getattr(block, 'mime_type', '')}, {len(getattr(block, 'data', '') or '')} base64 chars]"
            )
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource {resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource link {block.uri} {getattr(block, 'name', '')}]".strip())
        else:
            parts.append(f"[{kind or 'unknown'} content]")
    structured = getattr(result, "structured_content", None)
    if structured is not None and not parts:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    text = "\n".join(parts)
    return text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates from outside


def _pdeathsig(command: str, args: list[str]) -> tuple[str, list[str]]:
    """``command args`` run so the kernel kills it when its parent dies (Linux, util-linux's setpriv)."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv is None:
        return command, args
    return setpriv, ["--pdeathsig", "KILL", "--", command, *args]


class _Connection:
    """One server's connection, held open by a keeper task."""

    def __init__(self, name: str, server: McpServer, secrets: tuple[str, ...]) -> None:
        self.name = name
        self.server = server
        self.secrets = secrets
        self.client: Any = None
        self.ready = asyncio.Event()
        self.leave = asyncio.Event()
        self.failure: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.stderr: IO[str] | None = None
        self.garbage: str | None = None  # the first thing the server sent that was not JSON-RPC

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._keep(), name=f"mcp server {self.name}")

    def _transport(self) -> Any:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client
        from mcp.client.streamable_http import streamable_http_client

        server = self.server
        if server.command:
            command, args = _pdeathsig(server.command, list(server.args))
            params = StdioServerParameters(command=command, args=args, env=server.env or None, cwd=server.cwd)
            self.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            return stdio_client(params, errlog=self.stderr)
        import httpx2

        http = httpx2.AsyncClient(headers=server.headers, timeout=httpx2.Timeout(30.0, read=300.0))
        assert server.url is not None
        return streamable_http_client(server.url, http_client=http)

    async def _keep(self) -> None:
        from mcp import Client

        try:
            transport = self._transport()
            async with Client(transport, mode="auto", cache=None, message_handler=self._incoming) as client:
                self.client = client
                self.ready.set()
                await self.leave.wait()
        except BaseException as exc:  # the keeper reports every way it ends; it never raises
            if self.failure is None:
                self.failure = self.describe(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.client = None
            self.ready.set()
            if self.stderr is not None:
                self.stderr.close()

    async def _incoming(self, message: Any) -> None:
        if isinstance(message, Exception) and self.garbage is None:
            self.garbage = redact(" ".join(str(message).split()), self.secrets)[:200]

    def why_silent(self) -> str:
        """What is known about a server that did not answer: garbage it sent, its last stderr."""
        notes = []
        if self.garbage:
            notes.append(f"it sent something that is not JSON-RPC: {self.garbage}")
        tail = self.stderr_tail()
        if tail:
            notes.append(f"stderr: {tail}")
        return f" ({'; '.join(notes)})" if notes else ""

    def describe(self, exc: BaseException) -> str:
        """Why the server failed, in one line: the error and the last words of its stderr."""
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        tail = self.stderr_tail()
        if tail:
            text += f" (stderr: {tail})"
        return redact(" ".join(text.split()), self.secrets)[:500]

    def stderr_tail(self) -> str:
        if self.stderr is None or self.stderr.closed:
            return ""
        try:
            self.stderr.flush()
            self.stderr.seek(0)
            lines = [line.strip() for line in self.stderr.read().splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        return " | ".join(lines[-3:])[-STDERR_TAIL:]

    async def close(self) -> None:
        """Leave the connection: a connected one shuts down (bounded by the SDK), one still
        starting is cancelled at once (a hung handshake never answers a polite close)."""
        self.leave.set()
        task = self.task
        if task is not None and not task.done() and self.client is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(task), 10)
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


class McpSessions:
    """The configured servers of one run. Nothing starts until a server is first used."""

    def __init__(self, config: McpConfig, *, call_timeout: float = 60.0, start_timeout: float = START_TIMEOUT) -> None:
        self.config = config
        self.call_timeout = call_timeout
        self.start_timeout = start_timeout
        self.secrets = config.secrets()
        self._connections: dict[str, _Connection] = {}
        self._closed = False

    @property
    def names(self) -> list[str]:
        return sorted(self.config.servers)

    def started(self) -> list[str]:
        """Servers with a live connection now (for tests and ``doctor``-like checks)."""
        return sorted(n for n, c in self._connections.items() if c.client is not None)

    async def _connect(self, name: str) -> _Connection:
        if self._closed:
            raise ToolError(f"tools/{name}: the run is ending")
        server = self.config.servers.get(name)
        if server is None:
            raise ToolError(f"no MCP server named {name!r} is configured")
        connection = self._connections.get(name)
        if connection is None or connection.task is None or connection.task.done():
            connection = _Connection(name, server, self.secrets)
            self._connections[name] = connection
            connection.start()
        try:
            await asyncio.wait_for(connection.ready.wait(), self.start_timeout)
        except TimeoutError:
            why = connection.why_silent()
            await self._drop(name, connection)
            raise ToolError(f"MCP server {name} did not start within {self.start_timeout:g} s{why}") from None
        if connection.client is None:
            await self._drop(name, connection)
            raise ToolError(f"MCP server {name} could not be started: {connection.failure or 'it exited'}")
        return connection

    async def _drop(self, name: str, connection: _Connection) -> None:
        if self._connections.get(name) is connection:
            del self._connections[name]
        await connection.close()

    async def list_tools(self, name: str) -> list[ToolInfo]:
        """Every tool the server lists (all pages), started now if it is not running."""
        connection = await self._connect(name)
        tools: list[ToolInfo] = []
        cursor: str | None = None
        try:
            async with asyncio.timeout(self.start_timeout):
                for _ in range(1000):  # a paginator that never ends cannot hang the run
                    page = await connection.client.list_tools(cursor=cursor)
                    for tool in page.tools:
                        notes = tool.annotations
                        tools.append(
                            ToolInfo(
                                name=tool.name,
                                description=" ".join((tool.description or tool.title or "").split())[:500],
                                input_schema=dict(tool.input_schema or {}),
                                read_only=None if notes is None else notes.read_only_hint,
                                destructive=None if notes is None else notes.destructive_hint,
                            )
                        )
                    cursor = page.next_cursor
                    if not cursor:
                        break
        except Exception as exc:
            why = "did not list its tools in time" if isinstance(exc, TimeoutError) else connection.describe(exc)
            await self._drop(name, connection)
            raise ToolError(f"MCP server {name} failed to list its tools: {why}") from exc
        return tools

    async def call(self, name: str, tool: str, arguments: dict[str, Any], timeout: float | None = None) -> ToolResult:
        """Call one tool. A crash, a hang past the timeout, or garbage is a ToolError with the
        reason, and the server is stopped (the next call starts it afresh)."""
        connection = await self._connect(name)
        limit = timeout or self.server_timeout(name)
        started = time.monotonic()
        try:
            async with asyncio.timeout(limit):
                result = await connection.client.call_tool(tool, arguments)
        except Exception as exc:
            if isinstance(exc, TimeoutError) and time.monotonic() - started >= limit * 0.99:
                why = f"no reply within {limit:g} s{connection.why_silent()}; the server was stopped"
            else:
                why = connection.describe(exc)
            await self._drop(name, connection)
            raise ToolError(f"tools/{name}/{tool} failed: {why}") from exc
        return ToolResult(mask(result_text(result), self.secrets), bool(getattr(result, "is_error", False)))

    def server_timeout(self, name: str) -> float:
        server = self.config.servers.get(name)
        return (server.timeout if server is not None and server.timeout else None) or self.call_timeout

    async def aclose(self) -> None:
        """Stop every server this run started (the SDK closes stdin, then kills the process group)."""
        self._closed = True
        connections = list(self._connections.values())
        self._connections.clear()
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
