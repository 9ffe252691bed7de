"""The OpenAPI 3.1 description of the HTTP API, generated from the routes and the request models.

Starlette has no generator, and a hand-kept description drifts. Here each
handler declares its :class:`Operation` with :func:`operation` (summary,
request body model, query parameters, errors, response), right where it is
written; :func:`openapi_document` walks the app's routes and builds the
description from those declarations: paths and methods from the routes,
path parameters from the route's path, body schemas from the pydantic
models (the ones the handler validates with), query parameters from the
objects the handler reads them through (:mod:`.inputs`). A route whose
handler declares nothing is still listed, with a summary from its docstring;
a test requires every route to declare one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.convertors import FloatConvertor, IntegerConvertor
from starlette.routing import BaseRoute, Route

from swarm_star.serve.inputs import Param

__all__ = ["JSON_LIST", "JSON_OBJECT", "Operation", "openapi_document", "operation", "operation_of"]

JSON_OBJECT: dict[str, Any] = {"type": "object"}
JSON_LIST: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
ERROR_TEXT = {
    400: "bad input, or an unknown frame or node (the CLI's one-line message)",
    401: "missing or wrong token",
    403: "a change requested from another web origin, or a non-loopback Host without a token",
    404: "unknown swarm or question",
    409: "conflict: running, not running, or run by another process",
    413: "request body too large",
    503: "the store is locked or unreachable",
}
PATH_PARAMS = {
    "swarm_id": "swarm id",
    "node_id": "node id such as 0.1.2",
    "question_id": "question id",
    "frame": "frame number",
    "names": "whose event names: ai3 or geepers",
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
}
_ATTRIBUTE = "openapi_operation"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    """What one handler documents about itself.

    ``returns``: the JSON schema of a JSON response (default: an object), or a
    pydantic model (its serialization schema); ``media``: the content of a non-JSON response
    instead (media type -> schema). ``errors``: the statuses it may answer
    besides 401/403, which every non-``public`` route may (token, origin).
    """

    summary: str
    description: str | None = None
    body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    status: int = 200
    ok: str = "OK"
    returns: Mapping[str, Any] | type[BaseModel] | None = None
    media: Mapping[str, Mapping[str, Any]] | None = None
    public: bool = False


def operation(
    summary: str,
    *,
    description: str | None = None,
    body: type[BaseModel] | None = None,
    params: Sequence[Param] = (),
    errors: Sequence[int] = (),
    status: int = 200,
    ok: str = "OK",
    returns: Mapping[str, Any] | type[BaseModel] | None = None,
    media: Mapping[str, Mapping[str, Any]] | None = None,
    public: bool = False,
) -> Callable[[F], F]:
    """Declare a handler's :class:`Operation` (the handler itself is returned unchanged)."""
    declared = Operation(summary, description, body, tuple(params), tuple(errors), status, ok, returns, media, public)

    def attach(handler: F) -> F:
        setattr(handler, _ATTRIBUTE, declared)
        return handler

    return attach


def operation_of(handler: Callable[..., Any]) -> Operation | None:
    """The operation ``handler`` declared with :func:`operation`, if any."""
    declared = getattr(handler, _ATTRIBUTE, None)
    return declared if isinstance(declared, Operation) else None


def _fallback(handler: Callable[..., Any]) -> Operation:
    """A route whose handler declares nothing: listed with its docstring's first line."""
    doc = inspect.getdoc(handler) or str(getattr(handler, "__name__", "undocumented"))
    return Operation(summary=doc.splitlines()[0])


def routed_operations(routes: Sequence[BaseRoute]) -> list[tuple[str, str, Route, Operation]]:
    """``(openapi path, method, route, operation)`` for every method of every route (HEAD,
    which Starlette adds to GET, left out); mounts (static files) are not API routes."""
    out = []
    for route in routes:
        if not isinstance(route, Route):
            continue
        path = _openapi_path(route)
        declared = operation_of(route.endpoint) or _fallback(route.endpoint)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((path, method.lower(), route, declared))
    return out


def _openapi_path(route: Route) -> str:
    """``/frames/{frame:int}`` -> ``/frames/{frame}``."""
    path = route.path
    for name in route.param_convertors:
        start = path.find("{" + name + ":")
        if start >= 0:
            path = path[:start] + "{" + name + "}" + path[path.index("}", start) + 1 :]
    return path


def _path_params(route: Route) -> list[dict[str, Any]]:
    params = []
    for name, convertor in route.param_convertors.items():
        schema: dict[str, Any] = {"type": "string"}
        if isinstance(convertor, IntegerConvertor):
            schema = {"type": "integer", "minimum": 0}
        elif isinstance(convertor, FloatConvertor):
            schema = {"type": "number"}
        params.append(
            {"name": name, "in": "path", "required": True, "description": PATH_PARAMS.get(name, name), "schema": schema}
        )
    return params


def _share(param: dict[str, Any], shared: dict[str, dict[str, Any]]) -> str:
    key = f"{param['in']}.{param['name']}"
    if shared.setdefault(key, param) != param:
        raise ValueError(f"two routes describe the {param['in']} parameter {param['name']!r} differently")
    return key


def _json(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": dict(schema)}}}


def _operation(
    route: Route,
    declared: Operation,
    refs: Mapping[Any, Any],
    shared: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """One operation; its parameters go to ``shared`` (components/parameters, keyed
    ``in.name``) and the operation refers to them."""
    op: dict[str, Any] = {"summary": declared.summary}
    if declared.description:
        op["description"] = declared.description
    params = _path_params(route) + [
        {"name": p.name, "in": p.where, "required": False, "description": p.description, "schema": p.schema()}
        for p in declared.params
    ]
    if params:
        op["parameters"] = [{"$ref": f"#/components/parameters/{_share(param, shared)}"} for param in params]
    if declared.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(declared.body, "validation")]}},
        }
    if declared.media is not None:
        ok: dict[str, Any] = {
            "description": declared.ok,
            "content": {media: {"schema": dict(schema)} for media, schema in declared.media.items()},
        }
    elif isinstance(declared.returns, type):
        ok = _json(refs[(declared.returns, "serialization")], declared.ok)
    else:
        ok = _json(declared.returns or JSON_OBJECT, declared.ok)
    errors = sorted(set(declared.errors) | (set() if declared.public else {401, 403}))
    op["responses"] = {str(declared.status): ok, **{str(c): _json(_ERROR_REF, ERROR_TEXT[c]) for c in errors}}
    return op


def openapi_document(routes: Sequence[BaseRoute] | None = None) -> dict[str, Any]:
    """The whole description of ``routes`` (default: the app's own), as a JSON-ready dict."""
    if routes is None:
        from swarm_star.serve.app import routes as app_routes

        routes = app_routes()
    operations = routed_operations(routes)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for _, _, _, declared in operations:
        if declared.body is not None:
            models.append((declared.body, "validation"))
        if isinstance(declared.returns, type):
            models.append((declared.returns, "serialization"))
    refs, defs = models_json_schema(list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    parameters: dict[str, dict[str, Any]] = {}
    for path, method, route, declared in operations:
        paths.setdefault(path, {})[method] = _operation(route, declared, refs, parameters)
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
            "parameters": dict(sorted(parameters.items())),
            "schemas": {"Error": _ERROR_SCHEMA, **defs.get("$defs", {})},
        },
    }
