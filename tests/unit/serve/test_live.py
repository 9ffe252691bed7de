"""serve/live.py: a swarm's new frames are read and joined once per gather for every caught-up client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

from swarm_star.models import NodeRole, Terminate
from swarm_star.serve import create_app
from swarm_star.serve.events import SSE_GATHER, SSE_GATHER_MAX, gather_window, sse_event
from swarm_star.serve.fanout import EncodedFrames
from swarm_star.serve.live import LiveTail
from swarm_star.state.reader import SwarmReader
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.big_tree import TreeWriter
from tests.helpers.model import TEST_KEY
from tests.helpers.server import serving

ENV = {"OPENAI_API_KEY": TEST_KEY}


async def test_caught_up_clients_share_one_read_and_one_bytes_object_per_delivery(tmp_path: Path) -> None:
    w = TreeWriter(tmp_path, "live")
    w.node("0", None, NodeRole.ROOT, "grow")
    w.commit()
    reader = SwarmReader(w.store)
    reads: list[int] = []

    def read(first: int, block: int) -> Iterator[dict[str, Any]]:
        reads.append(first)
        return reader.frame_block(first, block)

    frames = EncodedFrames(read, sse_event, block=100, keep_bytes=1 << 30)
    start = frames.chunk(0, 1 << 20).next  # what a client has read before it follows the tail
    commit = asyncio.Event()
    running = True

    def next_commit() -> asyncio.Event | None:
        return commit if running else None

    tail = LiveTail(frames, next_commit, lambda clients: 0.0, max_bytes=1 << 20, poll=5.0)
    tail.clients = 21
    reads.clear()
    waiting = [asyncio.create_task(tail.after(start)) for _ in range(20)]
    await asyncio.sleep(0.05)  # the pump reads once, finds nothing new, waits for the commit
    assert not any(t.done() for t in waiting)
    w.node("0.0", "0", NodeRole.ACTION, "a part")
    w.emit(Terminate(node_id="0.0", report="done"), ["0.0"])
    w.commit()
    ahead = asyncio.create_task(tail.after(start + 1))  # it read one of the new frames from the store
    commit.set()
    got = await asyncio.gather(*waiting)
    first = got[0]
    assert first is not None and first.first == start and first.end == w.state.frame_count
    assert all(d is first for d in got)  # one delivery, one bytes object, for every client
    assert first.data == b"".join(sse_event(raw) for raw in list(reader.stored_frames())[start:])
    slice_ = await ahead
    assert slice_ is first and first.after(start + 1).startswith(b"id: %d" % (start + 1))
    assert len(reads) <= 2  # the store was read by the pump only: never once per client
    assert await tail.after(start) is None  # behind the tail: the client reads the store

    running = False  # the run ends: waiting clients are told to read the store
    commit.set()
    commit = asyncio.Event()
    late = asyncio.create_task(tail.after(first.end))
    assert await asyncio.wait_for(late, 5) is None and tail.closed
    w.close()


def test_the_gather_window_grows_with_the_clients() -> None:
    assert gather_window(1) == SSE_GATHER  # the web view alone sees frames at once
    assert gather_window(50) == 6 * SSE_GATHER
    assert gather_window(10_000) == SSE_GATHER_MAX


def _follow_raw(base: str, path: str, total: list[int], got: list[bytes]) -> None:
    """One client on a raw socket: reads until ``total[0]`` events arrived (set when the run ends)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        sock.settimeout(0.1)
        raw = b""
        deadline = time.monotonic() + 60
        while (not total or raw.count(b"event: frame") < total[0]) and time.monotonic() < deadline:
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                continue
            if not chunk:
                break
            raw += chunk
        got.append(raw)


def _start_followers(base: str, path: str, clients: int, total: list[int], got: list[bytes]) -> list[threading.Thread]:
    """``clients`` raw-socket followers of ``path`` (:func:`_follow_raw`), started."""
    threads = [threading.Thread(target=_follow_raw, args=(base, path, total, got)) for _ in range(clients)]
    for t in threads:
        t.start()
    return threads


def _assert_every_frame_once(got: list[bytes], frames: int) -> None:
    for raw in got:
        ids = [int(line[3:]) for line in raw.decode().split("\r\n") if line.startswith("id:")]
        assert ids == list(range(frames))  # in order, none missed, none twice


