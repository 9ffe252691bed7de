"""Every structured call the library makes: its purpose and the reply schema it asks for.

The grammar tests send each of these schemas, shaped as the client shapes it
for each structured-output mode, to the scripted server and to real servers
(llama-cpp-python, llama.cpp's ``llama-server``): a schema a grammar engine
cannot compile must never reach one (issue 21). Taken from where the actions
take them (``swarm_star.prompts``); the purposes give the completion caps.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel

from swarm_star import prompts
from swarm_star.errors import ModelError
from swarm_star.prompts import Purpose

__all__ = ["ROUTE_MENU", "STRUCTURED_CALLS", "sent_response_formats"]

ROUTE_MENU = ("answer", "code", "memory", "planning", "swarm")

STRUCTURED_CALLS: tuple[tuple[Purpose, type[BaseModel]], ...] = (
    (Purpose.PLAN, prompts.planning.Plan),
    (Purpose.REVIEW, prompts.review.Review),
    (Purpose.ROUTE, prompts.routing.choice_schema(ROUTE_MENU)),
    (Purpose.MEMORY_FOR_PROMPT, prompts.routing.choice_schema(ROUTE_MENU)),
    (Purpose.SPLIT_BATCH, prompts.swarm.ScatterPlan),
    (Purpose.PHRASE_QUESTION, prompts.worker.Question),
    (Purpose.FOLLOW_UP, prompts.worker.FollowUp),
    (Purpose.MEMORY_NOTE, prompts.worker.MemoryNote),
    (Purpose.UTIL_ARGS, prompts.worker.UtilArgs),
    (Purpose.WRITE_CODE, prompts.code.PythonFile),
    (Purpose.CREATE_ACTION, prompts.code.NewAction),
    (Purpose.VERIFY, prompts.verify.ResultVerdict),
)
"""(purpose, schema) of every structured call; a purpose's cap is ``purpose.max_tokens``
(plan again, route again, repair and fix code share a schema and cap with one listed)."""


async def sent_response_formats(mode: str) -> list[tuple[Purpose, dict[str, Any]]]:
    """The ``response_format`` the client sends for each structured call at its purpose's own
    cap, in ``mode`` (``json_schema`` or ``json_object_schema``), captured at the scripted
    server: what a real server would have to compile."""
    from swarm_star.llm import Endpoint, LLMClient
    from swarm_star.models import ModelSettings
    from swarm_star.testing.openai_server import LocalOpenAIServer, response_mode
    from swarm_star.testing.scripted import ScriptedModel

    reject = {"json_schema": 500} if mode == "json_object_schema" else {}
    server = LocalOpenAIServer(ScriptedModel(), reject_formats=reject, keep_log=True)
    server.start()
    client = LLMClient(Endpoint(server.base_url, "no-key-needed", None), ModelSettings(base_url=server.base_url))
    sent: list[tuple[Purpose, dict[str, Any]]] = []
    try:
        for purpose, schema in STRUCTURED_CALLS:
            server.log.clear()
            with contextlib.suppress(ModelError):
                await client.chat([{"role": "user", "content": "Task: capture"}], schema=schema, purpose=purpose)
            sent += [(purpose, r["response_format"]) for r in server.log if response_mode(r) == mode][:1]
    finally:
        await client.aclose()
        server.stop()
    return sent
