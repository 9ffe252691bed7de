"""The HTTP API: a real Starlette app over real SQLite stores, swarms run against the scripted model.

REST goes through httpx's ASGI transport; the event stream goes through a real
uvicorn server (the ASGI transport buffers whole responses, so it cannot test
a stream that stays open).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_star.api import Swarm
from swarm_star.errors import ConfigError
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.serve import create_app
from swarm_star.serve.openapi import openapi_document
from swarm_star.serve.security import check_bind, is_loopback
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import TEST_KEY
from tests.helpers.server import serving

ENV = {"OPENAI_API_KEY": TEST_KEY}


def trip_model() -> ScriptedModel:
    return ScriptedModel(
        plans={"trip": ["book hotel", "ask the user about dates", "pack bags"]},
        routes={"ask the user": "interaction/ask_user_questions"},
    )


async def wait_for(predicate: Any, timeout: float = 30.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(step)
    raise AssertionError("condition not met in time")


def cli_run(space: Path, server: Any, directive: str, swarm_id: str, output: int = subprocess.PIPE) -> Any:
    """``swarm-star run`` in a process of its own (no input, JSON out), against ``server``."""
    cmd = [
        sys.executable, "-m", "swarm_star", "--space", str(space), "run", directive,
        "--swarm-id", swarm_id, "--base-url", server.base_url, "--no-input", "--json",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=output, stderr=output, env={**_clean_env(), **ENV})


@pytest.fixture
async def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    await app.state.hub.shutdown()


async def test_create_answer_finish_and_read_everything(api: httpx.AsyncClient, model_server) -> None:
    server = model_server(trip_model(), latency=0.02)
    seen: list[str] = []

    async def get(url: str, **kw: Any) -> httpx.Response:
        r = await api.get(url, **kw)
        seen.append(r.text if "pdf" not in url else "")
        return r

    r = await api.post(
        "/api/swarms",
        json={
            "directive": "plan a trip to Rome",
            "context": {"notes.txt": "We like museums."},
            "limits": {"max_calls": 200},
            "models": {"base_url": server.base_url, "default_model": "scripted"},
            "swarm_id": "trip1",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"swarm_id": "trip1", "running": True}

    async def question() -> list[dict[str, Any]]:
        return (await get("/api/swarms/trip1/questions")).json()

    pending = await wait_for(question)
    assert pending[0]["node"].startswith("0.") and "dates" in pending[0]["text"].lower()
    # the rest of the tree keeps going while the question waits (it parks only its node)
    r = await api.post(f"/api/swarms/trip1/questions/{pending[0]['id']}/answer", json={"text": "the first week of May"})
    assert r.status_code == 200, r.text

    async def finished() -> dict[str, Any] | None:
        body = (await get("/api/swarms/trip1")).json()
        return body if body["status"] == "finished" else None

    summary = await wait_for(finished)
    assert summary["report"].startswith("Done: plan a trip to Rome")
    assert summary["settings"]["limits"]["max_calls"] == 200

    listing = (await get("/api/swarms")).json()
    assert [row["swarm_id"] for row in listing] == ["trip1"] and listing[0]["status"] == "finished"

    tree = (await get("/api/swarms/trip1/tree")).json()
    with Swarm.open("trip1", space=api.app.state.hub.space) as swarm:  # type: ignore[attr-defined]
        state = swarm.tree()
        assert tree["frame_count"] == state.frame_count
        assert {n["id"] for n in tree["nodes"]} == set(state.nodes)
        early = swarm.tree(5)
    at5 = (await get("/api/swarms/trip1/tree", params={"frame": 5})).json()
    assert at5["frame"] == 5 and {n["id"] for n in at5["nodes"]} == set(early.nodes)
    assert {n["id"]: n["status"] for n in at5["nodes"]} == {k: v.status.value for k, v in early.nodes.items()}

    # history: pages cover every frame once; filters by node and kind
    frames, start = [], 0
    while start is not None:
        page = (await get("/api/swarms/trip1/history", params={"start": start, "limit": 7})).json()
        frames += [f["frame"] for f in page["frames"]]
        start = page["next_start"]
    assert frames == list(range(state.frame_count))
    calls = (await get("/api/swarms/trip1/history", params={"kind": "llm_call", "limit": 1000})).json()["frames"]
    assert calls and all(f["op"]["kind"] == "llm_call" for f in calls)
    assert len(calls) == state.usage.calls
    only = (await get("/api/swarms/trip1/history", params={"node": "0.0", "limit": 1000})).json()["frames"]
    assert only and all("0.0" in f["nodes"] for f in only)
    assert (await get("/api/swarms/trip1/frames/0")).json()["op"]["kind"] == "spawn"

    # one node in full: its calls with what was sent and received
    manager = (await get("/api/swarms/trip1/nodes/0.0")).json()
    assert manager["directive"] == "plan a trip to Rome" and manager["report"].startswith("Done:")
    assert manager["calls_detail"], manager
    first = manager["calls_detail"][0]
    assert first["request"][0]["role"] in ("system", "user") and first["response"]
    assert manager["cost"] == pytest.approx(sum(c["usage"]["cost"] for c in manager["calls_detail"]))

    # the report in each format
    md = await get("/api/swarms/trip1/report", params={"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert "## Final report" in md.text and "the first week of May" in md.text
    html = await get("/api/swarms/trip1/report", params={"format": "html"})
    assert "<h2>Final report</h2>" in html.text
    pdf = await get("/api/swarms/trip1/report", params={"format": "pdf", "download": "1"})
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]

    # no API key anywhere in what the server said
    assert not any(TEST_KEY in text for text in seen)


async def test_stop_and_resume_from_the_api(api: httpx.AsyncClient, model_server) -> None:
    server = model_server(ScriptedModel(plans={"many": [f"part {i}" for i in range(6)]}), latency=0.2)
    body = {"directive": "many parts", "models": {"base_url": server.base_url}, "swarm_id": "s1"}
    assert (await api.post("/api/swarms", json=body)).status_code == 201

    async def some_calls() -> bool:
        return (await api.get("/api/swarms/s1")).json()["usage"]["calls"] >= 2

    await wait_for(some_calls)
    r = await api.post("/api/swarms/s1/stop")
    assert r.status_code == 200, r.text
    summary = (await api.get("/api/swarms/s1")).json()
    assert summary["status"] == "stopped" and not summary["running_here"]
    assert (await api.post("/api/swarms/s1/stop")).json()["error"] == "swarm s1 is not running"

    r = await api.post("/api/swarms/s1/resume", json={"limits": {"max_calls": 500}})
    assert r.status_code == 200, r.text
    assert (await api.post("/api/swarms/s1/resume", json={})).status_code == 409  # already running here

    async def finished() -> bool:
        return (await api.get("/api/swarms/s1")).json()["status"] == "finished"

    await wait_for(finished)
    assert (await api.get("/api/swarms/s1")).json()["settings"]["limits"]["max_calls"] == 1000
    tree = (await api.get("/api/swarms/s1/tree")).json()
    assert all(n["status"] == "terminated" for n in tree["nodes"])
    r = await api.post("/api/swarms/s1/resume", json={})
    assert r.status_code == 409 and r.json()["error"] == "swarm s1 already finished; nothing to resume"
    r = await api.post("/api/swarms/s1/resume", json={"limits": {"max_calls": 3000}})  # as `resume --max-calls`
    assert r.status_code == 409 and r.json()["error"] == "swarm s1 already finished; nothing to resume"


async def test_retry_failed_nodes_from_the_api(api: httpx.AsyncClient, model_server) -> None:
    scripted = ScriptedModel(plans={"two": ["good part", "bad part"]}, routes={"bad": None})
    server = model_server(scripted)
    body = {"directive": "two parts", "models": {"base_url": server.base_url}, "swarm_id": "r1"}
    assert (await api.post("/api/swarms", json=body)).status_code == 201

    async def settled() -> Any:
        summary = (await api.get("/api/swarms/r1")).json()
        return summary if summary["status"] in ("finished", "failed") and not summary["running_here"] else None

    first = await wait_for(settled)
    tree = (await api.get("/api/swarms/r1/tree")).json()
    assert any(n["status"] == "failed" for n in tree["nodes"]), first
    scripted.routes.clear()  # the cause is gone
    r = await api.post("/api/swarms/r1/retry", json={})
    assert r.status_code == 200, r.text
    assert r.json()["retried"] and r.json()["running"]

    async def finished() -> bool:
        s = (await api.get("/api/swarms/r1")).json()
        return s["status"] == "finished" and not s["running_here"]

    await wait_for(finished)
    kinds = [f["op"]["kind"] for f in (await api.get("/api/swarms/r1/history?limit=1000")).json()["frames"]]
    assert "retry" in kinds


async def test_resume_right_after_a_cli_run_was_killed(api: httpx.AsyncClient, tmp_path: Path, model_server) -> None:
    """Issue 20: after `kill -9` of a `swarm-star run`, the CLI resumed at once (the lease's
    holder is provably gone) while POST /resume answered 409 "being run by another process"
    until the lease expired (30 s): serve had an owner rule of its own. Both ask the API's."""
    server = model_server(ScriptedModel(plans={"party": ["book a room", "buy snacks"]}), latency=5.0)
    proc = cli_run(tmp_path, server, "plan a party", "k9", output=subprocess.DEVNULL)
    try:

        async def asked() -> bool:
            assert proc.poll() is None, "the CLI run ended before it was killed"
            return server.requests >= 1

        await wait_for(asked)  # the CLI holds the lease, inside its first model call
        r = await api.post("/api/swarms/k9/resume", json={})
        assert r.status_code == 409 and "being run by another process" in r.json()["error"], r.text
    finally:
        proc.kill()  # SIGKILL: the lease stays in the store, unreleased and unexpired
        proc.wait(timeout=30)
    server.latency = 0
    with Swarm.open("k9", space=tmp_path) as swarm:
        assert not swarm.owner().alive  # what `swarm-star resume` goes by: it would resume now
    assert (await api.get("/api/swarms/k9")).json()["run_elsewhere"] is None
    r = await api.post("/api/swarms/k9/resume", json={})
    assert r.status_code == 200 and r.json()["running"], r.text

    async def finished() -> bool:
        s = (await api.get("/api/swarms/k9")).json()
        return s["status"] == "finished" and not s["running_here"]

    await wait_for(finished)


