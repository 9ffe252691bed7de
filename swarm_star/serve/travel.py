"""A swarm's time over HTTP: fork from a frame, the timeline, and what is in flight now.

``POST /api/swarms/{id}/fork`` with ``{"frame": N, "swarm_id": optional}`` makes a new,
stopped swarm from frames 0..N (the API's :meth:`~swarm_star.api.Swarm.fork`);
``POST /resume`` on the new id continues it here. ``GET /timeline`` gives the bars
of node activations and calls, from the frames' timestamps. ``GET /inflight`` gives
the calls and steps a run of this server has started and not yet recorded, with their
elapsed time and the streamed pieces of their replies so far; for a swarm run by
another process only its running nodes can be known (from its stored records).
Registered in :func:`swarm_star.serve.app.create_app` by :func:`travel_routes`.
"""

from __future__ import annotations

import time

import anyio
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from swarm_star.api import Swarm, build_timeline
from swarm_star.models import NodeStatus
from swarm_star.serve.hub import target
from swarm_star.serve.inputs import read_body
from swarm_star.serve.openapi import operation

__all__ = ["ForkBody", "travel_routes"]


class ForkBody(BaseModel):
    """Fork at ``frame`` (the last frame the fork keeps; a frame inside an activation's outcome moves to
    its end, and the answer says which frame it is); ``swarm_id``: the fork's id (default: time-based)."""

    model_config = ConfigDict(extra="forbid")

    frame: int = Field(ge=0)
    swarm_id: str | None = Field(None, max_length=200)


@operation(
    "Fork: a new, stopped swarm whose history is frames 0..N of this one (resume it to continue)",
    body=ForkBody,
    errors=[400, 404, 413],
    status=201,
    ok="created",
)
async def fork_swarm(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    body: ForkBody = await read_body(request, ForkBody)

    def fork() -> dict[str, object]:
        with (
            Swarm.open(swarm_id, space=hub.space, backend=hub.backend, user_id=hub.user_id, env=hub.env) as swarm,
            swarm.fork(body.frame, body.swarm_id) as made,
        ):
            frame = made.reader.frame_count() - 2  # its frames 0..N, then the stop that says so
            return {"swarm_id": made.id, "forked_from": swarm_id, "frame": frame, "status": str(made.state.status)}

    return JSONResponse(await anyio.to_thread.run_sync(fork), status_code=201)


@operation("The timeline: node activations and model calls as bars, from the frames' timestamps", errors=[404])
def get_timeline(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    return JSONResponse({"swarm_id": swarm_id, **build_timeline(hub.reader(swarm_id).frames()).to_json()})


@operation("What is in flight now: running calls, steps and activations, with elapsed time", errors=[404])
def get_in_flight(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    now = time.time()
    run = hub.runs.get(swarm_id)
    if run is not None and hub.is_running_here(swarm_id):
        calls = [
            {
                "node_id": f.node_id,
                "key": f.key,
                "kind": f.kind,
                "purpose": f.purpose,
                "model": f.model,
                "started": f.started,
                "elapsed_s": round(f.elapsed(now), 3),
                "received": f.received,
            }
            for f in run.handle.in_flight()
        ]
        nodes = [
            {"node_id": node, "started": at, "elapsed_s": round(max(0.0, now - at), 3)}
            for node, at in sorted(run.handle.activations().items(), key=lambda item: item[1])
        ]
        return JSONResponse({"swarm_id": swarm_id, "running_here": True, "now": now, "calls": calls, "nodes": nodes})
    stored = hub.reader(swarm_id).nodes()  # 404 for an unknown swarm
    nodes = [
        {"node_id": n.id, "started": None, "elapsed_s": None} for n in stored.values() if n.status == NodeStatus.RUNNING
    ]
    return JSONResponse({"swarm_id": swarm_id, "running_here": False, "now": now, "calls": None, "nodes": nodes})


def travel_routes(prefix: str) -> list[Route]:
    """The routes, under ``prefix`` (``/api/swarms/{swarm_id}``)."""
    return [
        Route(prefix + "/fork", fork_swarm, methods=["POST"]),
        Route(prefix + "/timeline", get_timeline, methods=["GET"]),
        Route(prefix + "/inflight", get_in_flight, methods=["GET"]),
    ]
