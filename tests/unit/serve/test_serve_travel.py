"""Fork, timeline and in flight over HTTP, against a served swarm space and the scripted model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_star.cli.demo import DIRECTIVE, demo_model
from swarm_star.serve import create_app
from swarm_star.testing.openai_server import Fault
from tests.helpers.demo import finished_demo
from tests.helpers.model import TEST_KEY
from tests.helpers.server import serving

OTHER_ANSWER = "5 people, in Madeira, budget 900 EUR"


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_fork_over_http_then_resume_it_with_another_answer(tmp_path: Path, model_server: Any) -> None:
    server = model_server(demo_model())
    with finished_demo(tmp_path, server.base_url) as swarm:
        at = next(e.frame for e in swarm.history() if e.op.kind == "user_answer") - 1
        count = swarm.reader.frame_count()
        bars = len(swarm.timeline().bars)
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        made = client.post("/api/swarms/demo/fork", json={"frame": at, "swarm_id": "f"})
        assert made.status_code == 201, made.text
        assert made.json() == {"swarm_id": "f", "forked_from": "demo", "frame": at, "status": "stopped"}
        summary = client.get("/api/swarms/f").json()
        assert summary["status"] == "stopped" and summary["stop_reason"] == f"forked from demo@{at}"
        assert (
            client.get("/api/swarms/f/tree", params={"frame": at}).json()["nodes"]
            == (client.get("/api/swarms/demo/tree", params={"frame": at}).json()["nodes"])
        )
        (question,) = client.get("/api/swarms/f/questions").json()
        assert client.post(f"/api/swarms/f/questions/{question['id']}/answer", json={"text": OTHER_ANSWER}).is_success
        assert client.post("/api/swarms/f/resume", json={}).is_success
        wait_for(lambda: client.get("/api/swarms/f").json()["status"] == "finished")
        asker = client.get(f"/api/swarms/f/nodes/{question['node']}").json()
        assert OTHER_ANSWER in asker["report"]
        assert client.get("/api/swarms/demo").json()["frames"] == count  # the original is untouched
        line = client.get("/api/swarms/demo/timeline").json()
        assert len(line["bars"]) == bars and line["peak_calls"] >= 1
        assert {b["kind"] for b in line["bars"]} == {"node", "call"}
        # refusals: a frame that does not exist, a taken id, an unknown swarm
        assert client.post("/api/swarms/demo/fork", json={"frame": count}).status_code == 400
        assert client.post("/api/swarms/demo/fork", json={"frame": 1, "swarm_id": "f"}).status_code == 400
        assert client.post("/api/swarms/nope/fork", json={"frame": 1}).status_code == 404
        assert client.get("/api/swarms/nope/timeline").status_code == 404
        assert client.get("/api/swarms/nope/inflight").status_code == 404


def test_in_flight_shows_a_streaming_call_with_its_elapsed_time(tmp_path: Path, model_server: Any) -> None:
    # the first request (the manager's plan) streams its reply slowly, one piece every 0.1 s
    server = model_server(demo_model(), faults=[Fault("slowstream", delay=1.5, every=0.1)])
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        made = client.post("/api/swarms", json={"directive": DIRECTIVE, "swarm_id": "live"})
        assert made.status_code == 201, made.text

        def streaming() -> Any:
            seen = client.get("/api/swarms/live/inflight").json()
            calls = seen["calls"] or []
            return seen if calls and calls[0]["received"] >= 3 else None

        seen = wait_for(streaming)
        assert seen["running_here"] is True
        (call,) = seen["calls"]
        assert call["node_id"] == "0.0" and call["kind"] == "call" and call["purpose"] == "plan"
        assert call["elapsed_s"] >= 0.2 and call["key"] == "0:0"
        assert "0.0" in {n["node_id"] for n in seen["nodes"]}
        later = wait_for(lambda: (r := client.get("/api/swarms/live/inflight").json())["calls"] and r)
        assert later["calls"][0]["elapsed_s"] >= call["elapsed_s"] or later["calls"][0]["key"] != call["key"]
        wait_for(lambda: client.get("/api/swarms/live/questions").json())
        assert client.post("/api/swarms/live/stop").is_success
        stopped = client.get("/api/swarms/live/inflight").json()
        assert stopped["running_here"] is False and stopped["calls"] is None
