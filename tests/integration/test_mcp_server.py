"""``swarm-star mcp`` driven by the official MCP client (stdio and streamable HTTP), the scripted model on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the mcp extra (pip install -e '.[mcp]'); .ci/run installs it")
from mcp import Client, StdioServerParameters

from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.paths import ROOT

TOOLS = {
    "run_swarm",
    "swarm_status",
    "answer_question",
    "get_tree",
    "get_report",
    "list_swarms",
    "stop_swarm",
    "resume_swarm",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPENROUTER_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _data(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        value = result.structured_content
        return value.get("result", value) if isinstance(value, dict) and set(value) == {"result"} else value
    return json.loads(result.content[0].text)


async def _until(client: Client, swarm_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = _data(await client.call_tool("swarm_status", {"swarm_id": swarm_id}))
        if done(status) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def test_a_client_runs_answers_and_reads_a_swarm_over_stdio(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"party": "How many guests?"}))
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "swarm_star", "--space", str(tmp_path), "mcp", "--base-url", server.base_url],
        env=_env(),
    )
    async with Client(params, read_timeout_seconds=60) as client:
        listed = await client.list_tools()
        assert {t.name for t in listed.tools} == TOOLS
        started = _data(await client.call_tool("run_swarm", {"directive": "organise a party", "max_calls": 50}))
        swarm_id = started["swarm_id"]
        waiting = await _until(client, swarm_id, lambda s: s["questions"])
        (question,) = waiting["questions"]
        assert question["text"] == "How many guests?" and waiting["running"]  # parked, not stopped
        stopped = _data(await client.call_tool("stop_swarm", {"swarm_id": swarm_id}))
        assert stopped["running"] is False
        answered = await client.call_tool(
            "answer_question", {"swarm_id": swarm_id, "question_id": question["id"], "answer": "twelve"}
        )
        assert _data(answered)["queued"] is True
        _data(await client.call_tool("resume_swarm", {"swarm_id": swarm_id}))
        done = await _until(client, swarm_id, lambda s: s["status"] in ("finished", "failed"))
        assert done["status"] == "finished" and done["report"], done
        tree = await client.call_tool("get_tree", {"swarm_id": swarm_id})
        assert "organise a party" in tree.content[0].text
        report = await client.call_tool("get_report", {"swarm_id": swarm_id})
        assert "twelve" in report.content[0].text
        rows = _data(await client.call_tool("list_swarms", {}))
        assert [r["swarm_id"] for r in rows] == [swarm_id]
        unknown = await client.call_tool("swarm_status", {"swarm_id": "no-such-swarm"})
        assert unknown.is_error and "no-such-swarm" in unknown.content[0].text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_streamable_http_on_loopback(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel())
    port = _free_port()
    url = ["--base-url", server.base_url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "mcp", "--http", "--port", str(port), *url],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=60) as client:
            started = _data(await client.call_tool("run_swarm", {"directive": "say hello"}))
            done = await _until(client, started["swarm_id"], lambda s: s["status"] in ("finished", "failed"))
            assert done["status"] == "finished" and "say hello" in done["report"]
    finally:
        proc.terminate()
        proc.wait(15)
