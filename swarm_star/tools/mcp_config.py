"""The MCP servers file: the ``mcpServers`` JSON users already keep for Claude Desktop and Cursor.

::

    {
      "mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"]},
        "search": {"command": "npx", "args": ["-y", "brave-search-mcp"], "env": {"BRAVE_API_KEY": "..."}},
        "docs": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ..."}}
      },
      "approvals": {"tools/search/*": "allow"}
    }

A server is either stdio (``command``, ``args``, ``env``, ``cwd``) or streamable
HTTP (``url``, ``headers``). Swarm Star reads three keys of its own, which the
other clients ignore: a server's ``timeout`` (seconds per call) and
``description`` (what routers show for its folder), and the top-level
``approvals`` (pattern -> ``allow``/``ask``/``deny``). Only the file's path is
stored with a swarm; the ``env`` values and ``headers`` (keys, tokens) go to
their own server and nowhere else: :meth:`McpConfig.secrets` masks them in
every result and error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from swarm_star.errors import InputError
from swarm_star.llm.redact import known_secrets

__all__ = ["MAX_CONFIG_BYTES", "McpConfig", "McpServer", "load_mcp_config"]

MAX_CONFIG_BYTES = 1_000_000
SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
RESERVED = frozenset({"web"})
"""Names the built-in tools use: ``tools/web/fetch`` and ``tools/web/search``."""


class McpServer(BaseModel):
    """One server of the file: stdio (``command``) or streamable HTTP (``url``)."""

    model_config = ConfigDict(extra="ignore")  # other clients' keys (disabled, alwaysAllow, ...) are theirs

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    type: str | None = Field(None, description="'stdio', 'http' or 'streamable-http' (as Cursor writes it)")
    timeout: float | None = Field(None, gt=0, le=3600, description="seconds per call (Swarm Star)")
    description: str | None = Field(None, max_length=300, description="what routers show (Swarm Star)")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if bool(self.command) == bool(self.url):
            raise ValueError("give either 'command' (stdio) or 'url' (streamable HTTP)")
        if self.type == "sse":
            raise ValueError("the SSE transport is not supported; use the server's streamable HTTP 'url'")
        if self.url and not re.match(r"(?i)https?://", self.url):
            raise ValueError("'url' must start with http:// or https://")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command else "http"


class McpConfig(BaseModel):
    """The whole file: servers by name, and approval patterns."""

    model_config = ConfigDict(extra="ignore")

    servers: dict[str, McpServer] = Field(default_factory=dict, alias="mcpServers")
    approvals: dict[str, Literal["allow", "ask", "deny"]] = Field(default_factory=dict)
    path: str | None = Field(None, exclude=True)

    def secrets(self) -> tuple[str, ...]:
        """Values to mask in what a server sends back: credential-named ``env`` values
        and every header value (the configured keys, found as :func:`known_secrets` finds them)."""
        env = {name: value for server in self.servers.values() for name, value in server.env.items()}
        headers = [value.split()[-1] for server in self.servers.values() for value in server.headers.values() if value]
        return known_secrets(env, [*headers, *(s.headers.get("Authorization", "") for s in self.servers.values())])


def load_mcp_config(path: str | Path) -> McpConfig:
    """Read and check an MCP servers file; an InputError names the file and what is wrong."""
    file = Path(path).expanduser()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the MCP servers file {file}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError(f"the MCP servers file {file} is larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"the MCP servers file {file} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
        raise InputError(f'the MCP servers file {file} must be an object with "mcpServers": {{name: server}}')
    for name in data.get("mcpServers", {}):
        if not SERVER_NAME.fullmatch(name):
            raise InputError(f"MCP server name {name!r} in {file}: use letters, digits, '_' and '-' (up to 64)")
        if name in RESERVED:
            raise InputError(f"MCP server name {name!r} in {file} is reserved for the built-in tools/{name}")
    try:
        config = McpConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"the MCP servers file {file}: {where}: {first.get('msg', 'invalid')}") from exc
    config.path = str(file.resolve())
    return config
