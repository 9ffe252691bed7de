"""The read handlers (GET): the swarms of the space, one swarm, its tree, history, frames,
nodes, questions and report.

They are plain functions, so Starlette runs them in its thread pool and a
large replay never stalls the event loop that runs swarms. Each takes what
it needs from ``request.app.state`` (the hub).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from swarm_star.api import list_swarms
from swarm_star.errors import InputError
from swarm_star.models import SwarmNode
from swarm_star.serve.hub import hub_of
from swarm_star.serve.inputs import flag_param, int_param
from swarm_star.serve.security import REPORT_CSP
from swarm_star.state.frame_codec import FrameCodec
from swarm_star.state.history import NODE_PREFIX, frame_key
from swarm_star.state.projection import SwarmState
from swarm_star.store import KVStore

__all__ = [
    "get_frame",
    "get_history",
    "get_node",
    "get_questions",
    "get_report",
    "get_swarm",
    "get_swarms",
    "get_tree",
    "iter_block_frames",
]

HISTORY_PAGE_MAX = 1000
FRAME_BLOCK = 1000  # frames per store read: one key prefix of the history (keys are zero-padded)
NODE_ID_RE = re.compile(r"[0-9.]{1,200}")  # fullmatch: `$` would admit a trailing newline


def iter_block_frames(store: KVStore, first: int, block: int = FRAME_BLOCK) -> Generator[dict[str, Any], None, None]:
    """Stored frames from ``first`` to the end of its block (1,000, or 100 or 10), stopping at a gap.

    The block is a key prefix, so the store scans at most ``block`` rows however
    long the history is (a plain scan from ``first`` reads to the end). Lazy:
    a reader that stops early decodes no more than it used.
    """
    prefix = frame_key(first)[: -len(str(block - 1))]
    codec = FrameCodec(store)  # schema-2 frames come back as the schema-1 dict (shared text resolved)
    expected = first
    for _, raw in store.scan(prefix, start=frame_key(first)):
        if not isinstance(raw, dict) or raw.get("frame") != expected:
            return  # never skip a frame: stop at a gap
        yield codec.decode(raw)
        expected += 1


def block_frames(store: KVStore, first: int) -> list[dict[str, Any]]:
    """:func:`iter_block_frames` as a list."""
    return list(iter_block_frames(store, first))


def raw_frames(store: KVStore, start: int = 0) -> Iterator[dict[str, Any]]:
    """Stored frames from ``start`` to the last committed one, read block by block."""
    while True:
        block = block_frames(store, start)
        yield from block
        start += len(block)
        if not block or start % FRAME_BLOCK:
            return


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
        "usage": meta.get("usage"),
        "nodes": [node_json(n) for n in state_nodes.values()],
    }


def _meta_of(state: SwarmState) -> dict[str, Any]:
    return {
        "status": state.status,
        "stop_reason": state.stop_reason,
        "usage": {**state.usage.model_dump(mode="json"), "tokens": state.usage.tokens},
    }


def get_swarms(request: Request) -> JSONResponse:
    hub = hub_of(request)
    rows = list_swarms(hub.locator, reader=hub.peek)
    return JSONResponse([{**row.to_json(), "running_here": hub.is_running_here(row.swarm_id)} for row in rows])


def get_swarm(request: Request) -> JSONResponse:
    hub = hub_of(request)
    swarm_id = request.path_params["swarm_id"]
    log = hub.log(swarm_id)
    record, meta = log.record(), log.read_meta() or {}
    root = log.store.get(NODE_PREFIX + "0")
    last = hub.last_runs.get(swarm_id)
    return JSONResponse(
        {
            "swarm_id": swarm_id,
            "directive": record.directive,
            "created_at": record.created_at,
            "settings": record.settings.model_dump(mode="json"),
            "status": meta.get("status", "created"),
            "stop_reason": meta.get("stop_reason"),
            "frames": meta.get("frame_count", 0),
            "nodes": meta.get("nodes", 0),
            "usage": meta.get("usage"),
            "report": (root or {}).get("report"),
            "running_here": hub.is_running_here(swarm_id),
            "run_elsewhere": None if hub.is_running_here(swarm_id) else hub.owner(swarm_id),
            "last_run": None if last is None else {"status": last.status, "reason": last.reason},
        }
    )


def get_tree(request: Request) -> JSONResponse:
    hub = hub_of(request)
    swarm_id = request.path_params["swarm_id"]
    log = hub.log(swarm_id)
    frame = int_param(request, "frame", None)
    if frame is None:
        meta = log.read_meta() or {}
        nodes = log.nodes()
        count = int(meta.get("frame_count", 0))
        usage = dict(meta.get("usage") or {})
        usage["tokens"] = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        return JSONResponse(tree_json(swarm_id, nodes, {**meta, "usage": usage}, count - 1))
    count = int((log.read_meta() or {}).get("frame_count", 0))
    if frame >= count:
        raise InputError(f"frame {frame} does not exist (0..{count - 1})")
    state = log.replay(frame)
    return JSONResponse(tree_json(swarm_id, state.nodes, _meta_of(state), frame))


def get_history(request: Request) -> JSONResponse:
    hub = hub_of(request)
    swarm_id = request.path_params["swarm_id"]
    log = hub.log(swarm_id)
    start = int_param(request, "start", 0) or 0
    limit = int_param(request, "limit", 100, 1, HISTORY_PAGE_MAX) or 100
    node = request.query_params.get("node") or None
    kinds = {k for k in (request.query_params.get("kind") or "").split(",") if k}
    frames: list[dict[str, Any]] = []
    next_start: int | None = None
    for raw in raw_frames(log.store, start):
        if (node is None or node in raw["nodes"]) and (not kinds or raw["op"]["kind"] in kinds):
            if len(frames) == limit:
                next_start = raw["frame"]
                break
            frames.append(raw)
    return JSONResponse({"frames": frames, "next_start": next_start})


def get_frame(request: Request) -> JSONResponse:
    hub = hub_of(request)
    swarm_id = request.path_params["swarm_id"]
    number = request.path_params["frame"]
    event = hub.log(swarm_id).frame(number)
    if event is None:
        raise InputError(f"frame {number} does not exist in swarm {swarm_id}")
    return JSONResponse(event.model_dump(mode="json"))


def get_node(request: Request) -> JSONResponse:
    hub = hub_of(request)
    swarm_id, node_id = request.path_params["swarm_id"], request.path_params["node_id"]
    log = hub.log(swarm_id)
    raw = log.store.get(NODE_PREFIX + node_id) if NODE_ID_RE.fullmatch(node_id) else None
    if raw is None:
        raise InputError(f"no node {node_id!r} in swarm {swarm_id}")
    node = SwarmNode.model_validate(raw)
    calls, frames = [], []
    for raw in raw_frames(log.store):
        if node_id not in raw["nodes"]:
            continue
        op = raw["op"]
        frames.append({"frame": raw["frame"], "kind": op["kind"], "time": raw["time"]})
        if op["kind"] == "llm_call":
            calls.append({"frame": raw["frame"], "time": raw["time"], **op})
    cost = sum(c["usage"]["cost"] for c in calls)
    return JSONResponse({**node_json(node, full=True), "calls_detail": calls, "frames": frames, "cost": cost})


def get_questions(request: Request) -> JSONResponse:
    hub = hub_of(request)
    swarm_id = request.path_params["swarm_id"]
    pending = hub.pending_questions(swarm_id)
    return JSONResponse([{"id": q.id, "node": n.id, "text": q.text, "directive": n.directive} for n, q in pending])


def get_report(request: Request) -> Response:
    from swarm_star.render.report import MEDIA_TYPES, build_report, render_report

    hub = hub_of(request)
    swarm_id = request.path_params["swarm_id"]
    fmt = request.query_params.get("format", "md")
    if fmt not in MEDIA_TYPES:
        raise InputError(f"unknown report format {fmt!r}: use md, html or pdf")
    log = hub.log(swarm_id)
    report = build_report(swarm_id, log, hub.locator.swarm_dir(swarm_id) / "workspace")
    body = render_report(report, fmt)
    headers = {"content-security-policy": REPORT_CSP}
    if flag_param(request, "download", False):
        headers["content-disposition"] = f'attachment; filename="{swarm_id}-report.{fmt}"'
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)
