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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_star.api import Swarm
from swarm_star.errors import ConfigError, InputError
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


@asynccontextmanager
async def api_client(space: Path, *base_urls: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app over ``space``, started with ``base_urls`` as the operator's endpoints."""
    app = create_app(space=space, env=ENV, poll_interval=0.05, base_urls=base_urls)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    await app.state.hub.shutdown()


@pytest.fixture
async def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with api_client(tmp_path) as client:
        yield client


async def test_create_answer_finish_and_read_everything(tmp_path: Path, model_server) -> None:
    server = model_server(trip_model(), latency=0.02)
    async with api_client(tmp_path, server.base_url) as api:
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
        r = await api.post(
            f"/api/swarms/trip1/questions/{pending[0]['id']}/answer", json={"text": "the first week of May"}
        )
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


async def test_stop_and_resume_from_the_api(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"many": [f"part {i}" for i in range(6)]}), latency=0.2)
    async with api_client(tmp_path, server.base_url) as api:
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
        # the limits in force: the resume applied 500 (before, the record's 1000 were shown)
        assert (await api.get("/api/swarms/s1")).json()["settings"]["limits"]["max_calls"] == 500
        tree = (await api.get("/api/swarms/s1/tree")).json()
        assert all(n["status"] == "terminated" for n in tree["nodes"])
        r = await api.post("/api/swarms/s1/resume", json={})
        assert r.status_code == 409 and r.json()["error"] == "swarm s1 already finished; nothing to resume"
        r = await api.post("/api/swarms/s1/resume", json={"limits": {"max_calls": 3000}})  # as `resume --max-calls`
        assert r.status_code == 409 and r.json()["error"] == "swarm s1 already finished; nothing to resume"


async def test_retry_failed_nodes_from_the_api(tmp_path: Path, model_server) -> None:
    scripted = ScriptedModel(plans={"two": ["good part", "bad part"]}, routes={"bad": None})
    server = model_server(scripted)
    async with api_client(tmp_path, server.base_url) as api:
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


async def test_resume_right_after_a_cli_run_was_killed(tmp_path: Path, model_server) -> None:
    """Issue 20: after `kill -9` of a `swarm-star run`, the CLI resumed at once (the lease's
    holder is provably gone) while POST /resume answered 409 "being run by another process"
    until the lease expired (30 s): serve had an owner rule of its own. Both ask the API's."""
    server = model_server(ScriptedModel(plans={"party": ["book a room", "buy snacks"]}), latency=5.0)
    async with api_client(tmp_path, server.base_url) as api:
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
    dup = {"directive": "again", "swarm_id": "done1", "start": False}
    assert await error("POST", "/api/swarms", 409, json=dup) == "swarm 'done1' already exists: choose another id"
    assert await error("GET", "/api/swarms/done1/tree?frame=99", 400) == "frame 99 does not exist (0..0)"
    assert "must be an integer" in await error("GET", "/api/swarms/done1/tree?frame=x", 400)
    assert await error("GET", "/api/swarms/done1/tree?frame=-3", 400) == "query parameter frame must be at least 0"
    assert "between 1 and 1000" in await error("GET", "/api/swarms/done1/history?limit=0", 400)
    assert await error("GET", "/api/swarms/done1/frames/7", 400) == "frame 7 does not exist in swarm done1"
    assert await error("GET", "/api/swarms/done1/nodes/9.9", 404) == "no node '9.9' in swarm done1"
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
    assert await error("POST", "/api/swarms/done1/retry", 404, json={"node": "9.9"}) == "no node '9.9' in swarm done1"
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
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05, base_urls=[server.base_url])
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
    cmd = [
        sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "run", "many parts elsewhere",
        "--swarm-id", "elsewhere", "--base-url", server.base_url, "--no-input", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**_clean_env(), **ENV})
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


