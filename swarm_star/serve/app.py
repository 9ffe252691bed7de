"""The HTTP API and the web view, as one Starlette app.

Routes are listed explicitly in :func:`create_app`; the OpenAPI description
in :mod:`swarm_star.serve.openapi` lists the same ones (a test holds them
equal). Read handlers are plain functions, so Starlette runs them in its
thread pool and a large replay never stalls the event loop that runs swarms.
Every error is JSON ``{"error": "<the CLI's one-line message>", "status": N}``.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import time
from collections.abc import AsyncIterator, Generator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sse_starlette import ServerSentEvent
from sse_starlette.sse import EventSourceResponse, SendTimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from swarm_star.api import Swarm, list_swarms, rules
from swarm_star.errors import AlreadyRunning, InputError, SwarmStarError
from swarm_star.models import Limits, ModelSettings, SwarmNode, SwarmSettings, ToolSettings
from swarm_star.serve.approvals import approval_routes
from swarm_star.serve.hub import SwarmHub
from swarm_star.serve.openapi import openapi_document
from swarm_star.serve.security import (
    MAX_BODY_BYTES,
    REPORT_CSP,
    BodyLimit,
    BrowserGuard,
    SecurityHeaders,
    TokenGate,
)
from swarm_star.state.frame_codec import FrameCodec
from swarm_star.state.history import NODE_PREFIX, frame_key
from swarm_star.state.projection import SwarmState
from swarm_star.store import Backend, KVStore

__all__ = ["create_app"]

STATIC_DIR = Path(__file__).parent / "static"
HISTORY_PAGE_MAX = 1000
FRAME_BLOCK = 1000  # frames per store read: one key prefix of the history (keys are zero-padded)
# Events per send to one client. A client that stops reading makes the server hold one
# chunk waiting to be sent plus what its connection buffers (bounded by the server's flow
# control), never a whole block; past SSE_SEND_TIMEOUT without progress it is dropped,
# and it resumes with Last-Event-ID.
SSE_CHUNK_BYTES = 64 * 1024
SSE_READ_BLOCK = 100  # frames per store read of a stream: what one read holds while it encodes
SSE_SEND_TIMEOUT = 30.0
# Ids and names are checked with fullmatch: `$` would admit a trailing newline.
CONTEXT_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
NODE_ID_RE = re.compile(r"[0-9.]{1,200}")
MAX_BODY_DEPTH = 32  # nesting of a JSON body; the deepest valid body is a few levels


# request bodies


class CreateBody(BaseModel):
    """POST /api/swarms. No API keys or key variables here: ``models.base_url`` picks one of
    the endpoints the operator listed (:mod:`swarm_star.serve.endpoints`), which come with their keys."""

    model_config = ConfigDict(extra="forbid")

    directive: str = Field(max_length=100_000)
    context: dict[str, str] = Field(default_factory=dict, description="file name -> UTF-8 text")
    limits: Limits = Field(default_factory=Limits)
    models: ModelSettings = Field(default_factory=ModelSettings)
    swarm_id: str | None = None
    start: bool = True


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=100_000)


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: dict[str, Any] | None = None


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str | None = None


# helpers


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return f"invalid request: {where}: {first.get('msg', 'invalid')}"


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_BODY_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    too_deep = InputError(f"the request body is nested too deeply (more than {MAX_BODY_DEPTH} levels)")
    try:
        data = json.loads(raw or b"{}")
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InputError("the request body must be a JSON object")
    if _depth(data) > MAX_BODY_DEPTH:
        raise too_deep
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(_validation_message(exc)) from exc


def _flag_param(request: Request, name: str, default: bool) -> bool:
    """A yes/no query parameter: 1/true/yes or 0/false/no (empty: the default)."""
    raw = (request.query_params.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise InputError(f"query parameter {name} must be 1 or 0 (true/false), got {raw!r}")


def _int_param(request: Request, name: str, default: int | None, lo: int = 0, hi: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InputError(f"query parameter {name} must be an integer, got {raw!r}") from exc
    if value < lo or (hi is not None and value > hi):
        bounds = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        raise InputError(f"query parameter {name} must be {bounds}")
    return value


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


class EventStream(EventSourceResponse):
    """An event stream that drops a client stalled past its send timeout without a
    traceback: the client reconnects with Last-Event-ID and misses nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(SendTimeoutError):
            await super().__call__(scope, receive, send)


# the app


