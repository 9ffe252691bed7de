"""The MCP client layer on its own: the servers file, real servers' lifecycle and failures, grouping, web/fetch."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from swarm_star.errors import InputError, ToolError
from swarm_star.spaces import find_space_dir, load_space
from swarm_star.spaces.menus import MAX_MENU, Group, group_names
from swarm_star.tools.mcp_config import McpConfig, load_mcp_config
from swarm_star.tools.sessions import McpSessions
from swarm_star.tools.web import fetch_text, html_to_text
from tests.helpers.mcp_servers import python_server, server_command, write_config
from tests.integration.test_tools_swarm import _processes_with

# the servers file


def test_the_claude_desktop_format_loads(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "mcp.json",
        {
            "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"BRAVE_API_KEY": "brave-secret-123"}},
            "docs": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer tok-abcdef"}},
        },
        approvals={"tools/docs/*": "allow"},
    )
    config = load_mcp_config(path)
    assert config.servers["time"].transport == "stdio" and config.servers["docs"].transport == "http"
    assert config.approvals == {"tools/docs/*": "allow"}
    assert "brave-secret-123" in config.secrets() and "tok-abcdef" in config.secrets()


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ({"a": {"args": ["x"]}}, "either 'command'"),
        ({"a": {"command": "x", "url": "http://h/mcp"}}, "either 'command'"),
        ({"a": {"url": "ftp://h/mcp"}}, "must start with http"),
        ({"bad name!": {"command": "x"}}, "use letters, digits"),
        ({"web": {"command": "x"}}, "reserved"),
    ],
)
def test_a_broken_servers_file_is_one_clear_line(tmp_path: Path, servers: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_mcp_config(write_config(tmp_path / "mcp.json", servers))


def test_a_file_that_is_not_json_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text("{nope")
    with pytest.raises(InputError, match="is not JSON"):
        load_mcp_config(path)


# real servers


async def test_servers_start_on_first_use_and_stop_at_the_end(tmp_path: Path) -> None:
    marker = f"SWARM_STAR_TEST_MARK=life-{os.getpid()}-{tmp_path.name}"
    name, value = marker.split("=")
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha")
    config = McpConfig.model_validate(
        {
            "mcpServers": {
                "time": {"command": server_command("time"), "env": {name: value}},
                "filesystem": {"command": server_command("filesystem"), "args": [str(folder)], "env": {name: value}},
                "everything": {"command": server_command("everything"), "env": {name: value}},
            }
        }
    )
    sessions = McpSessions(config)
    try:
        assert sessions.started() == [] and _processes_with(marker) == []  # nothing before first use
        tools = await sessions.list_tools("filesystem")
        assert {"read_text_file", "write_file"} <= {t.name for t in tools}
        write = next(t for t in tools if t.name == "write_file")
        assert write.destructive is True and write.read_only is False
        result = await sessions.call("filesystem", "read_text_file", {"path": str(folder / "a.txt")})
        assert result.text == "alpha" and not result.is_error
        refused = await sessions.call("filesystem", "read_text_file", {"path": "/etc/passwd"})
        assert refused.is_error  # the tool's own error: the model sees it
        summed = await sessions.call("everything", "get-sum", {"a": 2, "b": 3})
        assert "5" in summed.text
        assert sessions.started() == ["everything", "filesystem"]  # time was never used
    finally:
        await sessions.aclose()
    assert _processes_with(marker) == []


async def test_a_server_that_crashes_mid_call_fails_that_call(tmp_path: Path) -> None:
    marker = f"SWARM_STAR_TEST_MARK=crash-{os.getpid()}-{tmp_path.name}"
    name, value = marker.split("=")
    config = McpConfig.model_validate(
        {"mcpServers": {"everything": {"command": server_command("everything"), "env": {name: value}}}}
    )
    sessions = McpSessions(config)
    try:
        call = asyncio.create_task(
            sessions.call("everything", "trigger-long-running-operation", {"duration": 20, "steps": 2})
        )
        for _ in range(300):  # started and initialized (a kill during start-up is another failure)
            await asyncio.sleep(0.1)
            if sessions.started() == ["everything"] and _processes_with(marker):
                break
        await asyncio.sleep(0.5)  # the call is in flight (20 s long)
        for pid in _processes_with(marker):
            os.kill(pid, 9)  # the server dies under the call
        with pytest.raises(ToolError, match="trigger-long-running-operation failed"):
            await asyncio.wait_for(call, 15)
        again = await sessions.call("everything", "echo", {"message": "back"})  # started afresh
        assert again.text == "Echo: back"
    finally:
        await sessions.aclose()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import sys; sys.stderr.write('boom: no config\\n'); sys.exit(3)", "could not be started.*boom: no config"),
        ("import sys\nfor line in sys.stdin: print('garbage, not JSON', flush=True)", "not JSON-RPC"),
        ("import time; time.sleep(600)", "did not start within 2 s"),
    ],
    ids=["crash", "garbage", "hang"],
)
async def test_a_broken_server_is_a_tool_error_with_the_reason(code: str, expected: str) -> None:
    config = McpConfig.model_validate({"mcpServers": {"broken": python_server(code)}})
    sessions = McpSessions(config, start_timeout=2)
    try:
        with pytest.raises(ToolError, match=expected):
            await asyncio.wait_for(sessions.list_tools("broken"), 20)
    finally:
        await sessions.aclose()


async def test_mcp_server_fetch_reads_a_local_page(tmp_path: Path) -> None:
    """mcp-server-fetch (PyPI) against an HTTP server of our own on loopback."""
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body><p>Local page body</p></body></html>", content_type="text/html")

    app.router.add_get("/page", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = McpConfig.model_validate(
        {
            "mcpServers": {
                "fetch": {"command": server_command("fetch"), "args": ["--ignore-robots-txt", "--allow-private-ips"]}
            }
        }
    )
    sessions = McpSessions(config)
    try:
        result = await sessions.call("fetch", "fetch", {"url": f"http://127.0.0.1:{port}/page"})
        assert "Local page body" in result.text, result.text
    finally:
        await sessions.aclose()
        await runner.cleanup()


# grouping


@pytest.mark.parametrize("count", [10, 14, 100, 1000])
def test_no_menu_exceeds_the_limit_however_many_tools(count: int) -> None:
    names = [f"{['get', 'set', 'list', 'delete', 'make'][i % 5]}_{'thing'}_{i:04d}" for i in range(count)]

    def check(members: list[str | Group]) -> list[str]:
        assert len(members) <= MAX_MENU
        out: list[str] = []
        for m in members:
            out.extend([m] if isinstance(m, str) else check(m.members))
        return out

    assert sorted(check(group_names(names))) == sorted(names)  # every tool placed once


def test_the_installed_action_tree_keeps_the_menu_limit() -> None:
    space = load_space(find_space_dir("actions"), "actions", "run")
    for folder in [e for e in space.entries.values() if e.type == "folder"]:
        assert len(folder.children) <= MAX_MENU, folder.id


# web/fetch


async def _local_site(routes: dict[str, Any]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


async def test_web_fetch_refuses_loopback_unless_allowed() -> None:
    async def page(request: web.Request) -> web.Response:
        html = "<html><head><script>x()</script></head><body><h1>Title</h1>"
        html += "<p>Hello <a href='/b'>link</a></p></body></html>"
        return web.Response(text=html, content_type="text/html")

    async def loop_redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def big(request: web.Request) -> web.Response:
        return web.Response(text="x" * 5000, content_type="text/plain")

    runner, base = await _local_site({"/": page, "/loop": loop_redirect, "/big": big})
    try:
        with pytest.raises(ToolError, match="loopback, private or reserved"):
            await fetch_text(base + "/")  # an address in the URL (no resolver involved: checked apart)
        with pytest.raises(ToolError, match="loopback, private or reserved"):
            await fetch_text(base.replace("127.0.0.1", "localhost") + "/")  # a name resolving to loopback
        text = await fetch_text(base + "/", allow_private=True)
        assert "# Title" in text and "Hello link (" in text and "x()" not in text
        with pytest.raises(ToolError, match="redirected more than 5 times"):
            await fetch_text(base + "/loop", allow_private=True)
        cut = await fetch_text(base + "/big", allow_private=True, max_bytes=1000)
        assert "[cut at 1,000 bytes]" in cut
        with pytest.raises(ToolError, match="needs an http"):
            await fetch_text("file:///etc/passwd")
    finally:
        await runner.cleanup()


def test_html_to_text_keeps_paragraphs_and_links() -> None:
    text = html_to_text("<p>One</p><p>Two <a href='x.html'>there</a></p><style>p{}</style>", "http://h/a/")
    assert text.splitlines() == ["One", "", "Two there (http://h/a/x.html)"]


def test_python_server_helper_runs_this_interpreter() -> None:
    assert python_server("pass")["command"] == sys.executable
    assert json.loads(json.dumps(python_server("pass")))["args"] == ["-c", "pass"]
