"""The HTTP API and the web view, as one Starlette app: routes, middleware, error handlers.

The routes are listed in :func:`routes`; the handlers live in :mod:`.read`
(GET), :mod:`.drive` (create, answer, stop, resume, retry), :mod:`.events`
(the event stream) and :mod:`.seed_routes` (Ai3's ``/run`` and ``/stream/run``,
the streams in the seeds' words, the WebSocket), each taking what it needs from ``request.app.state``
(``hub``: the swarm space, runs and readers; ``sse_send_timeout``). Each
handler declares its OpenAPI operation, and ``/api/openapi.json`` is
generated from the app's routes (:mod:`.openapi`). Every error is JSON
``{"error": "<the CLI's one-line message>", "status": N}``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from swarm_star.api import Backend
from swarm_star.errors import SwarmStarError
from swarm_star.serve import drive, read
from swarm_star.serve.approvals import approval_routes
from swarm_star.serve.events import SSE_SEND_TIMEOUT, events
from swarm_star.serve.hub import SwarmHub
from swarm_star.serve.openapi import openapi_document, operation
from swarm_star.serve.security import (
    MAX_BODY_BYTES,
    BodyLimit,
    BrowserGuard,
    SecurityHeaders,
    TokenGate,
)
from swarm_star.serve.seed_routes import seed_routes
from swarm_star.serve.travel import travel_routes

__all__ = ["create_app"]

STATIC_DIR = Path(__file__).parent / "static"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


@operation("This description")
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document(request.app.routes))


@operation("The web view", ok="HTML page", media={"text/html": {"type": "string"}}, public=True)
def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-store"})


@operation("The web view's icon", ok="SVG image", media={"image/svg+xml": {"type": "string"}}, public=True)
def favicon(request: Request) -> Response:
    """Where browsers look for an icon when a page names none (the web view names static/favicon.svg)."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


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
        await app.state.hub.shutdown()


def routes() -> list[BaseRoute]:
    """Every route of the app. A route added here is in ``/api/openapi.json`` with the
    operation its handler declares (a test requires one for every route)."""
    S = "/api/swarms/{swarm_id}"
    return [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/api/openapi.json", openapi),
        Route("/api/swarms", read.get_swarms, methods=["GET"]),
        Route("/api/swarms", drive.create_swarm, methods=["POST"]),
        Route(S, read.get_swarm),
        Route(S + "/tree", read.get_tree),
        Route(S + "/history", read.get_history),
        Route(S + "/frames/{frame:int}", read.get_frame),
        Route(S + "/nodes/{node_id}", read.get_node),
        Route(S + "/questions", read.get_questions),
        Route(S + "/questions/{question_id}/answer", drive.answer_question, methods=["POST"]),
        Route(S + "/stop", drive.stop_swarm, methods=["POST"]),
        Route(S + "/resume", drive.resume_swarm, methods=["POST"]),
        Route(S + "/retry", drive.retry_swarm, methods=["POST"]),
        *approval_routes(S),
        *travel_routes(S),
        Route(S + "/report", read.get_report),
        Route(S + "/events", events),
        *seed_routes(S),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


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
    app = Starlette(
        routes=routes(),
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
    app.state.sse_send_timeout = sse_send_timeout
    app.state.started = time.time()
    return app