def create_app(
    *,
    space: str | Path | None = None,
    backend: Backend = "sqlite",
    user_id: str = "local",
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    poll_interval: float = 0.25,
    max_body: int = MAX_BODY_BYTES,
    otel: bool = False,
    tracer_provider: Any = None,
    sse_send_timeout: float = SSE_SEND_TIMEOUT,
    base_urls: Sequence[str] = (),
    api_key_env: str | None = None,
    default_model: str | None = None,
    mcp: str | None = None,
) -> Starlette:
    """The ASGI app over one swarm space (and store backend).

    With ``otel`` (or a ``tracer_provider``) the swarms this server runs are
    traced through OpenTelemetry (:mod:`swarm_star.telemetry`). An event-stream
    client that accepts nothing for ``sse_send_timeout`` seconds is disconnected.

    Swarms run here use only the model endpoints the operator lists: ``base_urls``
    (the first is the default; ``api_key_env`` names the variable whose key they
    get) and the endpoint ``env`` configures (``OPENAI_*``, ``OPENROUTER_*``).
    ``default_model`` is for requests that name none. A ConfigError says what is wrong.
    ``mcp`` is the operator's MCP servers file: the only servers swarms run here may use
    (a request can never name a file; swarms created here record it).
    """
    from swarm_star.serve.endpoints import ServedEndpoints

    endpoints = ServedEndpoints.configure(base_urls, api_key_env, default_model, env)
    hub = SwarmHub(
        space=space,
        backend=backend,
        user_id=user_id,
        env=env,
        poll_interval=poll_interval,
        otel=otel,
        tracer_provider=tracer_provider,
        endpoints=endpoints,
        mcp=mcp,
    )

    # reading (sync: run in the thread pool)

    def get_swarms(request: Request) -> JSONResponse:
        rows = list_swarms(hub.locator, reader=hub.peek)
        return JSONResponse([{**row.to_json(), "running_here": hub.is_running_here(row.swarm_id)} for row in rows])

    def get_swarm(request: Request) -> JSONResponse:
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
        swarm_id = request.path_params["swarm_id"]
        log = hub.log(swarm_id)
        frame = _int_param(request, "frame", None)
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
        swarm_id = request.path_params["swarm_id"]
        log = hub.log(swarm_id)
        start = _int_param(request, "start", 0) or 0
        limit = _int_param(request, "limit", 100, 1, HISTORY_PAGE_MAX) or 100
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
        swarm_id = request.path_params["swarm_id"]
        number = request.path_params["frame"]
        event = hub.log(swarm_id).frame(number)
        if event is None:
            raise InputError(f"frame {number} does not exist in swarm {swarm_id}")
        return JSONResponse(event.model_dump(mode="json"))

    def get_node(request: Request) -> JSONResponse:
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
        swarm_id = request.path_params["swarm_id"]
        pending = hub.pending_questions(swarm_id)
        return JSONResponse([{"id": q.id, "node": n.id, "text": q.text, "directive": n.directive} for n, q in pending])

    def get_report(request: Request) -> Response:
        from swarm_star.render.report import MEDIA_TYPES, build_report, render_report

        swarm_id = request.path_params["swarm_id"]
        fmt = request.query_params.get("format", "md")
        if fmt not in MEDIA_TYPES:
            raise InputError(f"unknown report format {fmt!r}: use md, html or pdf")
        log = hub.log(swarm_id)
        report = build_report(swarm_id, log, hub.locator.swarm_dir(swarm_id) / "workspace")
        body = render_report(report, fmt)
        headers = {"content-security-policy": REPORT_CSP}
        if _flag_param(request, "download", False):
            headers["content-disposition"] = f'attachment; filename="{swarm_id}-report.{fmt}"'
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)

    # driving (async: on the loop that runs swarms)

    async def create_swarm(request: Request) -> JSONResponse:
        body: CreateBody = await _body(request, CreateBody)
        from swarm_star.llm import resolve_endpoint

        models = hub.endpoints.for_request(body.models)  # an endpoint the operator listed, no key variable
        resolve_endpoint(hub.endpoints.for_run(models, body.swarm_id or "new"), env)  # fail fast, before creating
        settings = SwarmSettings(limits=body.limits, models=models, tools=ToolSettings(mcp=hub.mcp))
        with tempfile.TemporaryDirectory(prefix="swarm-star-context-") as tmp:
            paths = []
            for name, text in body.context.items():
                if not CONTEXT_NAME_RE.fullmatch(name):
                    raise InputError(f"invalid context file name {name!r}: letters, digits, '_', '.', '-'")
                path = Path(tmp) / name
                path.write_text(text, encoding="utf-8")
                paths.append(path)
            swarm = await anyio.to_thread.run_sync(
                lambda: Swarm.create(
                    body.directive,
                    context_files=paths,
                    settings=settings,
                    space=hub.space,
                    backend=hub.backend,
                    swarm_id=body.swarm_id,
                    user_id=hub.user_id,
                    env=env,
                )
            )
        swarm.close()
        if body.start:
            hub.start(swarm.id, Swarm.run)
        return JSONResponse({"swarm_id": swarm.id, "running": body.start}, status_code=201)

    async def answer_question(request: Request) -> JSONResponse:
        swarm_id, question_id = request.path_params["swarm_id"], request.path_params["question_id"]
        body: AnswerBody = await _body(request, AnswerBody)

        def record() -> None:
            with Swarm.open(swarm_id, space=hub.space, backend=hub.backend, user_id=hub.user_id, env=env) as swarm:
                swarm.answer(question_id, body.text)

        await anyio.to_thread.run_sync(record)
        hub.wake(swarm_id)  # a run of this server picks the inbox up now, not at the next poll
        return JSONResponse({"question_id": question_id, "queued": True, "running": hub.is_running_here(swarm_id)})

    async def stop_swarm(request: Request) -> JSONResponse:
        swarm_id = request.path_params["swarm_id"]
        hub.log(swarm_id)  # 404 for an unknown swarm
        await hub.stop(swarm_id)
        return JSONResponse({"swarm_id": swarm_id, "running": False})

    async def resume_swarm(request: Request) -> JSONResponse:
        swarm_id = request.path_params["swarm_id"]
        body: ResumeBody = await _body(request, ResumeBody)
        log = hub.log(swarm_id)
        meta = log.read_meta() or {}
        limits = None
        if body.limits:
            try:
                limits = Limits.model_validate({**(meta.get("limits") or {}), **body.limits})
            except ValidationError as exc:
                raise InputError(_validation_message(exc).replace("invalid request", "invalid limit")) from exc
        rules.check_resumable(swarm_id, rules.stored_nodes(log))  # the swarm's state first, then its endpoint
        hub.start(swarm_id, lambda swarm, options: swarm.resume(replace(options, limits=limits)))
        return JSONResponse({"swarm_id": swarm_id, "running": True})

    async def retry_swarm(request: Request) -> JSONResponse:
        swarm_id = request.path_params["swarm_id"]
        body: RetryBody = await _body(request, RetryBody)
        log = hub.log(swarm_id)
        if hub.is_running_here(swarm_id):
            raise AlreadyRunning(f"swarm {swarm_id} is running; stop it before retrying failed nodes")
        rules.retry_plan(swarm_id, rules.stored_nodes(log), body.node)  # nothing to retry: before the endpoint
        handle = hub.start(swarm_id, lambda swarm, options: swarm.retry(body.node, options))
        return JSONResponse({"swarm_id": swarm_id, "retried": list(handle.retried), "running": True})

    async def events(request: Request) -> EventSourceResponse:
        swarm_id = request.path_params["swarm_id"]
        log = hub.log(swarm_id)  # 404 before the stream starts
        start = _int_param(request, "from", 0) or 0
        last_id = request.headers.get("last-event-id")
        if last_id:
            if not last_id.strip().isdigit():
                raise InputError(f"Last-Event-ID must be a frame number, got {last_id!r}")
            start = int(last_id) + 1
        follow = _flag_param(request, "follow", True)

        def read(first: int) -> tuple[int, bytes, bool]:
            """Events from frame ``first`` on, at most about ``SSE_CHUNK_BYTES`` of them
            (always at least one frame), and whether more are stored already.

            Frames go out as stored (validated when written), without a round
            trip through pydantic.
            """
            chunks: list[bytes] = []
            size = 0
            frames = iter_block_frames(log.store, first, SSE_READ_BLOCK)
            try:
                for raw in frames:
                    data = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
                    event = ServerSentEvent(data=data, id=str(raw["frame"]), event="frame").encode()
                    chunks.append(event)
                    size += len(event)
                    if size >= SSE_CHUNK_BYTES:
                        break
            finally:
                frames.close()
            more = size >= SSE_CHUNK_BYTES or first % SSE_READ_BLOCK + len(chunks) == SSE_READ_BLOCK
            return first + len(chunks), b"".join(chunks), more

        async def stream() -> AsyncIterator[bytes]:
            next_frame = start
            while True:
                waiter = hub.frame_waiter(swarm_id)
                next_frame, chunk, more = await anyio.to_thread.run_sync(read, next_frame)
                if chunk:
                    yield chunk
                if more:
                    continue
                if not follow:
                    return
                await hub.wait(waiter, hub.poll_interval)

        return EventStream(stream(), ping=15, send_timeout=sse_send_timeout)

    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document())

    def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-store"})

    # errors

    async def on_swarm_error(request: Request, exc: Exception) -> JSONResponse:
        status = exc.http_status if isinstance(exc, SwarmStarError) else 500  # each class carries its own
        return _error(status, str(exc))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error ({type(exc).__name__}); the server log has details")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await hub.shutdown()

    S = "/api/swarms/{swarm_id}"
    routes = [
        Route("/", index),
        Route("/api/openapi.json", openapi),
        Route("/api/swarms", get_swarms, methods=["GET"]),
        Route("/api/swarms", create_swarm, methods=["POST"]),
        Route(S, get_swarm),
        Route(S + "/tree", get_tree),
        Route(S + "/history", get_history),
        Route(S + "/frames/{frame:int}", get_frame),
        Route(S + "/nodes/{node_id}", get_node),
        Route(S + "/questions", get_questions),
        Route(S + "/questions/{question_id}/answer", answer_question, methods=["POST"]),
        Route(S + "/stop", stop_swarm, methods=["POST"]),
        Route(S + "/resume", resume_swarm, methods=["POST"]),
        Route(S + "/retry", retry_swarm, methods=["POST"]),
        *approval_routes(S),
        Route(S + "/report", get_report),
        Route(S + "/events", events),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BrowserGuard, token=token),
            Middleware(TokenGate, token=token),
            Middleware(BodyLimit, limit=max_body),
        ],
        exception_handlers={SwarmStarError: on_swarm_error, HTTPException: on_http_error, Exception: on_crash},
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.started = time.time()
    return app
