"""The event stream (GET .../events): every committed frame, in order, as Server-Sent Events.

A frame is one event ``frame`` whose id is its number. Each frame is read and
encoded once per server and the bytes shared by every client
(:mod:`swarm_star.serve.fanout`, on a worker thread); each client is sent
bounded chunks, so a slow client costs a bounded buffer; one stalled past the
send timeout is dropped and resumes with Last-Event-ID, missing nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from sse_starlette.sse import EventSourceResponse, SendTimeoutError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from swarm_star.errors import InputError
from swarm_star.serve.hub import target
from swarm_star.serve.inputs import FlagParam, IntParam, TextParam
from swarm_star.serve.openapi import operation

__all__ = [
    "SSE_CHUNK_BYTES",
    "SSE_GATHER",
    "SSE_GATHER_MAX",
    "SSE_SEND_TIMEOUT",
    "EventStream",
    "events",
    "gather_window",
    "sse_event",
]

# Events per send to one client. A client that stops reading makes the server hold one
# chunk waiting to be sent plus what its connection buffers (bounded by the server's flow
# control), never a whole block; past SSE_SEND_TIMEOUT without progress it is dropped,
# and it resumes with Last-Event-ID. (256 KiB, a quarter as many sends to a client catching
# up, each ~200 Python calls in the server's thread, measured no different within the noise of
# the shared machine for 4x the memory per stalled client: not taken.)
SSE_CHUNK_BYTES = 64 * 1024
SSE_SEND_TIMEOUT = 30.0
SSE_GATHER = 0.05
"""Seconds a caught-up stream waits after a commit wakes it, so one send carries the frames of
several group commits: with 50 clients, a send per client per commit cost the server more
than encoding. The live tail of a swarm run here waits this long per 10 clients
(:func:`gather_window`)."""
SSE_GATHER_MAX = 0.5


def gather_window(clients: int) -> float:
    """Seconds the live tail waits after a commit before it delivers: 0.05 s per 10 clients
    (at most :data:`SSE_GATHER_MAX`). Each client costs the server one wakeup and one send per
    delivery, whatever the frames in it: a longer window with more clients keeps what the sends
    cost the swarm per frame about flat (with 50 clients at 2,000 frames/s, ~600 frames per
    send), while one or a few clients (the web view) see frames within 0.05 s."""
    return min(SSE_GATHER * (1 + clients // 10), SSE_GATHER_MAX)


FROM = IntParam("from", "first frame to send (default 0)", default=0)
FOLLOW = FlagParam("follow", "0 ends the stream once caught up (default 1)", default=True)
LAST_EVENT_ID = TextParam("Last-Event-ID", "the last frame received; the stream continues after it", where="header")


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""``json.dumps(raw, ensure_ascii=False, separators=...)`` without building an encoder per frame
(~40 % of its cost); thread-safe: each ``encode`` makes its own state."""


def sse_event(raw: dict[str, Any]) -> bytes:
    """One stored frame as an SSE event ``frame`` (made once per server: :meth:`SwarmHub.encoded`).

    Frames go out as stored (validated when written), without a round trip through pydantic.
    The event is written out here rather than by ``ServerSentEvent.encode``, with one shared
    JSON encoder: the same bytes at about half the cost (4.7 against 8.5 µs for a typical frame),
    paid for every frame of every swarm followed. The id is an int and the data one line, since
    JSON escapes every CR and LF inside strings.
    """
    data = _JSON.encode(raw)
    return f"id: {int(raw['frame'])}\r\nevent: frame\r\ndata: {data}\r\n\r\n".encode()


class EventStream(EventSourceResponse):
    """An event stream that drops a client stalled past its send timeout without a
    traceback: the client reconnects with Last-Event-ID and misses nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(SendTimeoutError):
            await super().__call__(scope, receive, send)


@operation(
    "Server-Sent Events: every committed frame in order",
    description=(
        "Each committed frame is one event `frame` whose id is the frame number and whose data is the "
        "frame's JSON. Reconnect with `Last-Event-ID` (or `?from=N`) to continue with no frame missed "
        "or repeated. Works for swarms run by another process too (the store is polled)."
    ),
    params=[FROM, FOLLOW, LAST_EVENT_ID],
    errors=[400, 404],
    ok="event stream",
    media={"text/event-stream": {"type": "string"}},
)
async def events(request: Request) -> EventSourceResponse:
    hub, swarm_id = target(request)
    frames = hub.encoded(swarm_id, sse_event)  # 404 before the stream starts
    start = FROM.read(request) or 0
    last_id = LAST_EVENT_ID.read(request)
    if last_id:
        if not last_id.strip().isdigit():
            raise InputError(f"Last-Event-ID must be a frame number, got {last_id!r}")
        start = int(last_id) + 1
    follow = FOLLOW.read(request)

    tail = hub.live_tail(swarm_id, sse_event, gather_window) if follow else None

    async def stream() -> AsyncIterator[bytes]:
        nonlocal tail
        next_frame = start
        caught_up = False  # wait for the live tail's next delivery
        behind = False  # the tail sent this client back: read the store once before asking it again
        if tail is not None:
            tail.clients += 1
        try:
            while True:
                if caught_up and tail is not None:  # wait for the tail's next shared delivery
                    delivery = await tail.after(next_frame)
                    if delivery is not None:
                        yield delivery.after(next_frame)
                        next_frame = delivery.end
                        continue
                    caught_up, behind = False, True  # behind the tail, or it stopped: read the store
                    if tail.closed:  # the run here ended, or one began: the tail that follows now
                        tail.clients -= 1
                        tail = hub.live_tail(swarm_id, sse_event, gather_window)
                        tail.clients += 1
                chunk = frames.encoded_chunk(next_frame, SSE_CHUNK_BYTES)  # no thread hop when encoded
                if chunk is None:
                    if tail is not None and not behind:
                        caught_up = True  # not encoded yet: the tail reads it from the store once for all
                        continue
                    chunk = await anyio.to_thread.run_sync(frames.chunk, next_frame, SSE_CHUNK_BYTES)
                else:
                    await asyncio.sleep(0)  # a client catching up from memory lets the others run
                behind = False
                next_frame = chunk.next
                if chunk.data:
                    yield chunk.data
                if chunk.more:
                    continue
                if tail is None:  # not following
                    return
                caught_up = True
        finally:
            if tail is not None:
                tail.clients -= 1

    return EventStream(stream(), ping=15, send_timeout=request.app.state.sse_send_timeout)
