"""Approvals over HTTP: the tool calls waiting for the user, and approving or denying one.

``GET /api/swarms/{id}/approvals`` lists them (the exact call is in the text);
``POST /api/swarms/{id}/approvals/{question_id}`` with ``{"approve": true|false}``
approves or denies one. An approval is a question of its node, so answering it
through ``/questions/{id}/answer`` works too; these routes check that the
question is an approval and take a yes/no instead of free text. Registered in
:func:`swarm_star.serve.app.create_app` by :func:`approval_routes`.
"""

from __future__ import annotations

import anyio
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from swarm_star.api import Swarm
from swarm_star.api.tools import split_questions
from swarm_star.serve.hub import target
from swarm_star.serve.inputs import read_body
from swarm_star.serve.openapi import operation

__all__ = ["ApproveBody", "approval_routes"]


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool


@operation("Tool calls waiting for the user's approval (the text names the exact call)", errors=[404])
def get_approvals(request: Request) -> JSONResponse:
    hub = request.app.state.hub
    swarm_id = request.path_params["swarm_id"]
    _, pending = split_questions(hub.pending_questions(swarm_id))
    return JSONResponse([{"id": q.id, "node": n.id, "text": q.text, "directive": n.directive} for n, q in pending])


@operation("Approve (run it) or deny a pending tool call", body=ApproveBody, errors=[400, 404, 413])
async def post_approval(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    question_id = request.path_params["question_id"]
    body: ApproveBody = await read_body(request, ApproveBody)
    hub.reader(swarm_id)  # 404 for an unknown swarm

    def record() -> None:
        with Swarm.open(swarm_id, space=hub.space, backend=hub.backend, user_id=hub.user_id, env=hub.env) as swarm:
            swarm.approve(question_id, body.approve)

    await anyio.to_thread.run_sync(record)
    hub.wake(swarm_id)
    return JSONResponse(
        {"question_id": question_id, "approved": body.approve, "running": hub.is_running_here(swarm_id)}
    )


def approval_routes(prefix: str) -> list[Route]:
    """The routes, under ``prefix`` (``/api/swarms/{swarm_id}``)."""
    return [
        Route(prefix + "/approvals", get_approvals, methods=["GET"]),
        Route(prefix + "/approvals/{question_id}", post_approval, methods=["POST"]),
    ]
