"""The read handlers (GET): the swarms of the space, one swarm, its tree, history, frames,
nodes, questions and report.

They are plain functions, so Starlette runs them in its thread pool and a
large replay never stalls the event loop that runs swarms. Each takes what
it needs from ``request.app.state`` (the hub).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from swarm_star.api import ROOT_NODE_ID, SwarmReader, list_swarms
from swarm_star.errors import InputError, NodeNotFound
from swarm_star.models import SwarmEvent, SwarmNode
from swarm_star.serve.hub import hub_of, target
from swarm_star.serve.inputs import FlagParam, IntParam, TextParam
from swarm_star.serve.openapi import JSON_LIST, operation
from swarm_star.serve.security import REPORT_CSP

__all__ = [
    "get_frame",
    "get_history",
    "get_node",
    "get_questions",
    "get_report",
    "get_swarm",
    "get_swarms",
    "get_tree",
    "node_json",
    "tree_json",
]

HISTORY_PAGE_MAX = 1000
FRAME = IntParam("frame", "show the tree right after this frame")
START = IntParam("start", "first frame number to consider", default=0)
LIMIT = IntParam("limit", f"frames per page (1-{HISTORY_PAGE_MAX})", default=100, lo=1, hi=HISTORY_PAGE_MAX)
NODE = TextParam("node", "only frames touching this node")
KIND = TextParam("kind", "only these operation kinds (comma-separated)")
FORMAT = TextParam("format", "report format (default md)", choices=("md", "html", "pdf"))
DOWNLOAD = FlagParam("download", "1 sends it as an attachment, 0 (the default) inline", default=False)
TREE = {
    "type": "object",
    "properties": {
        "swarm_id": {"type": "string"},
        "frame": {"type": "integer"},
        "frame_count": {"type": "integer"},
        "status": {"type": "string"},
        "stop_reason": {"type": ["string", "null"]},
        "partial": {"type": ["string", "null"], "description": "a finished swarm that falls short: why"},
        "clock": {"type": ["object", "null"], "description": "time run: run_s (closed spans), since, last"},
        "usage": {"type": "object"},
        "nodes": {"type": "array", "items": {"type": "object"}},
    },
}


def node_json(node: SwarmNode, *, full: bool = False) -> dict[str, Any]:
    """A node for the wire; the (possibly large) context only in full."""
    data = node.model_dump(mode="json", exclude=None if full else {"context"})
    data["usage"]["tokens"] = node.usage.tokens
    return data


def tree_json(swarm_id: str, state_nodes: Mapping[str, SwarmNode], meta: Mapping[str, Any], frame: int) -> dict:
    return {
        "swarm_id": swarm_id,
        "frame": frame,
        "frame_count": frame + 1,
        "status": meta.get("status"),
        "stop_reason": meta.get("stop_reason"),
        "partial": meta.get("partial"),
        "clock": meta.get("clock"),
        "usage": meta.get("usage"),
        "nodes": [node_json(n) for n in state_nodes.values()],
    }


@operation("List the swarms in the swarm space", returns=JSON_LIST)
def get_swarms(request: Request) -> JSONResponse:
    hub = hub_of(request)
    rows = list_swarms(hub.locator, reader=hub.peek)
    return JSONResponse([{**row.to_json(), "running_here": hub.is_running_here(row.swarm_id)} for row in rows])


@operation("One swarm: directive, settings, status, usage, final report", errors=[404])
def get_swarm(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    log = hub.reader(swarm_id)
    record, meta = log.record(), log.read_meta() or {}
    settings = record.settings.model_dump(mode="json")
    if isinstance(meta.get("limits"), dict):  # a resume with new limits applied them (ResumeSwarm frame)
        settings["limits"] = meta["limits"]
    root = log.node(ROOT_NODE_ID)
    last = hub.last_runs.get(swarm_id)
    return JSONResponse(
        {
            "swarm_id": swarm_id,
            "directive": record.directive,
            "created_at": record.created_at,
            "settings": settings,
            "status": meta.get("status", "created"),
            "stop_reason": meta.get("stop_reason"),
            "partial": meta.get("partial"),
            "frames": meta.get("frame_count", 0),
            "nodes": meta.get("nodes", 0),
            "usage": meta.get("usage"),
            "report": None if root is None else root.report,
            "running_here": hub.is_running_here(swarm_id),
            "run_elsewhere": None if hub.is_running_here(swarm_id) else hub.owner(swarm_id),
            "last_run": None if last is None else {"status": last.status, "reason": last.reason},
        }
    )


def _clock_of_old_swarm(log: SwarmReader, count: int) -> dict[str, float | None]:
    """The run clock of a swarm stored before meta kept one: first to last frame (two reads,
    no replay), so the page never shows "0 s" for it; its next commit stores the real one."""
    first, last = log.frame(0), log.frame(count - 1)
    if first is None or last is None:
        return {"run_s": 0.0, "since": None, "last": None}
    return {"run_s": max(0.0, last.time - first.time), "since": None, "last": last.time}


@operation("The tree now, or as it was right after frame N", params=[FRAME], errors=[400, 404], returns=TREE)
def get_tree(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    log = hub.reader(swarm_id)
    frame = FRAME.read(request)
    if frame is None:
        meta = log.read_meta() or {}
        nodes = log.nodes()
        count = int(meta.get("frame_count", 0))
        if not isinstance(meta.get("clock"), dict) and count:
            meta = {**meta, "clock": _clock_of_old_swarm(log, count)}
        usage = dict(meta.get("usage") or {})
        usage["tokens"] = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        return JSONResponse(tree_json(swarm_id, nodes, {**meta, "usage": usage}, count - 1))
    count = log.frame_count()
    if frame >= count:
        raise InputError(f"frame {frame} does not exist (0..{count - 1})")
    state = log.replay(frame)
    usage = {**state.usage.model_dump(mode="json"), "tokens": state.usage.tokens}
    meta = {
        "status": state.status,
        "stop_reason": state.stop_reason,
        "partial": state.partial,
        "clock": state.clock.to_json(),
        "usage": usage,
    }
    return JSONResponse(tree_json(swarm_id, state.nodes, meta, frame))


@operation(
    "Frames, paged (start, limit) and filtered by node and kind",
    params=[START, LIMIT, NODE, KIND],
    errors=[400, 404],
)
def get_history(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    log = hub.reader(swarm_id)
    start = START.read(request) or 0
    limit = LIMIT.read(request) or 100
    node = NODE.read(request)
    kinds = {k for k in (KIND.read(request) or "").split(",") if k}
    frames: list[dict[str, Any]] = []
    next_start: int | None = None
    for raw in log.stored_frames(start):
        if (node is None or node in raw["nodes"]) and (not kinds or raw["op"]["kind"] in kinds):
            if len(frames) == limit:
                next_start = raw["frame"]
                break
            frames.append(raw)
    return JSONResponse({"frames": frames, "next_start": next_start})


@operation("One frame in full", errors=[400, 404], returns=SwarmEvent)
def get_frame(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    number = request.path_params["frame"]
    event = hub.reader(swarm_id).frame(number)
    if event is None:
        raise InputError(f"frame {number} does not exist in swarm {swarm_id}")
    return JSONResponse(event.model_dump(mode="json"))


@operation("One node in full: directive, report, error, model calls (sent and received), cost", errors=[404])
def get_node(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    node_id = request.path_params["node_id"]
    log = hub.reader(swarm_id)
    node = log.node(node_id)  # None for an id that is no node id: no key is built from it
    if node is None:
        raise NodeNotFound(f"no node {node_id!r} in swarm {swarm_id}")
    calls, frames = [], []
    for raw in log.stored_frames():
        if node_id not in raw["nodes"]:
            continue
        op = raw["op"]
        frames.append({"frame": raw["frame"], "kind": op["kind"], "time": raw["time"]})
        if op["kind"] == "llm_call":
            calls.append({"frame": raw["frame"], "time": raw["time"], **op})
    cost = sum(c["usage"]["cost"] for c in calls)
    return JSONResponse({**node_json(node, full=True), "calls_detail": calls, "frames": frames, "cost": cost})


@operation("Questions waiting for the user", errors=[404], returns=JSON_LIST)
def get_questions(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    pending = hub.pending_questions(swarm_id)
    return JSONResponse([{"id": q.id, "node": n.id, "text": q.text, "directive": n.directive} for n, q in pending])


@operation(
    "The final report: Markdown, HTML or PDF",
    params=[FORMAT, DOWNLOAD],
    errors=[400, 404],
    ok="the report",
    media={
        "text/markdown": {"type": "string"},
        "text/html": {"type": "string"},
        "application/pdf": {"type": "string", "format": "binary"},
    },
)
def get_report(request: Request) -> Response:
    from swarm_star.render.report import MEDIA_TYPES, build_report, render_report

    hub, swarm_id = target(request)
    fmt = FORMAT.read(request) or "md"
    if fmt not in MEDIA_TYPES:
        raise InputError(f"unknown report format {fmt!r}: use md, html or pdf")
    log = hub.reader(swarm_id)
    report = build_report(swarm_id, log, hub.locator.swarm_dir(swarm_id) / "workspace")
    body = render_report(report, fmt)
    headers = {"content-security-policy": REPORT_CSP}
    if DOWNLOAD.read(request):
        headers["content-disposition"] = f'attachment; filename="{swarm_id}-report.{fmt}"'
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)