async def test_bad_input_is_4xx_json_with_the_cli_message(api: httpx.AsyncClient, tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel())
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    Swarm.create("a small thing", space=tmp_path, swarm_id="done1", settings=settings).close()

    async def error(method: str, url: str, status: int, **kw: Any) -> str:
        r = await api.request(method, url, **kw)
        assert r.status_code == status, (url, r.status_code, r.text)
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert body["status"] == status and "\n" not in body["error"] and "Traceback" not in body["error"]
        return body["error"]

    assert await error("GET", "/api/swarms/nope", 404) == f"no swarm 'nope' in {tmp_path.resolve()}"
    assert "invalid swarm id" in await error("GET", "/api/swarms/..bad/tree", 400)
    assert await error("POST", "/api/swarms", 400, json={"directive": "  "}) == (
        "the directive is empty: say what the swarm should do"
    )
    assert "extra" in (await error("POST", "/api/swarms", 400, json={"directive": "x", "api_key": "k"})).lower()
    assert "max_calls" in await error("POST", "/api/swarms", 400, json={"directive": "x", "limits": {"max_calls": 0}})
    assert await error("POST", "/api/swarms", 400, content=b"{not json") == "the request body is not valid JSON"
    assert await error("POST", "/api/swarms", 400, json=["a"]) == "the request body must be a JSON object"
    assert "context file name" in await error(
        "POST", "/api/swarms", 400, json={"directive": "x", "context": {"../etc/passwd": "x"}}
    )
    dup = {"directive": "again", "swarm_id": "done1", "models": {"base_url": server.base_url}, "start": False}
    assert "already exists" in await error("POST", "/api/swarms", 400, json=dup)
    assert await error("GET", "/api/swarms/done1/tree?frame=99", 400) == "frame 99 does not exist (0..0)"
    assert "must be an integer" in await error("GET", "/api/swarms/done1/tree?frame=x", 400)
    assert await error("GET", "/api/swarms/done1/tree?frame=-3", 400) == "query parameter frame must be at least 0"
    assert "between 1 and 1000" in await error("GET", "/api/swarms/done1/history?limit=0", 400)
    assert await error("GET", "/api/swarms/done1/frames/7", 400) == "frame 7 does not exist in swarm done1"
    assert await error("GET", "/api/swarms/done1/nodes/9.9", 400) == "no node '9.9' in swarm done1"
    assert "unknown report format" in await error("GET", "/api/swarms/done1/report?format=doc", 400)
    assert (
        await error("POST", "/api/swarms/done1/questions/q-1/answer", 404, json={"text": "hi"})
        == "no pending question 'q-1' in swarm done1"
    )
    assert await error("POST", "/api/swarms/done1/questions/q-1/answer", 400, json={"text": "  "}) == (
        "the answer is empty"
    )
    assert await error("POST", "/api/swarms/done1/stop", 409) == "swarm done1 is not running"
    assert "invalid limit" in await error("POST", "/api/swarms/done1/resume", 400, json={"limits": {"max_nodes": -1}})
    assert "Last-Event-ID" in await error("GET", "/api/swarms/done1/events", 400, headers={"last-event-id": "x"})
    assert (
        await error("POST", "/api/swarms/done1/retry", 400, json={})
        == "nothing to retry: no failed node in swarm done1"
    )
    assert await error("POST", "/api/swarms/done1/retry", 400, json={"node": "9.9"}) == "no node '9.9' in swarm done1"
    big = {"directive": "x" * 10, "context": {"big.txt": "y" * 2_100_000}}
    assert "larger than" in await error("POST", "/api/swarms", 413, content=json.dumps(big).encode())
    assert (await api.get("/no/such/page")).json() == {"error": "Not Found", "status": 404}


