"""Ai3's API (its README's curl examples), the seeds' event names on SSE, and the WebSocket: a real app over
real SQLite stores, swarms run against the scripted model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from swarm_star.api.seed_events import AI3_EVENTS, GEEPERS_EVENTS
from swarm_star.serve import create_app
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import TEST_KEY
from tests.helpers.server import serving

ENV = {"OPENAI_API_KEY": TEST_KEY}
STORY = ScriptedModel(plans={"short story": ["outline the plot", "write the scenes", "edit the draft"]})


def _data_lines(response: httpx.Response) -> list[str]:
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


async def test_post_run_blocks_and_returns_output_and_stats(tmp_path: Path, model_server: Any) -> None:
    """``curl -X POST /run -d '{"prompt": "Write a short story"}'``, as Ai3's README has it."""
    server = model_server(STORY)
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05, base_urls=[server.base_url])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60) as client:
        r = await client.post("/run", json={"prompt": "Write a short story"})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["status"] == "finished" and doc["output"].startswith("Done: Write a short story")
        assert doc["stats"]["task_count"] == 3 and doc["stats"]["tasks_done"] == 3 and doc["stats"]["calls"] > 3
        # the swarm is like any other: listed, with its frames
        summary = (await client.get(f"/api/swarms/{doc['swarm_id']}")).json()
        assert summary["status"] == "finished" and summary["frames"] > 10
        steps = {"name": "sequential", "options": {"steps": ["outline", "write"]}}
        seq = (await client.post("/run", json={"prompt": "Write a short story", "pattern": steps})).json()
        assert seq["status"] == "finished" and seq["stats"]["task_count"] == 2  # a pattern from the HTTP API
        wrong = await client.post(
            "/api/swarms", json={"directive": "x", "pattern": {"name": "cascade", "options": {"tiers": [0]}}}
        )
        assert wrong.status_code == 400 and "cascade tiers" in wrong.json()["error"]
        bad = await client.post("/run", json={"prompt": "  "})
        assert bad.status_code == 400 and bad.json()["error"] == "the prompt is empty"
        assert (await client.post("/run", json={"directive": "x"})).status_code == 400
    await app.state.hub.shutdown()


def test_post_stream_run_speaks_ai3(tmp_path: Path, model_server: Any) -> None:
    """``curl -X POST /stream/run -d '{"prompt": …}' --no-buffer``: Ai3's events in order, then [DONE]."""
    server = model_server(STORY, latency=0.02)
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        with client.stream("POST", "/stream/run", json={"prompt": "Write a short story"}) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            lines = _data_lines(response)
    assert lines[-1] == "[DONE]"
    events = [json.loads(line) for line in lines[:-1]]
    types = [e["type"] for e in events]
    assert types[0] == "swarm" and types[1] == "plan" and events[1]["status"] == "started"
    planned = next(e for e in events if e["type"] == "plan" and e["status"] == "completed")
    assert planned["task_count"] == 3
    starts = [e for e in events if e["type"] == "task_start"]
    assert [e["description"] for e in starts] == ["outline the plot", "write the scenes", "edit the draft"]
    assert {e["task_id"] for e in events if e["type"] == "decision" and "action" in e} == {e["task_id"] for e in starts}
    artifacts = [e for e in events if e["type"] == "task_artifact"]
    assert len(artifacts) == 3 and artifacts[-1]["progress"] == 100.0 and artifacts[0]["artifact"]["content"]
    assert types.index("assemble_start") > max(i for i, t in enumerate(types) if t == "task_artifact")
    assert set(types) - {"swarm"} <= set(AI3_EVENTS)  # only Ai3's names (and the documented `swarm` first)
    assert types[-2:] == ["final", "stats"] and events[-2]["output"].startswith("Done: Write a short story")
    assert events[-1]["stats"]["task_count"] == 3


async def test_geepers_and_ai3_names_on_the_event_stream(tmp_path: Path, model_server: Any) -> None:
    server = model_server(STORY)
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05, base_urls=[server.base_url])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60) as client:
        done = (await client.post("/run", json={"prompt": "Write a short story", "swarm_id": "story"})).json()
        assert done["status"] == "finished"
        r = await client.get("/api/swarms/story/events/geepers?follow=0")
        assert r.status_code == 200
        blocks = [b for b in r.text.split("\r\n\r\n") if b.strip()]
        parsed = [dict(line.split(": ", 1) for line in b.splitlines() if ": " in line) for b in blocks]
        names = [p["event"] for p in parsed]
        assert names[0] == "WORKFLOW_START" and names[-1] == "WORKFLOW_COMPLETE"
        assert names.count("AGENT_START") == 3 and names.count("AGENT_COMPLETE") == 3
        assert names.index("DECOMPOSITION_COMPLETE") < names.index("AGENT_COMPLETE")
        progress = [json.loads(p["data"])["progress"] for p in parsed if p["event"] == "AGENT_COMPLETE"]
        assert progress == sorted(progress) and progress[-1] == 100.0
        assert "SYNTHESIS_COMPLETE" in names and all(p["id"].isdigit() for p in parsed)
        assert set(names) <= set(GEEPERS_EVENTS)
        last = int(parsed[-1]["id"])
        tail = await client.get(f"/api/swarms/story/events/geepers?follow=0&from={last}")
        assert tail.text.count("event: ") == 1 and "WORKFLOW_COMPLETE" in tail.text
        assert (await client.get("/api/swarms/story/events/ai3?follow=0")).text.count("event: task_start") == 3
        bad = await client.get("/api/swarms/story/events/klingon?follow=0")
        assert bad.status_code == 400 and "ai3 or geepers" in bad.json()["error"]
    await app.state.hub.shutdown()


def test_websocket_next_to_sse(tmp_path: Path, model_server: Any) -> None:
    server = model_server(STORY)
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05, base_urls=[server.base_url], token="tok-1")
    auth = {"Authorization": "Bearer tok-1"}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        done = client.post("/run", json={"prompt": "Write a short story", "swarm_id": "ws"}, headers=auth).json()
        assert done["status"] == "finished"
        frames = client.get("/api/swarms/ws", headers=auth).json()["frames"]
        with client.websocket_connect("/api/swarms/ws/ws", headers=auth) as ws:
            got = [json.loads(ws.receive_text()) for _ in range(frames)]
        assert [m["data"]["frame"] for m in got] == list(range(frames)) and {m["event"] for m in got} == {"frame"}
        with client.websocket_connect("/api/swarms/ws/ws?names=geepers&token=tok-1") as ws:
            first = json.loads(ws.receive_text())
            assert first["event"] == "WORKFLOW_START" and first["data"]["task"] == "Write a short story"
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/api/swarms/ws/ws"):
            pass
        assert refused.value.code == 1008  # no token
        evil = {**auth, "Origin": "http://evil.example"}
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/api/swarms/ws/ws", headers=evil):
            pass
        assert refused.value.code == 1008  # another web origin may not read the frames
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/api/swarms/nope/ws", headers=auth),
        ):
            pass
        assert refused.value.code == 1008
