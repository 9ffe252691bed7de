"""The driving handlers (POST): create, answer, stop, resume, retry.

They run on the event loop that runs swarms (async), since they start and
stop runs there; store writes go to a worker thread. The rules (may it be
resumed, which nodes a retry re-opens) are the API's, called here, never
copied.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

import anyio
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from swarm_star.api import Swarm, rules
from swarm_star.errors import AlreadyRunning, InputError
from swarm_star.models import Limits, SwarmSettings, ToolSettings
from swarm_star.serve.hub import SwarmHub, hub_of, target
from swarm_star.serve.inputs import AnswerBody, CreateBody, ResumeBody, RetryBody, read_body, validation_message
from swarm_star.serve.openapi import operation

__all__ = ["answer_question", "create_swarm", "new_swarm", "resume_swarm", "retry_swarm", "stop_swarm"]

# Names are checked with fullmatch: `$` would admit a trailing newline.
CONTEXT_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


@operation(
    "Create a swarm and start it in the server",
    body=CreateBody,
    errors=[400, 409, 413],
    status=201,
    ok="created",
)
async def create_swarm(request: Request) -> JSONResponse:
    hub = hub_of(request)
    body: CreateBody = await read_body(request, CreateBody)
    swarm_id = await new_swarm(hub, body)
    if body.start:
        hub.start(swarm_id, Swarm.run)
    return JSONResponse({"swarm_id": swarm_id, "running": body.start}, status_code=201)


async def new_swarm(hub: SwarmHub, body: CreateBody) -> str:
    """Create the swarm ``body`` describes (not started); its id. Also Ai3's ``POST /run``'s first step."""
    env = hub.env
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
                pattern=body.pattern,
            )
        )
    swarm.close()
    return swarm.id


@operation(
    "Answer a question (a running swarm picks it up at once; else on resume)",
    body=AnswerBody,
    errors=[400, 404, 413],
)
async def answer_question(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    question_id = request.path_params["question_id"]
    body: AnswerBody = await read_body(request, AnswerBody)

    def record() -> None:
        with Swarm.open(swarm_id, space=hub.space, backend=hub.backend, user_id=hub.user_id, env=hub.env) as swarm:
            swarm.answer(question_id, body.text)

    await anyio.to_thread.run_sync(record)
    hub.wake(swarm_id)  # a run of this server picks the inbox up now, not at the next poll
    return JSONResponse({"question_id": question_id, "queued": True, "running": hub.is_running_here(swarm_id)})


@operation("Stop a swarm this server runs (state saved)", errors=[404, 409])
async def stop_swarm(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    hub.reader(swarm_id)  # 404 for an unknown swarm
    await hub.stop(swarm_id)
    return JSONResponse({"swarm_id": swarm_id, "running": False})


@operation("Resume in this server, optionally with raised limits", body=ResumeBody, errors=[400, 404, 409])
async def resume_swarm(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    body: ResumeBody = await read_body(request, ResumeBody)
    log = hub.reader(swarm_id)
    meta = log.read_meta() or {}
    limits = None
    if body.limits:
        try:
            limits = Limits.model_validate({**(meta.get("limits") or {}), **body.limits})
        except ValidationError as exc:
            raise InputError(validation_message(exc).replace("invalid request", "invalid limit")) from exc
    rules.check_resumable(swarm_id, rules.stored_nodes(log))  # the swarm's state first, then its endpoint
    hub.start(swarm_id, lambda swarm, options: swarm.resume(replace(options, limits=limits)))
    return JSONResponse({"swarm_id": swarm_id, "running": True})


@operation("Re-run failed nodes (one, or all) and resume", body=RetryBody, errors=[400, 404, 409])
async def retry_swarm(request: Request) -> JSONResponse:
    hub, swarm_id = target(request)
    body: RetryBody = await read_body(request, RetryBody)
    if hub.is_running_here(swarm_id):  # (a swarm running here exists: no 404 is skipped)
        raise AlreadyRunning(f"swarm {swarm_id} is running; stop it before retrying failed nodes")
    stored = rules.stored_nodes(hub.reader(swarm_id))
    rules.retry_plan(swarm_id, stored, body.node)  # nothing to retry: before the endpoint
    handle = hub.start(swarm_id, lambda swarm, options: swarm.retry(body.node, options))
    return JSONResponse({"swarm_id": swarm_id, "retried": list(handle.retried), "running": True})