async def test_token_is_checked_on_every_request_both_ways(tmp_path: Path) -> None:
    Swarm.create("a thing", space=tmp_path, swarm_id="t1").close()
    app = create_app(space=tmp_path, env=ENV, token="s3cret-token")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        for url in ("/api/swarms", "/api/swarms/t1/tree", "/api/swarms/t1/events?follow=0", "/", "/api/openapi.json"):
            assert (await client.get(url)).status_code == 401, url
            assert (await client.get(url, headers={"authorization": "Bearer wrong"})).status_code == 401
            assert (await client.get(url, headers={"authorization": "Bearer s3cret-token"})).status_code == 200
            sep = "&" if "?" in url else "?"
            assert (await client.get(url + sep + "token=wrong")).status_code == 401
            assert not client.cookies
            by_query = await client.get(url + sep + "token=s3cret-token")
            assert by_query.status_code == 200
            # the page opened with ?token= gets an HttpOnly cookie its own requests then carry
            assert "HttpOnly" in by_query.headers["set-cookie"]
            assert (await client.get(url)).status_code == 200
            client.cookies.clear()
            client.cookies.set("swarm_star_token", "wrong")
            assert (await client.get(url)).status_code == 401
            client.cookies.clear()
        r = await client.post("/api/swarms", json={"directive": "x"})
        assert r.status_code == 401 and "token" in r.json()["error"]
    # without a token, the same app answers on loopback
    open_app = create_app(space=tmp_path, env=ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=open_app), base_url="http://127.0.0.1") as client:
        assert (await client.get("/api/swarms")).status_code == 200


