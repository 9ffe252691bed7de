"""The seeds' doors into the same swarms: Ai3's ``POST /run`` and ``POST /stream/run``, event
streams in the seeds' words, and a WebSocket next to the event stream.

Nothing here runs or stores anything its own way: ``/run`` creates a swarm
(as ``POST /api/swarms`` does) and runs it in this server (frames, budgets,
resume, the web view all apply); the streams read committed frames from the
store and name them with :mod:`swarm_star.api.seed_events`.

* ``POST /run`` — ``{"prompt": …}`` in; blocks until the run ends; ``{"swarm_id",
  "status", "output", "reason", "stats"}`` out. A swarm that asks a question
  stops with status ``questions`` (answer it and resume through the API), as
  Ai3 has no questions to wait for.
* ``POST /stream/run`` — the same run as Ai3's Server-Sent Events: ``data:
  {"type": "plan" | "decision" | … | "final" | "stats", …}`` lines (the first,
  ours, ``{"type": "swarm", "swarm_id"}`` names the swarm), then ``data: [DONE]``.
* ``GET /api/swarms/{id}/events/{names}`` — the frames as ``ai3`` or ``geepers``
  events (``event:`` the name, ``id:`` the frame), ``from``/``follow`` as for
  ``/events``.
* ``WS /api/swarms/{id}/ws`` — a WebSocket sending each frame as a JSON text
  message ``{"event": "frame", "data": FRAME}``, or with ``?names=ai3|geepers``
  the seed's events ``{"event": NAME, "data": EVENT}``; ``?from=N`` as for
  ``/events``. The token and origin checks of every request apply
  (:mod:`.security`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from swarm_star.api import RunHandle, RunOptions, Swarm
from swarm_star.api.seed_events import SeedEvents, translator
from swarm_star.errors import InputError, SwarmStarError
from swarm_star.models import Limits, ModelSettings
from swarm_star.serve.drive import new_swarm
from swarm_star.serve.events import FOLLOW, FROM, EventStream
from swarm_star.serve.hub import SwarmHub, hub_of, target
from swarm_star.serve.inputs import CreateBody, read_body
from swarm_star.serve.openapi import operation

__all__ = ["Ai3RunBody", "seed_routes"]

READ_BLOCK = 100  # frames per store read of a seed-named stream (these streams translate, so they read for themselves)


class Ai3RunBody(BaseModel):
    """Ai3's request: the prompt (our directive); limits and models as for ``POST /api/swarms``."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=100_000, description="what the swarm should do (Ai3's name for the directive)")
    limits: Limits = Field(default_factory=Limits)
    models: ModelSettings = Field(default_factory=ModelSettings, description="as for POST /api/swarms")
    swarm_id: str | None = Field(default=None, description="the new swarm's id (default: a fresh one)")
    pattern: dict[str, Any] | None = Field(default=None, description="a pattern, as for POST /api/swarms")


async def _start(request: Request) -> tuple[SwarmHub, str, RunHandle]:
    """Create the swarm the body asks for and start it here, not waiting for answers."""
    hub = hub_of(request)
    body: Ai3RunBody = await read_body(request, Ai3RunBody)
    if not body.prompt.strip():
        raise InputError("the prompt is empty")
    create = CreateBody(
        directive=body.prompt, limits=body.limits, models=body.models, swarm_id=body.swarm_id, pattern=body.pattern
    )
    swarm_id = await new_swarm(hub, create)

    def begin(swarm: Swarm, options: RunOptions) -> RunHandle:
        return swarm.run(replace(options, interactive=False))

    return hub, swarm_id, hub.start(swarm_id, begin)


async def _frames(
    hub: SwarmHub, swarm_id: str, start: int, follow: Callable[[], bool]
) -> AsyncIterator[dict[str, Any]]:
    """Stored frames from ``start`` on, in order; waits for more while ``follow()`` says so
    (asked before each read, so the frames committed before a run ended are all sent)."""
    log = hub.reader(swarm_id)

    def block(first: int) -> list[dict[str, Any]]:
        frames = log.frame_block(first, READ_BLOCK)
        try:
            return list(frames)
        finally:
            frames.close()

    next_frame = start
    while True:
        waiter = hub.frame_waiter(swarm_id)
        more = follow()
        frames = await anyio.to_thread.run_sync(block, next_frame)
        for frame in frames:
            yield frame
        next_frame += len(frames)
        if frames:
            continue
        if not more:
            return
        await hub.wait(waiter, hub.poll_interval)


async def _stats(hub: SwarmHub, swarm_id: str) -> SeedEvents:
    words = translator("ai3")
    async for frame in _frames(hub, swarm_id, 0, lambda: False):
        words.feed(frame)
    return words


@operation(
    "Ai3's blocking run: a prompt in, the final output and stats out",
    description=(
        "Creates a swarm from `prompt` and runs it in this server until it ends (finished, failed, a "
        "limit, or a question: it does not wait for answers). The swarm stays like any other: see it, "
        "answer it and resume it through /api/swarms."
    ),
    body=Ai3RunBody,
    errors=[400, 409, 413],
)
async def run_blocking(request: Request) -> JSONResponse:
    hub, swarm_id, handle = await _start(request)
    try:
        outcome = await handle
        status, reason, output = outcome.status, outcome.reason, outcome.report
    except SwarmStarError as exc:
        status, reason, output = "error", str(exc), None
    words = await _stats(hub, swarm_id)
    doc = {"swarm_id": swarm_id, "status": status, "output": output, "reason": reason, "stats": words.stats()}
    return JSONResponse(doc)


