"""Swarms that use real MCP servers: routing to a tool, the tool loop to a report, approvals, failures.

The servers are the real packages (``mcp-server-time``, ``@modelcontextprotocol/server-filesystem``,
``server-everything``; see tests/helpers/mcp_servers.py); the model is the scripted local
OpenAI-compatible server, which picks the route and each call's arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from swarm_star.api import RunOptions, Swarm
from swarm_star.models import SwarmSettings, ToolSettings
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.mcp_servers import server_command, write_config
from tests.helpers.model import client_for


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment carries ``marker`` (each test's servers get a unique one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


async def _run(swarm: Swarm, server: Any, **options: Any) -> Any:
    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm, **options))
    finally:
        await llm.aclose()


def _tool_calls(swarm: Swarm) -> list[Any]:
    return [e.op for e in swarm.history() if e.op.kind == "tool_call"]


def _settings(config: Path, **tools: Any) -> SwarmSettings:
    return SwarmSettings(tools=ToolSettings(mcp=str(config), **tools))


async def test_a_tool_leaf_calls_a_real_server_and_reports(tmp_path: Path, model_server: Any) -> None:
    marker = f"SWARM_STAR_TEST_MARK={os.getpid()}-{tmp_path.name}"
    config = write_config(
        tmp_path / "mcp.json",
        {"time": {"command": server_command("time"), "env": {marker.split("=")[0]: marker.split("=")[1]}}},
    )
    model = ScriptedModel(routes={"time": "tools/time/get_current_time"}, tool_calls={"time": [{"timezone": "UTC"}]})
    server = model_server(model)
    swarm = Swarm.create("tell the time in UTC", space=tmp_path, settings=_settings(config))
    outcome = await _run(swarm, server)

    assert outcome.status == "finished", outcome.reason
    (call,) = _tool_calls(swarm)
    assert call.tool == "tools/time/get_current_time" and call.arguments == {"timezone": "UTC"}
    assert call.error is None and '"timezone": "UTC"' in call.result and call.policy == "allow: readOnlyHint"
    leaf = next(n for n in swarm.state.nodes.values() if n.action_id == "tools.time.get_current_time")
    assert leaf.status == "terminated" and '"timezone": "UTC"' in (leaf.report or "")
    results = [m for m in swarm.state.memory.values() if m.node_id == leaf.id and m.folder == "results"]
    assert any('"timezone": "UTC"' in m.content for m in results)  # the tool's result, in memory
    assert "action_space_tools_time" in dict(swarm.store.scan("action_space_tools_"))  # the listing, recorded
    assert _processes_with(marker) == []  # the server this run started is gone with the run


async def test_a_resumed_swarm_routes_through_the_recorded_tool_list(tmp_path: Path, model_server: Any) -> None:
    """The recorded listing is the menu: a re-run routes without listing again (the recorded
    route calls match their digests), and the one committed call is not made again."""
    config = write_config(tmp_path / "mcp.json", {"time": {"command": server_command("time")}})
    model = ScriptedModel(
        plans={"times": ["tell the time in UTC", "ask the user which city"]},
        routes={"time in": "tools/time/get_current_time", "city": "interaction/ask_user_questions"},
        tool_calls={"time in": [{"timezone": "UTC"}]},
    )
    server = model_server(model)
    swarm = Swarm.create("two times", space=tmp_path, settings=_settings(config))
    first = await _run(swarm, server)
    assert first.status == "questions", first.reason
    assert len(_tool_calls(swarm)) == 1
    (_, question) = swarm.questions()[0]
    swarm.answer(question.id, "Paris")
    second = await _run(swarm, server)
    assert second.status == "finished", second.reason
    assert len(_tool_calls(swarm)) == 1  # the committed call was not made again


async def test_a_server_that_cannot_start_fails_that_route_not_the_swarm(tmp_path: Path, model_server: Any) -> None:
    config = write_config(tmp_path / "mcp.json", {"broken": {"command": str(tmp_path / "no-such-server")}})
    model = ScriptedModel(routes={"broken": "tools/broken/anything"})
    server = model_server(model)
    swarm = Swarm.create("use the broken tool", space=tmp_path, settings=_settings(config))
    outcome = await _run(swarm, server)
    router = next(n for n in swarm.state.nodes.values() if n.action_id == "routing.route_action")
    assert "broken unavailable" in (router.error or ""), router.error
    assert outcome.status in ("finished", "failed")  # the run ends; the tree says why


async def test_a_hanging_call_fails_that_call_with_the_reason(tmp_path: Path, model_server: Any) -> None:
    """The call past the server's timeout fails with the reason, the server is stopped, and the
    sibling part and the swarm go on: the root finishes with what the other part reported."""
    marker = f"SWARM_STAR_TEST_MARK=hang-{os.getpid()}-{tmp_path.name}"
    name, value = marker.split("=")
    everything = {"command": server_command("everything"), "timeout": 2, "env": {name: value}}
    config = write_config(tmp_path / "mcp.json", {"everything": everything})
    model = ScriptedModel(
        plans={"and say hello": ["run the long operation", "say hello"]},
        routes={"long": "tools/everything/trigger-long-running-operation"},
        tool_calls={"long": [{"duration": 30, "steps": 3}]},
    )
    server = model_server(model)
    settings = _settings(config, approvals={"tools/everything/*": "allow"})
    swarm = Swarm.create("run the long operation and say hello", space=tmp_path, settings=settings)
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    calls = _tool_calls(swarm)
    assert calls and all(c.error is not None and "no reply within 2 s" in c.error for c in calls)
    leaf = next(n for n in swarm.state.nodes.values() if n.action_id.startswith("tools.everything."))
    assert leaf.status == "failed" and "no reply within 2 s" in (leaf.error or "")
    assert _processes_with(marker) == []  # the hung server was stopped


async def test_a_server_does_not_see_the_orchestrators_keys(tmp_path: Path, model_server: Any, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-not-reach-a-tool-server")
    config = write_config(
        tmp_path / "mcp.json",
        {"everything": {"command": server_command("everything"), "env": {"DEMO_API_KEY": "tool-key-123456"}}},
    )
    model = ScriptedModel(routes={"environment": "tools/everything/get-env"}, tool_calls={"environment": [{}]})
    server = model_server(model)
    swarm = Swarm.create("show the environment", space=tmp_path, settings=_settings(config))
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    (call,) = _tool_calls(swarm)
    assert "PATH" in call.result
    assert "sk-or-must-not-reach" not in call.result  # the SDK passes a minimal environment
    assert "tool-key-123456" not in call.result and "[redacted]" in call.result  # its own key: masked on return


# approvals


def _fs_swarm(tmp_path: Path, model_server: Any, **tools: Any) -> tuple[Swarm, Any, Path]:
    folder = tmp_path / "files"
    folder.mkdir()
    config = write_config(
        tmp_path / "mcp.json", {"filesystem": {"command": server_command("filesystem"), "args": [str(folder)]}}
    )
    target = folder / "notes.txt"
    model = ScriptedModel(
        routes={"notes": "tools/filesystem/write_file"},
        tool_calls={"notes": [{"path": str(target), "content": "hello from the swarm"}]},
    )
    swarm = Swarm.create("write the notes file", space=tmp_path, settings=_settings(config, **tools))
    return swarm, model_server(model), target


async def test_a_destructive_call_is_asked_and_runs_once_approved(tmp_path: Path, model_server: Any) -> None:
    swarm, server, target = _fs_swarm(tmp_path, model_server)
    first = await _run(swarm, server)
    assert first.status == "questions", first.reason
    (_, question), *_ = swarm.approvals()
    assert "tools/filesystem/write_file" in question.text and "hello from the swarm" in question.text
    assert "destructiveHint" in question.text
    assert not target.exists() and _tool_calls(swarm) == []  # nothing ran before the approval
    swarm.approve(question.id, True)
    second = await _run(swarm, server)
    assert second.status == "finished", second.reason
    assert target.read_text() == "hello from the swarm"
    (call,) = _tool_calls(swarm)
    assert call.policy is not None and "approved by the user" in call.policy


async def test_a_denied_call_is_a_report_the_manager_sees(tmp_path: Path, model_server: Any) -> None:
    swarm, server, target = _fs_swarm(tmp_path, model_server)
    assert (await _run(swarm, server)).status == "questions"
    (_, question), *_ = swarm.approvals()
    swarm.answer(question.id, "no, not that file")
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert not target.exists()
    (call,) = _tool_calls(swarm)
    assert call.denied and call.error == "denied by the user"
    leaf = next(n for n in swarm.state.nodes.values() if n.action_id.startswith("tools.filesystem."))
    assert leaf.status == "terminated" and "denied by the user" in (leaf.report or "")


async def test_a_deny_rule_denies_without_asking(tmp_path: Path, model_server: Any) -> None:
    swarm, server, target = _fs_swarm(tmp_path, model_server, approvals={"tools/filesystem/*": "deny"})
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert swarm.questions() == [] and not target.exists()
    (call,) = _tool_calls(swarm)
    assert call.denied and "rule tools/filesystem/*=deny" in (call.error or "")


async def test_an_approval_over_http(tmp_path: Path, model_server: Any) -> None:
    from swarm_star.serve import create_app

    swarm, server, target = _fs_swarm(tmp_path, model_server)
    assert (await _run(swarm, server)).status == "questions"
    app = create_app(space=tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        listed = (await client.get(f"/api/swarms/{swarm.id}/approvals")).json()
        assert len(listed) == 1 and "tools/filesystem/write_file" in listed[0]["text"]
        bad = await client.post(f"/api/swarms/{swarm.id}/approvals/{listed[0]['id']}", json={"approve": "maybe"})
        assert bad.status_code == 400
        missing = await client.post(f"/api/swarms/{swarm.id}/approvals/0-q9", json={"approve": True})
        assert missing.status_code == 404
        ok = await client.post(f"/api/swarms/{swarm.id}/approvals/{listed[0]['id']}", json={"approve": True})
        assert ok.status_code == 200 and ok.json()["approved"] is True
    outcome = await _run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert target.read_text() == "hello from the swarm"


# the built-in web tools


async def test_web_fetch_in_a_swarm_reads_a_page_when_private_addresses_are_allowed(
    tmp_path: Path, model_server: Any
) -> None:
    from aiohttp import web

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body><p>Opening hours: 9 to 5</p></body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    try:
        model = ScriptedModel(routes={"hours": "tools/web/fetch"}, tool_calls={"hours": [{"url": url}]})
        server = model_server(model)
        refused = Swarm.create("read the opening hours", space=tmp_path / "a")
        await _run(refused, server)  # each round's part is refused again: never fetched
        calls = _tool_calls(refused)
        assert calls and all(c.error is not None and "loopback, private or reserved" in c.error for c in calls)
        allowed = Swarm.create(
            "read the opening hours", space=tmp_path / "b", settings=SwarmSettings(tools=ToolSettings(web_private=True))
        )
        outcome = await _run(allowed, server)
        assert outcome.status == "finished", outcome.reason
        (call,) = _tool_calls(allowed)
        assert "Opening hours: 9 to 5" in call.result and call.policy == "allow: built-in, read only"
    finally:
        await runner.cleanup()


async def test_web_search_without_a_search_server_says_it_is_not_configured(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(routes={"news": "tools/web/search"}))
    swarm = Swarm.create("search the news", space=tmp_path)
    await _run(swarm, server)
    errors = " ".join(n.error or "" for n in swarm.state.nodes.values())
    assert "web/search is not configured" in errors
    assert _tool_calls(swarm) == []  # refused before any call


async def test_the_tool_loop_uses_native_function_calling_where_the_endpoint_has_it(
    tmp_path: Path, model_server: Any
) -> None:
    """The same swarm against an endpoint with native ``tools`` and one without: the same call
    is made once either way; the steps are recorded as native ("tools") or structured."""
    config = write_config(tmp_path / "mcp.json", {"time": {"command": server_command("time")}})
    modes = {}
    for native in (True, False):
        model = ScriptedModel(
            routes={"time": "tools/time/get_current_time"}, tool_calls={"time": [{"timezone": "UTC"}]}
        )
        server = model_server(model, tools=native, keep_log=True)
        swarm = Swarm.create("tell the time in UTC", space=tmp_path, settings=_settings(config))
        outcome = await _run(swarm, server)
        assert outcome.status == "finished", outcome.reason
        (call,) = _tool_calls(swarm)
        assert call.arguments == {"timezone": "UTC"} and '"timezone": "UTC"' in call.result
        steps = [c for c in swarm.tree().calls.values() if c.purpose == "tool step"]
        modes[native] = [c.mode for c in steps]
        with_tools = [r for r in server.log if r.get("tools")]
        assert len(with_tools) == (2 if native else 1)  # without: one refused attempt, then never again
    assert modes == {True: ["tools", "tools"], False: ["json_schema", "json_schema"]}
