"""Where the suite finds the real MCP servers, and MCP servers files that use them.

The PyPI servers (``mcp-server-time``, ``mcp-server-fetch``, ``mcp-server-git``) live
in ``.venv-mcp`` and the npm ones (``@modelcontextprotocol/server-filesystem``,
``server-everything``) in ``tests/.mcp_servers``: ``.ci/install-mcp-servers``
installs both (``.ci/run`` calls it). A missing server skips its test locally and
fails it under CI=true (never a silent skip in CI).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPI_BIN = ROOT / ".venv-mcp" / "bin"
NPM_BIN = ROOT / "tests" / ".mcp_servers" / "node_modules" / ".bin"
SERVERS = {
    "time": PYPI_BIN / "mcp-server-time",
    "fetch": PYPI_BIN / "mcp-server-fetch",
    "git": PYPI_BIN / "mcp-server-git",
    "filesystem": NPM_BIN / "mcp-server-filesystem",
    "everything": NPM_BIN / "mcp-server-everything",
}


def server_command(name: str) -> str:
    """The real server's executable; a missing one skips (fails under CI=true)."""
    path = SERVERS[name]
    if not path.exists():
        why = f"{path} is missing: run .ci/install-mcp-servers"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true: a real MCP server is required: {why}")
        pytest.skip(why)
    return str(path)


def write_config(path: Path, servers: dict[str, dict[str, Any]], **extra: Any) -> Path:
    path.write_text(json.dumps({"mcpServers": servers, **extra}, indent=2), encoding="utf-8")
    return path


def python_server(code: str) -> dict[str, Any]:
    """A misbehaving program configured as a server (it crashes, hangs or prints garbage)."""
    return {"command": sys.executable, "args": ["-c", code]}