@operation(
    "Ai3's streamed run: the swarm's frames as Ai3's Server-Sent Events",
    description=(
        "Creates and runs a swarm as POST /run does; the response is Ai3's event stream: one "
        '`data: {"type": …}` line per event (plan, decision, task_start, task_artifact, task_verified, '
        "task_repaired, task_failed, assemble_start, final, stats; `stopped` when the run paused), then "
        "`data: [DONE]`."
    ),
    body=Ai3RunBody,
    errors=[400, 409, 413],
    ok="event stream",
    media={"text/event-stream": {"type": "string"}},
)
async def run_streaming(request: Request) -> EventSourceResponse:
    hub, swarm_id, _handle = await _start(request)
    words = translator("ai3")

    async def stream() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(data=json.dumps({"type": "swarm", "swarm_id": swarm_id}))
        async for frame in _frames(hub, swarm_id, 0, lambda: hub.is_running_here(swarm_id)):
            for event in words.feed(frame):
                yield ServerSentEvent(data=json.dumps(event, ensure_ascii=False))
        yield ServerSentEvent(data="[DONE]")

    return EventStream(stream(), ping=15, send_timeout=request.app.state.sse_send_timeout)


@operation(
    "Server-Sent Events in a seed's words (ai3 or geepers), derived from the frames",
    description=(
        "`names` is `ai3` (plan, decision, task_start, task_artifact, task_verified, task_repaired, "
        "task_failed, assemble_start, final, stats, stopped) or `geepers` (WORKFLOW_START, "
        "DECOMPOSITION_COMPLETE, AGENT_START, AGENT_COMPLETE, AGENT_ERROR, SYNTHESIS_START, "
        "SYNTHESIS_COMPLETE, WORKFLOW_COMPLETE, WORKFLOW_ERROR, WORKFLOW_STOPPED). Each event's id is the "
        "frame it comes from; `progress` is a percent where it is knowable."
    ),
    params=[FROM, FOLLOW],
    errors=[400, 404],
    ok="event stream",
    media={"text/event-stream": {"type": "string"}},
)
async def seed_events(request: Request) -> EventSourceResponse:
    hub, swarm_id = target(request)
    hub.reader(swarm_id)  # 404 before the stream starts
    words = translator(request.path_params["names"])
    start = FROM.read(request) or 0
    follow = FOLLOW.read(request)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for frame in _frames(hub, swarm_id, 0, lambda: follow):
            for event in words.feed(frame):  # earlier frames only teach the translator the tree
                if frame["frame"] >= start:
                    data = json.dumps(event, ensure_ascii=False)
                    yield ServerSentEvent(data=data, id=str(frame["frame"]), event=event["type"])

    return EventStream(stream(), ping=15, send_timeout=request.app.state.sse_send_timeout)


async def websocket_events(websocket: WebSocket) -> None:
    """Frames (or a seed's events, ``?names=``) as JSON text messages, until the client leaves."""
    hub = websocket.app.state.hub
    swarm_id = websocket.path_params["swarm_id"]
    names = websocket.query_params.get("names")
    try:
        hub.reader(swarm_id)
        words = translator(names) if names else None
        raw_from = websocket.query_params.get("from") or "0"
        if not raw_from.isdigit():
            raise InputError(f"from must be a frame number, got {raw_from!r}")
        start = int(raw_from)
    except SwarmStarError as exc:
        await websocket.close(code=1008, reason=str(exc)[:120])
        return
    await websocket.accept()

    async def send_all() -> None:
        async for frame in _frames(hub, swarm_id, 0 if words else start, lambda: True):
            if words is None:
                await websocket.send_text(json.dumps({"event": "frame", "data": frame}, ensure_ascii=False))
                continue
            for event in words.feed(frame):
                if frame["frame"] >= start:
                    await websocket.send_text(json.dumps({"event": event["type"], "data": event}, ensure_ascii=False))

    async with anyio.create_task_group() as tasks:

        async def until_closed() -> None:
            try:
                while True:
                    await websocket.receive_text()  # nothing is expected; a message is ignored
            except WebSocketDisconnect:
                pass
            tasks.cancel_scope.cancel()

        tasks.start_soon(until_closed)
        try:
            await send_all()
        except (WebSocketDisconnect, RuntimeError):  # the client left while a message was on its way
            pass
        tasks.cancel_scope.cancel()


def seed_routes(swarm_path: str) -> list[BaseRoute]:
    """The routes above; ``swarm_path`` is ``/api/swarms/{swarm_id}``."""
    return [
        Route("/run", run_blocking, methods=["POST"]),
        Route("/stream/run", run_streaming, methods=["POST"]),
        Route(swarm_path + "/events/{names}", seed_events),
        WebSocketRoute(swarm_path + "/ws", websocket_events),
    ]