@contextlib.contextmanager
def _counted_reads() -> Iterator[dict[str, int]]:
    """Counts the store reads of the event streams: ``chunk`` (a client reading on its own) and
    ``events`` (a live tail reading once for all its clients)."""
    calls = {"chunk": 0, "events": 0}
    chunk, events = EncodedFrames.chunk, EncodedFrames.events

    def counted_chunk(self: EncodedFrames, first: int, max_bytes: int) -> Any:
        calls["chunk"] += 1
        return chunk(self, first, max_bytes)

    def counted_events(self: EncodedFrames, first: int, max_bytes: int) -> Any:
        calls["events"] += 1
        return events(self, first, max_bytes)

    with (
        mock.patch.object(EncodedFrames, "chunk", counted_chunk),
        mock.patch.object(EncodedFrames, "events", counted_events),
    ):
        yield calls


def test_many_clients_of_a_swarm_run_here_get_every_frame_once_from_shared_reads(tmp_path: Path, model_server) -> None:
    """Issue 25: each client used to wake on every commit and read through a worker thread on
    its own (50 clients: the server spent more on them than on the swarm). Now the store is
    read once per delivery for every caught-up client."""
    model = ScriptedModel(
        plans={"estate": [f"area {i}" for i in range(6)], "area ": [f"block {i}" for i in range(4)]},
        routes={"area ": "planning/delegate"},
    )
    server = model_server(model, latency=0.05)
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05, base_urls=[server.base_url])
    clients = 12
    with _counted_reads() as calls, serving(app) as base, httpx.Client(base_url=base) as client:
        body = {"directive": "estate", "models": {"base_url": server.base_url}, "swarm_id": "live"}
        assert client.post("/api/swarms", json=body).status_code == 201
        total: list[int] = []
        got: list[bytes] = []
        threads = _start_followers(base, "/api/swarms/live/events", clients, total, got)
        while (summary := client.get("/api/swarms/live").json())["status"] in ("created", "running"):
            time.sleep(0.1)
        during_run = dict(calls)  # once the run has ended, the clients poll the store (as for any stored swarm)
        total.append(summary["frames"])
        for t in threads:
            t.join(60)
    assert summary["status"] == "finished" and len(got) == clients
    _assert_every_frame_once(got, summary["frames"])
    # the run lasted many gather windows; each client read the store only to catch up
    assert during_run["events"] >= 15
    assert during_run["chunk"] <= 3 * clients, during_run


def test_clients_joining_a_running_swarm_from_frame_0_read_no_store_of_their_own(tmp_path: Path, model_server) -> None:
    """Clients that join a swarm run here mid-run, from frame 0, catch up on the frames the live
    tail has encoded (from memory, on the event loop) and then wait for its deliveries: the store
    is read by the tail once for every client, never by a client on its own while the run lasts."""
    model = ScriptedModel(
        plans={"estate": [f"area {i}" for i in range(8)], "area ": [f"block {i}" for i in range(8)]},
        routes={"area ": "planning/delegate"},
    )
    server = model_server(model, latency=0.02)
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05, base_urls=[server.base_url])
    clients = 10
    calls = {"chunk": 0}
    chunk = EncodedFrames.chunk

    def counted_chunk(self: EncodedFrames, first: int, max_bytes: int) -> Any:
        if app.state.hub.is_running_here("live"):  # once the run has ended, clients read the store
            calls["chunk"] += 1
        return chunk(self, first, max_bytes)

    with (
        mock.patch.object(EncodedFrames, "chunk", counted_chunk),
        serving(app) as base,
        httpx.Client(base_url=base) as client,
    ):
        body = {"directive": "estate", "models": {"base_url": server.base_url}, "swarm_id": "live"}
        assert client.post("/api/swarms", json=body).status_code == 201
        total: list[int] = []
        got: list[bytes] = []
        follow = (base, "/api/swarms/live/events", total, got)
        first = threading.Thread(target=_follow_raw, args=follow)
        first.start()  # one client follows from the start: the tail runs
        while (summary := client.get("/api/swarms/live").json())["frames"] < 250:
            assert summary["status"] in ("created", "running"), summary
            time.sleep(0.02)
        # from frame 0, with blocks encoded and one being filled
        late = _start_followers(base, "/api/swarms/live/events", clients, total, got)
        while (summary := client.get("/api/swarms/live").json())["status"] in ("created", "running"):
            time.sleep(0.05)
        total.append(summary["frames"])
        for t in [first, *late]:
            t.join(60)
    assert summary["status"] == "finished" and len(got) == clients + 1
    _assert_every_frame_once(got, summary["frames"])
    assert calls["chunk"] <= 1, calls  # no client read the store itself while the run lasted


