"""serve/fanout.py: each frame is encoded once per server, whatever the number of clients."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from swarm_star.models import NodeRole, Terminate
from swarm_star.serve import create_app
from swarm_star.serve.events import SSE_CHUNK_BYTES, sse_event
from swarm_star.serve.fanout import EncodedFrames
from swarm_star.state.reader import SwarmReader
from swarm_star.store import StoreLocator
from tests.helpers.big_tree import TreeWriter, write_big_tree
from tests.helpers.server import uvicorn_serving


def _follow(frames: EncodedFrames, upto: int, max_bytes: int) -> bytes:
    """What one client receives, chunk by chunk, until frame ``upto`` (exclusive)."""
    got, first = b"", 0
    while first < upto:
        chunk = frames.chunk(first, max_bytes)
        assert chunk.data or chunk.next == first
        got, first = got + chunk.data, chunk.next
        if not chunk.data and not chunk.more:
            break
    return got


def test_many_clients_get_the_same_bytes_and_each_frame_is_encoded_once(tmp_path: Path) -> None:
    state = write_big_tree(tmp_path, "big", (6, 6, 6))  # 259 nodes, frames over several blocks
    total = state.frame_count
    encoded: Counter[int] = Counter()

    def counting(raw: dict[str, Any]) -> bytes:
        encoded[raw["frame"]] += 1
        return sse_event(raw)

    with SwarmReader(StoreLocator(tmp_path).open("big")) as reader:
        expected = b"".join(sse_event(raw) for raw in reader.stored_frames())
        frames = EncodedFrames(reader.frame_block, counting, block=100, keep_bytes=1 << 30)
        received: list[bytes] = []

        def client(max_bytes: int) -> None:
            received.append(_follow(frames, total, max_bytes))

        threads = [threading.Thread(target=client, args=(512 * (i + 1),)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(received) == 20 and all(got == expected for got in received)
    assert sorted(encoded) == list(range(total)) and set(encoded.values()) == {1}


def test_a_block_still_being_written_grows_without_encoding_again(tmp_path: Path) -> None:
    w = TreeWriter(tmp_path, "live")
    w.node("0", None, NodeRole.ROOT, "grow")
    w.commit()
    encoded: Counter[int] = Counter()

    def counting(raw: dict[str, Any]) -> bytes:
        encoded[raw["frame"]] += 1
        return sse_event(raw)

    reader = SwarmReader(w.store)
    frames = EncodedFrames(reader.frame_block, counting, block=100, keep_bytes=1 << 30)
    first = frames.chunk(0, SSE_CHUNK_BYTES)
    assert first.next == 2 and not first.more  # spawn + run_action; nothing more stored yet
    assert frames.chunk(2, SSE_CHUNK_BYTES).data == b""  # caught up: nothing to send
    w.node("0.0", "0", NodeRole.ACTION, "a part")
    w.emit(Terminate(node_id="0.0", report="done"), ["0.0"])
    w.commit()
    late = frames.chunk(0, SSE_CHUNK_BYTES)  # a client behind is served what is encoded, no store read
    assert late == first
    rest = frames.chunk(2, SSE_CHUNK_BYTES)  # one past it: the store is read, the new frames encoded
    assert rest.next == 5 and rest.data and not rest.more
    assert frames.chunk(0, SSE_CHUNK_BYTES).data == first.data + rest.data
    assert set(encoded.values()) == {1} and sorted(encoded) == [0, 1, 2, 3, 4]
    w.close()


def test_blocks_kept_are_bounded_in_bytes(tmp_path: Path) -> None:
    write_big_tree(tmp_path, "big", (6, 6, 6))
    encoded: Counter[int] = Counter()

    def counting(raw: dict[str, Any]) -> bytes:
        encoded[raw["frame"]] += 1
        return sse_event(raw)

    with SwarmReader(StoreLocator(tmp_path).open("big")) as reader:
        frames = EncodedFrames(reader.frame_block, counting, block=10, keep_bytes=4096)
        once = _follow(frames, 200, SSE_CHUNK_BYTES)
        assert frames._bytes <= 4096 + max(len(e) for b in frames._blocks.values() for e in b.events) * 10
        again = _follow(frames, 200, SSE_CHUNK_BYTES)  # early blocks were let go: read and encoded again
    assert once == again and encoded[0] == 2


def test_two_event_streams_of_a_server_share_one_encoding(tmp_path: Path) -> None:
    """Over HTTP: two clients of one server get the same events, and the server keeps one
    :class:`EncodedFrames` for the swarm (not one per client)."""
    total = write_big_tree(tmp_path, "big", (4, 4)).frame_count
    app = create_app(space=tmp_path, env={})
    with uvicorn_serving(app) as (base, _), httpx.Client(base_url=base, timeout=30) as client:
        bodies = [client.get("/api/swarms/big/events?follow=0").content for _ in range(2)]
        assert list(app.state.hub._encoded) == [("big", sse_event)]
    assert bodies[0] == bodies[1] and bodies[0].count(b"event: frame") == total


def test_frames_already_encoded_are_served_without_a_store_read(tmp_path: Path) -> None:
    """A client catching up on frames another has made encoded gets them on the event loop (no
    worker-thread hop); one past them is told to read the store (None)."""
    state = write_big_tree(tmp_path, "big", (4, 4))
    reads: list[int] = []
    with SwarmReader(StoreLocator(tmp_path).open("big")) as reader:

        def read(first: int, block: int) -> Any:
            reads.append(first)
            return reader.frame_block(first, block)

        frames = EncodedFrames(read, sse_event, block=10, keep_bytes=1 << 30)
        assert frames.encoded_chunk(0, SSE_CHUNK_BYTES) is None  # nothing encoded yet
        first = frames.chunk(0, SSE_CHUNK_BYTES)
        assert reads == [0]
        assert frames.encoded_chunk(0, SSE_CHUNK_BYTES) == first
        assert frames.encoded_chunk(3, 200) == frames.chunk(3, 200)  # the same bounds as chunk
        assert frames.encoded_chunk(10, SSE_CHUNK_BYTES) is None  # the next block is not encoded
        assert reads == [0]
        everything = frames.events(0, 1 << 30)  # the live tail's read: across blocks, to the end
        assert len(everything) == state.frame_count
        assert frames.events(state.frame_count, 1 << 30) == []


def test_encoded_frames_are_served_across_blocks_and_while_another_thread_reads_the_store(tmp_path: Path) -> None:
    """Issue 25: a client catching up got at most one block per send, and none at all while any
    thread held the lock (the live tail's pump, or another client reading the store): it was sent
    to a worker thread to wait for it. Now what is encoded is served in one chunk up to the size
    asked for, without the lock."""
    state = write_big_tree(tmp_path, "big", (4, 4))
    with SwarmReader(StoreLocator(tmp_path).open("big")) as reader:
        entered, release = threading.Event(), threading.Event()

        def read(first: int, block: int) -> Any:
            if first >= 30:  # the fourth block: hold the store read until told
                entered.set()
                assert release.wait(10)
            return reader.frame_block(first, block)

        frames = EncodedFrames(read, sse_event, block=10, keep_bytes=1 << 30)
        for first in (0, 10, 20):
            frames.chunk(first, SSE_CHUNK_BYTES)  # three blocks encoded
        expected = b"".join(sse_event(raw) for raw in list(reader.stored_frames())[:30])
        reading = threading.Thread(target=frames.chunk, args=(30, SSE_CHUNK_BYTES))
        reading.start()
        try:
            assert entered.wait(10)  # another thread holds the lock, reading the store
            chunk = frames.encoded_chunk(0, SSE_CHUNK_BYTES)
            assert chunk is not None and chunk.data == expected and chunk.next == 30 and chunk.more
            small = frames.encoded_chunk(5, 1)  # cut at the size asked for: one frame, more to come
            assert small is not None and small.next == 6 and small.more
            assert frames.encoded_chunk(30, SSE_CHUNK_BYTES) is None  # not encoded yet
        finally:
            release.set()
            reading.join(10)
        rest = frames.encoded_chunk(30, SSE_CHUNK_BYTES)
        assert rest is not None and rest.next == min(40, state.frame_count)


def test_an_event_written_out_is_byte_for_byte_what_sse_starlette_makes(tmp_path: Path) -> None:
    """sse_event writes the event itself (a third of ServerSentEvent.encode's cost per frame): the
    bytes must not change, whatever the text holds (line breaks, separators, non-ASCII)."""
    import json

    from sse_starlette import ServerSentEvent

    state = write_big_tree(tmp_path, "big", (3, 3))
    with SwarmReader(StoreLocator(tmp_path).open("big")) as reader:
        raws = list(reader.stored_frames())
    raws.append({"frame": 7, "text": 'a\nb\r\nc\rd\u2028e\u0085f "q" \\ é 字', "n": [1, None, {"x": 2.5}]})
    for raw in raws:
        data = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
        assert sse_event(raw) == ServerSentEvent(data=data, id=str(raw["frame"]), event="frame").encode()
    assert len(raws) == state.frame_count + 1