def test_binding_beyond_loopback_requires_a_token() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "tok")
    with pytest.raises(ConfigError, match="--token"):
        check_bind("0.0.0.0", None)


def test_openapi_lists_exactly_the_routes() -> None:
    from starlette.routing import Route

    app = create_app(space="/nonexistent-space")
    served: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Route):
            path = route.path.replace("{frame:int}", "{frame}")
            for method in route.methods or ():
                if method != "HEAD":
                    served.add((path, method.lower()))
    doc = openapi_document()
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == described
    for path, ops in doc["paths"].items():
        for op in ops.values():
            for ref in op.get("parameters", []):
                name = ref["$ref"].rsplit("/", 1)[-1]
                assert name in doc["components"]["parameters"], (path, name)


# live events


def sse_frames(lines: list[str]) -> list[tuple[int, dict[str, Any]]]:
    out, current_id, data = [], None, None
    for line in lines:
        if line.startswith("id:"):
            current_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip())
        elif line == "" and current_id is not None and data is not None:
            out.append((current_id, data))
            current_id, data = None, None
    return out


def read_events(client: httpx.Client, url: str, headers: dict[str, str], stop_after: int | None, done: Any) -> list:
    """Read frames until ``stop_after`` of them arrived (then disconnect) or ``done(frame)``."""
    got: list[tuple[int, dict[str, Any]]] = []
    lines: list[str] = []
    with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(60.0)) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            lines.append(line)
            if line == "":
                fresh = sse_frames(lines)
                lines = []
                got += fresh
                if (stop_after is not None and len(got) >= stop_after) or any(done(f) for _, f in fresh):
                    break
    return got


def is_root_end(frame: dict[str, Any]) -> bool:
    op = frame["op"]
    return op["kind"] in ("terminate", "fail") and op["node_id"] == "0"


def test_sse_reconnects_with_last_event_id_and_gets_every_frame_once(tmp_path: Path, model_server) -> None:
    subs = [f"part {i}" for i in range(10)]
    server = model_server(ScriptedModel(plans={"many": subs}), latency=0.05)
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05)
    with serving(app) as base, httpx.Client(base_url=base) as client:
        body = {"directive": "many parts", "models": {"base_url": server.base_url}, "swarm_id": "live"}
        assert client.post("/api/swarms", json=body).status_code == 201
        url = "/api/swarms/live/events"
        received = read_events(client, url, {}, 15, is_root_end)
        reconnects = 0
        while not any(is_root_end(f) for _, f in received):
            last = received[-1][0]
            received += read_events(client, url, {"last-event-id": str(last)}, 20, is_root_end)
            reconnects += 1
        assert reconnects >= 2  # the run was long enough to reconnect mid-run several times
        numbers = [n for n, _ in received]
        assert numbers == list(range(len(numbers)))  # in order, none missed, none twice
        assert all(f["frame"] == n for n, f in received)
        total = client.get("/api/swarms/live").json()["frames"]
        assert len(numbers) == total
        # a late reader from a frame number gets the tail, then the stream ends when asked to
        tail = read_events(client, f"{url}?from={total - 3}&follow=0", {}, None, lambda f: False)
        assert [n for n, _ in tail] == [total - 3, total - 2, total - 1]