async def test_a_client_asking_far_ahead_neither_starts_the_tail_there_nor_stops_the_others(tmp_path: Path) -> None:
    """A client with ``?from=`` past every stored frame calls the tail first: the tail still
    starts at the frames stored, the client at the end gets the next delivery (not None, which
    sent it back to the store in a loop), and the far client waits for its own frame."""
    w = TreeWriter(tmp_path, "live")
    w.node("0", None, NodeRole.ROOT, "grow")
    w.commit()
    frames = EncodedFrames(SwarmReader(w.store).frame_block, sse_event, block=100, keep_bytes=1 << 30)
    end = frames.chunk(0, 1 << 20).next  # a normal client read every stored frame
    commit = asyncio.Event()
    tail = LiveTail(frames, lambda: commit, lambda clients: 0.0, max_bytes=1 << 20, poll=5.0)
    tail.clients = 2
    far = asyncio.create_task(tail.after(1_000_000))
    await asyncio.sleep(0.05)
    assert tail.end == end
    normal = asyncio.create_task(tail.after(end))
    await asyncio.sleep(0.05)
    assert not normal.done()  # waiting for the next delivery, not sent back to the store
    w.node("0.0", "0", NodeRole.ACTION, "a part")
    w.commit()
    commit.set()
    delivery = await asyncio.wait_for(normal, 5)
    assert delivery is not None and delivery.first == end and delivery.end > end
    assert not far.done()
    tail.clients = 0
    tail.closed = True
    commit.set()
    far.cancel()


async def test_a_store_error_in_the_pump_sends_clients_to_the_store_with_one_line(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The pump's read fails (a store error): its clients are released to read the store
    themselves, and the failure is one logged line, not an unretrieved task exception."""
    from swarm_star.errors import StoreError

    calls = 0

    def read(first: int, block: int) -> Iterator[dict[str, Any]]:
        nonlocal calls
        calls += 1
        raise StoreError("store s.db: disk I/O error")

    frames = EncodedFrames(read, sse_event, block=100, keep_bytes=1 << 30)
    tail = LiveTail(frames, asyncio.Event, lambda clients: 0.0, max_bytes=1 << 20, poll=5.0)
    tail.clients = 1
    with caplog.at_level("WARNING", logger="swarm_star.serve.live"):
        assert await asyncio.wait_for(tail.after(0), 5) is None
    assert calls == 1
    assert [r.getMessage() for r in caplog.records] == [
        "live tail stopped, its clients read the store: store s.db: disk I/O error"
    ]


def test_clients_of_a_swarm_run_elsewhere_share_one_poll_of_the_store(tmp_path: Path) -> None:
    """A swarm another process writes (a CLI run shown by serve): each following client polled
    the store on its own, a worker-thread read per client per poll (the SSE bench's idle clients:
    2,076 reads in one run). Now one tail per swarm reads it once per poll for all of them."""
    w = TreeWriter(tmp_path, "cli")
    w.node("0", None, NodeRole.ROOT, "grow")
    w.commit()
    app = create_app(space=tmp_path, env=ENV, poll_interval=0.05)
    clients = 10
    with _counted_reads() as calls, serving(app) as base:
        total: list[int] = []
        got: list[bytes] = []
        threads = _start_followers(base, "/api/swarms/cli/events", clients, total, got)
        for i in range(40):  # the other process's run: a commit every 0.05 s for 2 s
            w.node(f"0.{i}", "0", NodeRole.ACTION, f"part {i}")
            w.commit()
            time.sleep(0.05)
        w.emit(Terminate(node_id="0", report="done"), ["0"])
        w.commit()
        total.append(w.state.frame_count)
        for t in threads:
            t.join(60)
        polled = dict(calls)
    w.close()
    assert len(got) == clients
    _assert_every_frame_once(got, total[0])
    # ~2 s of polls every ~0.15 s: the tail's one read per poll for all (23 in a run), no client's
    # own (before: every client polled on its own, 87 reads)
    assert 5 <= polled["events"] <= 60, polled
    assert polled["chunk"] <= clients, polled
