"""Never send a grammar engine a schema it cannot compile; step down when one refuses anyway.

Bug (issue 21): the review's schema went to llama-cpp-python with ``maxLength``
1024 on its free-text fields; llama.cpp's converter writes that as 1024 nested
optional rules, the parser failed ("exceeds sane defaults … failed to parse
grammar") and the server process crashed. Measured on llama-cpp-python 0.3.36
with SmolLM2: a string with ``maxLength`` 1000 compiles, 1001 crashes the
server. These tests capture what the client really sends for every structured
purpose (at its own completion cap, in both schema-carrying modes) and check
every repetition bound; the real servers get the same bodies in
``tests/test_real_servers.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from swarm_star.llm.grammar import GRAMMAR_MAX_REPEAT, bounded_schema
from swarm_star.prompts import Purpose
from swarm_star.testing import Fault
from swarm_star.testing.openai_server import response_mode
from swarm_star.testing.scripted import ScriptedModel
from swarm_star.testing.structured import STRUCTURED_CALLS, sent_response_formats
from tests.helpers.model import client_for

CRASHED_AT = 1001  # llama-cpp-python 0.3.36: the smallest maxLength whose grammar killed the server


def repetition_bounds(node: Any) -> list[int]:
    """Every maxLength/minLength/maxItems/minItems in a schema."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("maxLength", "minLength", "maxItems", "minItems")]
        return found + [b for value in node.values() for b in repetition_bounds(value)]
    if isinstance(node, list):
        return [b for item in node for b in repetition_bounds(item)]
    return []


@pytest.mark.parametrize("mode", ["json_schema", "json_object_schema"])
async def test_no_structured_purpose_sends_a_bound_a_grammar_cannot_compile(mode: str) -> None:
    sent = await sent_response_formats(mode)
    assert {purpose for purpose, _ in sent} == {purpose for purpose, _ in STRUCTURED_CALLS}
    for purpose, fmt in sent:
        schema = fmt["json_schema"]["schema"] if mode == "json_schema" else fmt["schema"]
        bounds = repetition_bounds(schema)
        assert all(b <= GRAMMAR_MAX_REPEAT < CRASHED_AT for b in bounds), (purpose, bounds)


def test_small_caps_still_bound_free_text_and_large_ones_leave_it_to_the_token_cap() -> None:
    review = {
        "type": "object",
        "properties": {"report": {"type": "string"}, "notes": {"type": "array", "items": {"type": "string"}}},
    }
    small = bounded_schema(review, 96)  # a small model's cap: the grammar closes the string in time
    assert small["properties"]["report"]["maxLength"] == 96 * 2 // 5
    assert small["properties"]["notes"]["maxItems"] == 8
    large = bounded_schema(review, Purpose.REVIEW.max_tokens or 0)  # 1024: a share of 409 would not compile
    assert "maxLength" not in large["properties"]["report"]
    assert repetition_bounds(bounded_schema({"type": "array", "maxItems": 1000}, 64)) == []


@pytest.mark.parametrize("kind", ["grammar", "stream_grammar"])
async def test_a_grammar_the_server_cannot_parse_steps_down(model_server: Any, kind: str) -> None:
    """llama.cpp's words in a 500 ("failed to parse grammar") refuse the response format:
    the client steps down to plain json_object at once, instead of retrying the 500 five
    times and failing the plan ("Error code: 500" five times, issue 21)."""

    def responder(request: dict[str, Any]) -> Any:
        if response_mode(request) == "json_object_schema":
            return Fault(kind)
        return ScriptedModel()(request)

    server = model_server(responder, reject_formats={"json_schema": 400}, keep_log=True)
    client = client_for(server, max_retries=4)
    try:
        plan, schema = STRUCTURED_CALLS[0]
        result = await client.chat([{"role": "user", "content": "Task: plan a party"}], schema=schema, purpose=plan)
    finally:
        await client.aclose()
    assert [response_mode(r) for r in server.log] == ["json_schema", "json_object_schema", "json_object"]
    assert result.mode == "json_object" and client.mode_for(result.model) == "json_object"
    assert result.attempt_log[1].status == 500 and "grammar" in (result.attempt_log[1].error or "")
