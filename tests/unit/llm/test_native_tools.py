"""Native function calling for tool steps: used where the endpoint takes ``tools``, remembered
when it does not (refused, or ignored on the first step), the structured-output mode then."""

from __future__ import annotations

import json
from typing import Any

import pytest

from swarm_star.llm.client import parse_structured
from swarm_star.prompts import Purpose
from swarm_star.prompts import tools as words
from swarm_star.testing.openai_server import Reply
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for

SCHEMA = {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}


def _step(steps: list[tuple[dict[str, Any], str]], last: bool = False) -> dict[str, Any]:
    about = ("Task: tell the time in UTC", "", "get_current_time", "The time in a zone.", SCHEMA, steps, last)
    return {
        "messages": words.ToolTurn(*about).messages(),
        "schema": words.ToolStep,
        "native": words.ToolTurn(*about).native(),
        "purpose": Purpose.TOOL_STEP,
    }


def _model() -> ScriptedModel:
    return ScriptedModel(tool_calls={"time in": [{"timezone": "UTC"}]})


@pytest.mark.parametrize("streams", [True, False])
async def test_an_endpoint_with_tools_gets_native_calls(model_server: Any, streams: bool) -> None:
    server = model_server(_model(), keep_log=True, streams=streams)
    client = client_for(server)
    try:
        first = await client.chat(**_step([]))
        after = await client.chat(**_step([({"timezone": "UTC"}, '{"datetime": "12:00"}')]))
    finally:
        await client.aclose()
    assert first.mode == after.mode == "tools"
    step = parse_structured(first.text, words.ToolStep)
    assert step.call and json.loads(step.arguments) == {"timezone": "UTC"}  # streamed in pieces, put together
    report = parse_structured(after.text, words.ToolStep)
    assert not report.call and '"datetime": "12:00"' in report.report
    sent = server.log[1]
    assert sent["tools"][0]["function"]["name"] == "get_current_time" and "response_format" not in sent
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool"]
    assert sent["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"timezone": "UTC"}'
    assert first.messages[2:] == [] and isinstance(after.messages[2]["tool_calls"], str)  # the record: text only


async def test_an_endpoint_without_tools_is_asked_structured_and_remembered(model_server: Any) -> None:
    server = model_server(_model(), keep_log=True, tools=False)
    client = client_for(server)
    try:
        first = await client.chat(**_step([]))
        second = await client.chat(**_step([]))
    finally:
        await client.aclose()
    assert first.mode == second.mode == "json_schema" and first.attempts == 2  # the refused attempt counted
    assert parse_structured(second.text, words.ToolStep).call
    assert ["tools" in r for r in server.log] == [True, False, False]  # refused once, then never sent again
    assert not client.native_tools(client.model_for("worker"))


async def test_an_endpoint_that_ignores_tools_is_asked_structured(model_server: Any) -> None:
    """A server that drops ``tools`` answers the first step with text: taken as no support."""
    scripted = _model()

    def ignoring(request: dict[str, Any]) -> Any:
        if request.get("tools"):
            return Reply("It is noon.")  # what a server that never showed the model the tool says
        return scripted(request)

    server = model_server(ignoring, keep_log=True)
    client = client_for(server)
    try:
        result = await client.chat(**_step([]))
    finally:
        await client.aclose()
    assert result.mode == "json_schema" and parse_structured(result.text, words.ToolStep).call
    assert ["tools" in r for r in server.log] == [True, False]
    assert result.attempt_log[0].error == "tools ignored: the first step called nothing"


async def test_the_last_step_forbids_calls(model_server: Any) -> None:
    server = model_server(_model(), keep_log=True)
    client = client_for(server)
    try:
        result = await client.chat(**_step([], last=True))
    finally:
        await client.aclose()
    assert server.log[0]["tool_choice"] == "none" and result.mode == "tools"
    assert not parse_structured(result.text, words.ToolStep).call