async def test_ids_are_full_matched_deep_bodies_are_400_and_download_0_is_inline(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Issue 19, item 11: a trailing newline is no part of an id (``$`` admitted one),
    a deeply nested body is bad input (it was a 500 RecursionError), and
    ``?download=0`` sends the report inline (it sent an attachment)."""
    from swarm_star.kit.own_actions import static_problems
    from swarm_star.store import StoreLocator, validate_swarm_id

    Swarm.create("a thing", space=tmp_path, swarm_id="n1").close()
    r = await api.post("/api/swarms", json={"directive": "x", "swarm_id": "n2\n", "start": False})
    assert r.status_code == 400 and r.json()["error"].startswith("invalid swarm id 'n2\\n'"), r.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n1"]
    for url in ("/api/swarms/n1%0A", "/api/swarms/n1%0A/tree", "/api/swarms/n1%0A/events?follow=0"):
        r = await api.get(url)
        assert r.status_code == 400 and r.json()["error"].startswith("invalid swarm id 'n1\\n'"), (url, r.text)
    r = await api.get("/api/swarms/n1/nodes/0%0A")
    assert r.status_code == 404 and r.json()["error"] == "no node '0\\n' in swarm n1"
    r = await api.post("/api/swarms", json={"directive": "x", "start": False, "context": {"notes.txt\n": "hi"}})
    assert r.status_code == 400 and "invalid context file name" in r.json()["error"]
    with pytest.raises(InputError, match="invalid swarm id"):
        validate_swarm_id("ok\n")
    with pytest.raises(ConfigError, match="invalid user id"):
        StoreLocator(tmp_path, user_id="bob\n")
    assert static_problems("tool\n", "async def run(host, node):\n    return 'x'\n")[0].startswith("name ")

    # deeply nested JSON: parsed or not by the JSON library, it is a 400, not a 500
    for depth in (100_000, 500):
        body = '{"directive": "x", "context": ' + "[" * depth + "]" * depth + "}"
        r = await api.post("/api/swarms", content=body.encode())
        assert r.status_code == 400, (depth, r.status_code, r.text)
        assert r.json()["error"] == "the request body is nested too deeply (more than 32 levels)"
        r = await api.post("/api/swarms/n1/resume", content=('{"limits": {"max_calls": ' + "[" * depth).encode())
        assert r.status_code == 400, (depth, r.status_code, r.text)

    # ?download= is a yes/no flag: 0 means inline
    for value, attached in (("0", False), ("false", False), ("1", True), ("true", True)):
        r = await api.get(f"/api/swarms/n1/report?format=md&download={value}")
        assert r.status_code == 200, r.text
        disposition = r.headers.get("content-disposition", "")
        assert ("attachment" in disposition) is attached, (value, disposition)
    r = await api.get("/api/swarms/n1/report?format=md&download=perhaps")
    assert r.status_code == 400 and "download" in r.json()["error"]


def _csp(header: str) -> dict[str, set[str]]:
    """A Content-Security-Policy header as {directive: sources}."""
    out: dict[str, set[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = set(words[1:])
    return out


async def test_every_response_carries_a_content_security_policy(tmp_path: Path) -> None:
    """Issue 19, item 5: the web view and the report it frames load images (and scripts,
    styles, connections, frames) only from the server itself, whatever model text holds."""
    from tests.helpers.big_tree import write_big_tree

    write_big_tree(tmp_path, "b1", (2, 2))
    app = create_app(space=tmp_path, env=ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        for url in ("/", "/static/app.js", "/static/app.css", "/api/swarms", "/api/swarms/b1/tree", "/nope"):
            r = await client.get(url)
            policy = _csp(r.headers["content-security-policy"])
            for directive in ("img-src", "script-src", "style-src", "connect-src", "frame-src", "default-src"):
                assert policy[directive] == {"'self'"}, (url, directive, policy)
            assert policy["object-src"] == {"'none'"} and policy["base-uri"] == {"'none'"}
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
        # the report (shown in the page's sandboxed frame or opened alone): no scripts, no
        # remote anything; its own inline stylesheet only
        for fmt in ("html", "md"):
            r = await client.get(f"/api/swarms/b1/report?format={fmt}")
            policy = _csp(r.headers["content-security-policy"])
            assert policy["default-src"] == {"'none'"} and policy["img-src"] <= {"'self'"}, policy
            assert "script-src" not in policy and "connect-src" not in policy
    # the refusals of the guards carry it too
    with_token = create_app(space=tmp_path, env=ENV, token="t0k")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_token), base_url="http://127.0.0.1") as client:
        r = await client.get("/")
        assert r.status_code == 401 and _csp(r.headers["content-security-policy"])["img-src"] == {"'self'"}


def _write_wide_swarm(space: Path, swarm_id: str, leaves: int, text_bytes: int) -> int:
    """A finished swarm of ``leaves`` leaves whose spawn and call frames each carry
    ``text_bytes`` of directive: megabytes of events in one or two frame blocks."""
    import random

    from swarm_star.models import NodeRole, Terminate
    from tests.helpers.big_tree import TreeWriter

    rng = random.Random(7)
    w = TreeWriter(space, swarm_id)
    w.node("0", None, NodeRole.ROOT, "a wide swarm")
    for i in range(leaves):
        words = " ".join(f"{rng.getrandbits(40):x}" for _ in range(text_bytes // 11))
        w.node(f"0.{i}", "0", NodeRole.ACTION, f"part {i}: {words}")
        w.call(f"0.{i}")
        w.emit(Terminate(node_id=f"0.{i}", report=f"done {i}"), [f"0.{i}"])
        if i % 25 == 24:
            w.commit()
    w.emit(Terminate(node_id="0", report="all parts done"), ["0"])
    w.commit()
    count = w.state.frame_count
    w.close()
    return count


def _stalled_client(base: str, path: str) -> Any:
    """A raw connection that asks for ``path`` and then reads nothing (a tiny receive window)."""
    import socket

    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    return sock


def _event_ids(raw: bytes) -> list[int]:
    """Frame numbers of the complete events in a (possibly cut) chunked HTTP response."""
    _, _, rest = raw.partition(b"\r\n\r\n")
    body = b""
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep or not size_line.strip():
            break
        size = int(size_line.split(b";")[0], 16)
        if size == 0 or len(rest) < size:
            body += rest[:size] if size else b""
            break
        body, rest = body + rest[:size], rest[size + 2 :]
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    ids = []
    for event in text.split("\n\n")[:-1]:  # the last piece may be cut
        for line in event.split("\n"):
            if line.startswith("id:"):
                ids.append(int(line[3:].strip()))
    return ids


def test_stalled_event_stream_clients_cost_a_bounded_buffer_and_are_dropped(tmp_path: Path) -> None:
    """Issue 19, item 14: a client that stops reading makes the server hold at most one
    bounded chunk of events (it held a whole 1,000-frame block and more, per client);
    past the send timeout it is disconnected, and Last-Event-ID resumes it with nothing
    missed or repeated."""
    import tracemalloc

    from swarm_star.serve.events import SSE_CHUNK_BYTES
    from tests.helpers.server import uvicorn_serving

    total = _write_wide_swarm(tmp_path, "wide", leaves=300, text_bytes=6000)
    url = "/api/swarms/wide/events"
    clients = 12
    app = create_app(space=tmp_path, env=ENV)
    with uvicorn_serving(app, send_buffer=16384) as (base, server), httpx.Client(base_url=base) as client:
        everything = client.get(url + "?follow=0", timeout=60).content
        assert len(everything) > 3_000_000  # megabytes of events: a stalled client could pin them all
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            stalled = [_stalled_client(base, url) for _ in range(clients)]
            held, buffered = 0, [0]
            for _ in range(8):  # let the server push what it will into the stalled connections
                time.sleep(0.5)
                held = tracemalloc.get_traced_memory()[0] - before
                buffered = [c.transport.get_write_buffer_size() for c in server.server_state.connections]
            peak = tracemalloc.get_traced_memory()[1] - before
            # others are served meanwhile, completely
            again = read_events(client, url + "?follow=0", {}, None, lambda f: False)
            assert [n for n, _ in again] == list(range(total))
        finally:
            tracemalloc.stop()
        # what the connection buffers: the 64 KiB high-water mark of the server's flow control
        # and the chunk written past it (the old stream wrote its whole 1,000-frame block)
        assert max(buffered) <= 2 * SSE_CHUNK_BYTES + 64 * 1024, buffered
        # held per stalled client: that, the next chunk waiting to be sent, and the connection's own
        assert held / clients <= 5 * SSE_CHUNK_BYTES, f"{held / clients / 2**20:.1f} MiB held per stalled client"
        assert peak / clients <= 20 * SSE_CHUNK_BYTES, f"{peak / clients / 2**20:.1f} MiB per client at the peak"
        for sock in stalled:
            sock.close()

    # stalled past the send timeout: disconnected; what it got, plus a resume, is everything once
    app = create_app(space=tmp_path, env=ENV, sse_send_timeout=1.0)
    with uvicorn_serving(app, send_buffer=16384) as (base, _), httpx.Client(base_url=base) as client:
        sock = _stalled_client(base, url)
        time.sleep(2.5)
        sock.settimeout(20)
        raw = b""
        while chunk := sock.recv(65536):  # the server closed it: the buffered part, then EOF
            raw += chunk
        sock.close()
        got = _event_ids(raw)
        assert got == list(range(len(got))) and 0 < len(got) < total
        rest = read_events(client, url, {"last-event-id": str(got[-1])}, None, is_root_end)
        assert got + [n for n, _ in rest] == list(range(total))


async def test_requests_use_only_the_operators_endpoints_and_name_no_variable(tmp_path: Path, model_server) -> None:
    """Issue 19, item 2: a request cannot make the server send an environment variable,
    as a bearer key, to a URL of its choosing (COSMOS_KEY reached such a URL), nor learn
    which variables exist (an unset one answered "not set"). It picks among the endpoints
    the operator listed when starting the server, which come with the operator's keys."""
    secrets_env = {**ENV, "COSMOS_KEY": "cosmos-secret-1", "OPERATOR_MODEL_KEY": "op-key-7"}
    trap = model_server(ScriptedModel())  # a server the client chose
    good = model_server(ScriptedModel())  # the operator's

    async def refused(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        r = await client.post("/api/swarms", json=body)
        assert r.status_code == 400, r.text
        return r.json()["error"]

    # whatever the server was started with: no variable named, no unlisted URL
    plain = create_app(space=tmp_path, env=secrets_env)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://127.0.0.1") as client:
        answers = {
            await refused(client, {"directive": "x", "models": {"base_url": trap.base_url, "key_env": name}})
            for name in ("COSMOS_KEY", "NO_SUCH_VARIABLE_19", "OPENAI_API_KEY")
        }
        assert len(answers) == 1, answers  # the same answer whether the variable exists or not
        assert next(iter(answers)).startswith("models.key_env cannot be set over HTTP")
        error = await refused(client, {"directive": "x", "models": {"base_url": trap.base_url}})
        assert error.startswith(f"models.base_url '{trap.base_url}' is not an endpoint this server offers")
        assert "https://api.openai.com/v1" in error  # what it does offer: the environment's endpoint
        assert (await client.get("/api/swarms")).json() == []
    await plain.state.hub.shutdown()
    assert trap.requests == 0 and good.requests == 0

    app = create_app(
        space=tmp_path,
        env=secrets_env,
        base_urls=[good.base_url],
        api_key_env="OPERATOR_MODEL_KEY",
        default_model="operator-model",
        poll_interval=0.05,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        assert "is not an endpoint this server offers" in await refused(
            client, {"directive": "x", "models": {"base_url": trap.base_url}}
        )
        # by its URL (written another way) or by default: the operator's endpoint, key and model
        body = {"directive": "a small thing", "swarm_id": "by-url", "models": {"base_url": good.base_url + "/"}}
        assert (await client.post("/api/swarms", json=body)).status_code == 201
        assert (
            await client.post("/api/swarms", json={"directive": "a small thing", "swarm_id": "by-default"})
        ).status_code == 201
        # the environment's endpoint is offered too (not started here: it is the real OpenAI)
        env_pick = {
            "directive": "x",
            "swarm_id": "env",
            "start": False,
            "models": {"base_url": "https://api.openai.com/v1"},
        }
        assert (await client.post("/api/swarms", json=env_pick)).status_code == 201

        async def settled() -> bool:
            rows = {r["swarm_id"]: r for r in (await client.get("/api/swarms")).json()}
            return all(
                rows[s]["status"] == "finished" and not rows[s]["running_here"] for s in ("by-url", "by-default")
            )

        await wait_for(settled)
        for swarm_id in ("by-url", "by-default"):
            models = (await client.get(f"/api/swarms/{swarm_id}")).json()["settings"]["models"]
            assert models["base_url"] == good.base_url and models["key_env"] is None
            assert models["default_model"] == "operator-model"
        assert (await client.get("/api/swarms/env")).json()["settings"]["models"]["base_url"] == (
            "https://api.openai.com/v1"
        )
        sent = len(good.authorizations)
        assert sent > 0 and set(good.authorizations) == {"Bearer op-key-7"}

        # swarms recorded elsewhere (by the CLI) run here only on a listed endpoint, with the operator's key
        for swarm_id, url in (("cli-trap", trap.base_url), ("cli-good", good.base_url)):
            models = ModelSettings(base_url=url, key_env="COSMOS_KEY")
            Swarm.create(
                "a small thing", space=tmp_path, swarm_id=swarm_id, settings=SwarmSettings(models=models)
            ).close()
        r = await client.post("/api/swarms/cli-trap/resume", json={})
        assert r.status_code == 400 and r.json()["error"] == (
            f"swarm cli-trap uses the model endpoint {trap.base_url}, which this server does not offer: "
            f"resume it from the CLI, or start serve with --base-url {trap.base_url}"
        )
        assert not (await client.get("/api/swarms/cli-trap")).json()["running_here"]
        assert (await client.post("/api/swarms/cli-good/resume", json={})).status_code == 200

        async def cli_good_done() -> bool:
            s = (await client.get("/api/swarms/cli-good")).json()
            return s["status"] == "finished" and not s["running_here"]

        await wait_for(cli_good_done)
        assert len(good.authorizations) > sent and set(good.authorizations) == {"Bearer op-key-7"}
    await app.state.hub.shutdown()
    assert trap.requests == 0


def test_the_operator_list_is_checked_when_the_server_starts() -> None:
    from swarm_star.serve.endpoints import ServedEndpoints

    env = {"MY_KEY": "k"}
    with pytest.raises(ConfigError, match="--api-key-env MY_KEY needs --base-url"):
        ServedEndpoints.configure((), "MY_KEY", env=env)
    with pytest.raises(ConfigError, match="--api-key-env UNSET_19: that environment variable is not set"):
        ServedEndpoints.configure(["http://127.0.0.1:8000/v1"], "UNSET_19", env=env)
    with pytest.raises(ConfigError, match="expected an http"):
        ServedEndpoints.configure(["127.0.0.1:8000"], env=env)
    with pytest.raises(ConfigError, match="must not embed credentials"):
        ServedEndpoints.configure(["http://user:pw@127.0.0.1:8000/v1"], env=env)
    none = ServedEndpoints.configure(env={})
    assert none.offered == []
    with pytest.raises(InputError, match="this server offers no model endpoint"):
        none.for_request(ModelSettings())
    two = ServedEndpoints.configure(
        ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/"], env={"OPENROUTER_API_KEY": "o"}
    )
    assert two.offered == ["http://127.0.0.1:8000/v1", "https://openrouter.ai/api/v1"]