def test_sse_follows_a_swarm_run_by_another_process(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"many": [f"part {i}" for i in range(8)]}), latency=0.1)
    proc = cli_run(tmp_path, server, "many parts elsewhere", "elsewhere")
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "elsewhere").exists():
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        app = create_app(space=tmp_path, env=ENV, poll_interval=0.05)
        with serving(app) as base, httpx.Client(base_url=base) as client:
            received = read_events(client, "/api/swarms/elsewhere/events", {}, None, is_root_end)
            summary = client.get("/api/swarms/elsewhere").json()
            assert not summary["running_here"]
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    numbers = [n for n, _ in received]
    assert numbers == list(range(len(numbers)))
    assert numbers[-1] == summary["frames"] - 1 and summary["status"] == "finished"


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "OPENROUTER", "SWARM_SPACE"))}


async def test_sse_catch_up_crosses_read_blocks_without_a_gap(tmp_path: Path) -> None:
    from tests.helpers.big_tree import write_big_tree

    state = write_big_tree(tmp_path, "big", (10, 10, 10))
    app = create_app(space=tmp_path, env=ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        r = await client.get("/api/swarms/big/events?follow=0")
        got = sse_frames(r.text.replace("\r\n", "\n").split("\n"))
        assert [n for n, _ in got] == list(range(state.frame_count)) and state.frame_count > 4000
        assert all(f["frame"] == n for n, f in got)
        r = await client.get("/api/swarms/big/events?follow=0", headers={"last-event-id": "1998"})
        assert [n for n, _ in sse_frames(r.text.replace("\r\n", "\n").split("\n"))] == list(
            range(1999, state.frame_count)
        )
        r = await client.get("/api/swarms/big/events?follow=0&from=999")
        assert sse_frames(r.text.replace("\r\n", "\n").split("\n"))[0][0] == 999
        # history pages and node details read the same blocks
        page = (await client.get("/api/swarms/big/history", params={"start": 990, "limit": 20})).json()
        assert [f["frame"] for f in page["frames"]] == list(range(990, 1010)) and page["next_start"] == 1010
        calls = (await client.get("/api/swarms/big/history", params={"kind": "llm_call", "limit": 1000})).json()
        assert len(calls["frames"]) == state.usage.calls == 1000 and calls["next_start"] is None
        leaf = (await client.get("/api/swarms/big/nodes/0.9.9.9")).json()
        assert len(leaf["calls_detail"]) == 1 and leaf["frames"][-1]["kind"] == "terminate"
        assert leaf["frames"][-1]["frame"] > 4000
    await app.state.hub.shutdown()


async def test_other_web_pages_cannot_drive_the_server(tmp_path: Path) -> None:
    Swarm.create("a thing", space=tmp_path, swarm_id="c1").close()
    app = create_app(space=tmp_path, env=ENV)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
        # a page on another origin posting to the loopback server (CSRF): refused, nothing created
        for origin in ("http://evil.example", "null"):
            r = await client.post("/api/swarms", json={"directive": "spend money"}, headers={"origin": origin})
            assert r.status_code == 403 and "origin" in r.json()["error"]
        assert [row["swarm_id"] for row in (await client.get("/api/swarms")).json()] == ["c1"]
        # the page the server itself serves may (same origin)
        r = await client.post("/api/swarms/c1/stop", headers={"origin": "http://127.0.0.1:8765"})
        assert r.status_code == 409  # got through to the handler: not running
        # DNS rebinding: a foreign Host name reaching the loopback server is refused without a token
        r = await client.get("/api/swarms", headers={"host": "rebind.example:8765"})
        assert r.status_code == 403
        for host in ("localhost:8765", "127.0.0.1", "[::1]:8765"):
            assert (await client.get("/api/swarms", headers={"host": host})).status_code == 200
    with_token = create_app(space=tmp_path, env=ENV, token="t0k")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_token), base_url="http://swarm.lan") as client:
        assert (await client.get("/api/swarms", headers={"authorization": "Bearer t0k"})).status_code == 200
