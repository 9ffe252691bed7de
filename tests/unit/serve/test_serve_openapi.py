"""The OpenAPI description is generated from the app's routes and the request models it validates.

Checked against what the server does, not against a copy: every route is
documented (by a declaration of its own), every documented path and method
is routed, each documented body is the model its handler validates with (a
field the model lacks is refused), and each documented parameter is one its
handler reads (a bad value is refused, naming it).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from swarm_star.api import Swarm
from swarm_star.serve import create_app
from swarm_star.serve.openapi import openapi_document, operation, operation_of
from tests.helpers.model import TEST_KEY

ENV = {"OPENAI_API_KEY": TEST_KEY}


def _served(routes: list[Any]) -> set[tuple[str, str]]:
    """(path, method) of every route the app answers, HEAD aside, ``{frame:int}`` as ``{frame}``."""
    served = set()
    for route in routes:
        if isinstance(route, Route):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            served |= {(path, m.lower()) for m in route.methods or () if m != "HEAD"}
    return served


def _described(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in doc["paths"].items() for method in ops}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    Swarm.create("read a book", space=tmp_path, swarm_id="s1", env=ENV).close()
    app = create_app(space=tmp_path, env=ENV)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c
    await app.state.hub.shutdown()


async def test_every_route_is_documented_and_every_documented_path_is_routed(client: httpx.AsyncClient) -> None:
    routes = client.app.routes  # type: ignore[attr-defined]
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert _served(routes) == _described(doc)
    # 16 + 2 approval routes + fork, timeline, in flight + favicon + Ai3's /run, /stream/run, seed-named events
    assert len(_described(doc)) == 25
    undeclared = [r.path for r in routes if isinstance(r, Route) and operation_of(r.endpoint) is None]
    assert undeclared == []  # each handler declares its summary, parameters, body and errors
    others = [r.path for r in routes if not isinstance(r, Route)]
    assert others == ["/api/swarms/{swarm_id}/ws", "/static"]  # the WebSocket (README); files, not API
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (path, method)
            names = {
                doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]]["name"] for p in op.get("parameters", ())
            }
            assert set(re.findall(r"\{(\w+)\}", path)) <= names, (path, method)  # path parameters come from the path
            if path.startswith("/api/"):
                assert {"401", "403"} <= set(op["responses"]), (path, method)


async def test_a_route_added_to_the_app_is_in_its_document(tmp_path: Path) -> None:
    """The description is built from the app's routes as they are, so a route another part
    adds (the approval endpoints to come) is documented with it; one that declares
    nothing is listed with its docstring's first line."""

    @operation("Approve a tool call", errors=[404])
    async def approve(request: Request) -> JSONResponse:
        return JSONResponse({})

    async def plain(request: Request) -> JSONResponse:
        """Something undeclared.

        More words."""
        return JSONResponse({})

    app = create_app(space=tmp_path, env=ENV)
    app.router.routes.append(Route("/api/swarms/{swarm_id}/approvals/{call_id}", approve, methods=["POST"]))
    app.router.routes.append(Route("/api/plain", plain))
    doc = openapi_document(app.routes)
    assert _served(app.routes) == _described(doc)
    added = doc["paths"]["/api/swarms/{swarm_id}/approvals/{call_id}"]["post"]
    assert added["summary"] == "Approve a tool call"
    assert set(added["responses"]) == {"200", "401", "403", "404"}
    assert doc["paths"]["/api/plain"]["get"]["summary"] == "Something undeclared."
    await app.state.hub.shutdown()


async def test_documented_bodies_are_the_models_the_handlers_validate(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    bodies = {
        (path, method): op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "requestBody" in op
    }
    assert set(bodies) == {
        ("/api/swarms", "post"),
        ("/api/swarms/{swarm_id}/questions/{question_id}/answer", "post"),
        ("/api/swarms/{swarm_id}/resume", "post"),
        ("/api/swarms/{swarm_id}/retry", "post"),
        ("/api/swarms/{swarm_id}/approvals/{question_id}", "post"),
        ("/api/swarms/{swarm_id}/fork", "post"),
        ("/run", "post"),
        ("/stream/run", "post"),
    }
    fields = {"directive", "context", "limits", "models", "swarm_id", "start", "pattern"}
    assert set(schemas["CreateBody"]["properties"]) == fields
    assert schemas["CreateBody"]["required"] == ["directive"]
    assert "key_env is refused" in schemas["CreateBody"]["properties"]["models"]["description"]
    assert set(schemas["Limits"]["properties"]) >= {"max_depth", "max_nodes", "max_cost", "max_time"}
    for (path, _), name in bodies.items():
        schema = schemas[name]
        assert schema["additionalProperties"] is False, name
        url = path.format(swarm_id="s1", question_id="0-q0")
        # the documented required fields, and one the documented model lacks: the handler's
        # own validation refuses exactly that one, naming it
        sample = {"boolean": True, "string": "x", "integer": 0}
        required = {
            field: sample[schema["properties"][field].get("type", "string")] for field in schema.get("required", ())
        }
        body = {**required, "undocumented_field": 1}
        response = await client.post(url, json=body)
        assert response.status_code == 400, (url, response.text)
        assert "undocumented_field" in response.json()["error"], response.text


async def test_documented_parameters_are_read_by_their_handlers(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    shared = doc["components"]["parameters"]
    checked = []
    for path, ops in doc["paths"].items():
        if "get" not in ops or "{swarm_id}" not in path or "{frame}" in path or "{node_id}" in path:
            continue
        url = path.format(swarm_id="s1", names="geepers")
        for ref in ops["get"].get("parameters", ()):
            param = shared[ref["$ref"].rsplit("/", 1)[-1]]
            schema = param["schema"]
            if param["in"] == "header":
                response = await client.get(url, headers={param["name"]: "x"})
            elif schema["type"] == "integer" or "enum" in schema:
                response = await client.get(url, params={param["name"]: "x"})
            else:
                continue  # free text (a node id, kinds): any value is a valid filter
            assert response.status_code == 400, (url, param["name"], response.text)
            assert param["name"] in response.json()["error"], (url, param["name"], response.text)
            checked.append(param["name"])
    expected = ["Last-Event-ID", "download", "follow", "follow", "format", "frame", "from", "from", "limit", "start"]
    assert sorted(checked) == expected  # follow and from twice: /events and /events/{names}
