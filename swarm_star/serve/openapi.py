"""The OpenAPI 3.1 description of the HTTP API, written out (Starlette has no generator).

A test compares these paths and methods with the app's routes, so the
description cannot drift from what the server answers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "bad input, or an unknown frame or node (the CLI's one-line message)",
        401: "missing or wrong token",
        403: "a change requested from another web origin, or a non-loopback Host without a token",
        404: "unknown swarm or question",
        409: "conflict: running, not running, or run by another process",
        413: "request body too large",
        503: "the store is locked or unreachable",
    }
    return {str(c): _json(_ERROR, text[c]) for c in codes}


def _op(summary: str, ok: dict[str, Any], *errors: int, params: list[str] = (), body: str | None = None) -> dict:  # type: ignore[assignment]
    op: dict[str, Any] = {"summary": summary, "responses": {"200": ok, **_errors(401, 403, *errors)}}
    if params:
        op["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in params]
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op


def _path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def openapi_document() -> dict[str, Any]:
    """The whole description, as a JSON-ready dict."""
    obj = {"type": "object"}
    S = "/api/swarms/{swarm_id}"
    sid = ["swarm_id"]
    paths: dict[str, Any] = {
        "/api/swarms": {
            "get": _op("List the swarms in the swarm space", _json({"type": "array", "items": obj})),
            "post": {
                **_op("Create a swarm and start it in the server", _json(obj), 400, 409, 413, body="CreateSwarm"),
                "responses": {"201": _json(obj, "created"), **_errors(400, 401, 403, 409, 413)},
            },
        },
        S: {"get": _op("One swarm: directive, settings, status, usage, final report", _json(obj), 404, params=sid)},
        S + "/tree": {
            "get": _op(
                "The tree now, or as it was right after frame N",
                _json({"$ref": "#/components/schemas/Tree"}),
                400,
                404,
                params=[*sid, "frame"],
            )
        },
        S + "/history": {
            "get": _op(
                "Frames, paged (start, limit) and filtered by node and kind",
                _json(obj),
                400,
                404,
                params=[*sid, "start", "limit", "node", "kind"],
            )
        },
        S + "/frames/{frame}": {
            "get": _op(
                "One frame in full",
                _json({"$ref": "#/components/schemas/Frame"}),
                400,
                404,
                params=[*sid, "frame_path"],
            )
        },
        S + "/nodes/{node_id}": {
            "get": _op(
                "One node in full: directive, report, error, model calls (sent and received), cost",
                _json(obj),
                400,
                404,
                params=[*sid, "node_id"],
            )
        },
        S + "/questions": {
            "get": _op("Questions waiting for the user", _json({"type": "array", "items": obj}), 404, params=sid)
        },
        S + "/questions/{question_id}/answer": {
            "post": _op(
                "Answer a question (a running swarm picks it up at once; else on resume)",
                _json(obj),
                400,
                404,
                413,
                params=[*sid, "question_id"],
                body="Answer",
            )
        },
        S + "/approvals": {
            "get": _op(
                "Tool calls waiting for the user's approval (the text names the exact call)",
                _json({"type": "array", "items": obj}),
                404,
                params=sid,
            )
        },
        S + "/approvals/{question_id}": {
            "post": _op(
                "Approve (run it) or deny a pending tool call",
                _json(obj),
                400,
                404,
                413,
                params=[*sid, "question_id"],
                body="Approve",
            )
        },
        S + "/stop": {"post": _op("Stop a swarm this server runs (state saved)", _json(obj), 404, 409, params=sid)},
        S + "/resume": {
            "post": _op(
                "Resume in this server, optionally with raised limits",
                _json(obj),
                400,
                404,
                409,
                params=sid,
                body="Resume",
            )
        },
        S + "/retry": {
            "post": _op(
                "Re-run failed nodes (one, or all) and resume", _json(obj), 400, 404, 409, params=sid, body="Retry"
            )
        },
        S + "/report": {
            "get": {
                **_op(
                    "The final report: Markdown, HTML or PDF",
                    {"description": "the report"},
                    400,
                    404,
                    params=[*sid, "format", "download"],
                ),
                "responses": {
                    "200": {
                        "description": "the report",
                        "content": {
                            "text/markdown": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        S + "/events": {
            "get": {
                **_op(
                    "Server-Sent Events: every committed frame in order",
                    {"description": "event stream"},
                    400,
                    404,
                    params=[*sid, "from", "follow", "last_event_id"],
                ),
                "description": (
                    "Each committed frame is one event `frame` whose id is the frame number and whose data is the "
                    "frame's JSON. Reconnect with `Last-Event-ID` (or `?from=N`) to continue with no frame missed "
                    "or repeated. Works for swarms run by another process too (the store is polled)."
                ),
                "responses": {
                    "200": {
                        "description": "event stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        "/api/openapi.json": {"get": _op("This description", _json(obj))},
        "/": {"get": {"summary": "The web view", "responses": {"200": {"description": "HTML page"}}}},
    }
    limits = {
        "type": "object",
        "description": (
            "any Limits field: max_depth, max_nodes, max_calls, max_tokens, max_cost, max_time, max_rounds, concurrency"
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Swarm Star",
            "version": "1",
            "description": "Watch and steer swarms: REST for state, Server-Sent Events for live frames.",
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "required when the server has a token"}
            },
            "parameters": {
                "swarm_id": _path_param("swarm_id", "swarm id"),
                "node_id": _path_param("node_id", "node id such as 0.1.2"),
                "question_id": _path_param("question_id", "question id"),
                "frame_path": _path_param("frame", "frame number", {"type": "integer", "minimum": 0}),
                "frame": _query("frame", "show the tree right after this frame", {"type": "integer", "minimum": 0}),
                "start": _query("start", "first frame number to consider", {"type": "integer", "minimum": 0}),
                "limit": _query(
                    "limit", "frames per page (1-1000)", {"type": "integer", "minimum": 1, "maximum": 1000}
                ),
                "node": _query("node", "only frames touching this node", {"type": "string"}),
                "kind": _query("kind", "only these operation kinds (comma-separated)", {"type": "string"}),
                "format": _query("format", "report format", {"type": "string", "enum": ["md", "html", "pdf"]}),
                "download": _query(
                    "download",
                    "1 sends it as an attachment, 0 (the default) inline",
                    {"type": "string", "enum": ["0", "1", "true", "false", "yes", "no"]},
                ),
                "from": _query("from", "first frame to send (default 0)", {"type": "integer", "minimum": 0}),
                "follow": _query(
                    "follow",
                    "0 ends the stream once caught up (default 1)",
                    {"type": "string", "enum": ["0", "1", "true", "false", "yes", "no"]},
                ),
                "last_event_id": {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "description": "the last frame received; the stream continues after it",
                    "schema": {"type": "string"},
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                },
                "CreateSwarm": {
                    "type": "object",
                    "required": ["directive"],
                    "additionalProperties": False,
                    "properties": {
                        "directive": {"type": "string"},
                        "context": {"type": "object", "additionalProperties": {"type": "string"}},
                        "limits": limits,
                        "models": {
                            "type": "object",
                            "description": (
                                "ModelSettings. base_url must be one of the endpoints the server was started with "
                                "(serve --base-url, and the environment's OPENAI_*/OPENROUTER_* endpoint; default: "
                                "the first), which come with their keys; key_env is refused (400)"
                            ),
                        },
                        "swarm_id": {"type": "string"},
                        "start": {"type": "boolean", "default": True},
                    },
                },
                "Answer": {
                    "type": "object",
                    "required": ["text"],
                    "additionalProperties": False,
                    "properties": {"text": {"type": "string"}},
                },
                "Approve": {
                    "type": "object",
                    "required": ["approve"],
                    "additionalProperties": False,
                    "properties": {"approve": {"type": "boolean"}},
                },
                "Resume": {"type": "object", "additionalProperties": False, "properties": {"limits": limits}},
                "Retry": {"type": "object", "additionalProperties": False, "properties": {"node": {"type": "string"}}},
                "Tree": {
                    "type": "object",
                    "properties": {
                        "swarm_id": {"type": "string"},
                        "frame": {"type": "integer"},
                        "status": {"type": "string"},
                        "usage": obj,
                        "nodes": {"type": "array", "items": obj},
                    },
                },
                "Frame": {
                    "type": "object",
                    "properties": {
                        "frame": {"type": "integer"},
                        "time": {"type": "number"},
                        "op": obj,
                        "nodes": {"type": "array"},
                    },
                },
            },
        },
    }
