"""The native Anthropic path: the real ``anthropic`` SDK against a local scripted Messages API server.

Structured output through a forced tool call (and the step down to JSON in the prompt when a
server ignores or refuses tools), the system prompt as a cached block, usage with cache reads,
Anthropic's error types and ``retry-after``, the key sent by the SDK and never in an error.
(The same path against llama.cpp's real ``/v1/messages`` is in ``test_anthropic_real_model.py``.)
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from swarm_star import prompts
from swarm_star.api import RunOptions, Swarm
from swarm_star.errors import ModelError, ModelUnreachable
from swarm_star.llm.anthropic_client import AnthropicClient
from swarm_star.llm.endpoint import Endpoint
from swarm_star.llm.routing import ModelRouter
from swarm_star.models import ModelSettings
from swarm_star.models.providers import ProviderSettings
from swarm_star.prompts.labels import stable_end
from swarm_star.testing import Fault, Reply
from swarm_star.testing.anthropic_server import LocalAnthropicServer
from swarm_star.testing.scripted import ScriptedModel

KEY = "sk-ant-test-DO-NOT-LEAK-9876"


class Probe(BaseModel):
    """A probe's reply."""

    ok: bool
    word: str


def respond(request: dict) -> Reply:  # type: ignore[type-arg]
    if request.get("response_format") or "Probe" in str(request["messages"]):
        return Reply({"ok": True, "word": "ready"}, prompt_tokens=40, completion_tokens=7)
    return Reply("plain text", prompt_tokens=30, completion_tokens=3)


MESSAGES = [
    {"role": "system", "content": "You are a probe."},
    {"role": "user", "content": "Reply ok and ready."},
]


def client_for(server: LocalAnthropicServer, **settings: object) -> AnthropicClient:
    settings.setdefault("max_retries", 2)
    return AnthropicClient(Endpoint(server.base_url, KEY, None), ModelSettings(**settings))  # type: ignore[arg-type]


async def test_structured_output_by_a_forced_tool_and_usage_with_cache_reads() -> None:
    with LocalAnthropicServer(respond, cache_read=32) as server:
        client = client_for(server)
        try:
            result = await client.chat(MESSAGES, schema=Probe, model="claude-test", temperature=0.2, max_tokens=64)
        finally:
            await client.aclose()
    assert Probe.model_validate_json(result.text) == Probe(ok=True, word="ready")
    assert result.mode == "tool" and result.attempts == 1 and result.finish_reason == "tool_calls"
    sent = server.log[0]
    assert sent["tool_choice"] == {"type": "tool", "name": "Probe"}
    assert sent["tools"][0]["input_schema"]["required"] == ["ok", "word"]
    assert sent["system"] == [{"type": "text", "text": "You are a probe.", "cache_control": {"type": "ephemeral"}}]
    assert sent["messages"] == [{"role": "user", "content": "Reply ok and ready."}]
    assert sent["max_tokens"] == 64 and sent["temperature"] == 0.2
    # every prompt token counted (8 fresh + 32 read from the cache), the cached ones said so
    assert (result.usage.prompt_tokens, result.usage.cached_tokens, result.usage.completion_tokens) == (40, 32, 7)
    assert result.usage.calls == 1
    # the key was sent (the SDK picks the header: x-api-key, or a bearer token in newer releases)
    assert KEY in server.api_keys[0] + server.authorizations[0]


async def test_a_server_that_ignores_forced_tools_is_stepped_down_to_json_and_remembered() -> None:
    with LocalAnthropicServer(respond, ignore_tools=True) as server:
        client = client_for(server)
        try:
            first = await client.chat(MESSAGES, schema=Probe, model="local-model")
            second = await client.chat(MESSAGES, schema=Probe, model="local-model")
        finally:
            await client.aclose()
    assert first.mode == "json" and [a.mode for a in first.attempt_log] == ["tool", "json"]
    assert first.attempt_log[0].error == "no tool call: forced tool use not honoured"
    assert first.usage.calls == 2  # the ignored attempt was answered, so it is counted
    assert second.mode == "json" and second.attempts == 1  # remembered: no tool request again
    assert "tools" not in server.log[-1] and "Reply with only a JSON object" in server.log[-1]["system"][0]["text"]


async def test_a_server_that_refuses_tools_with_400_is_stepped_down() -> None:
    with LocalAnthropicServer(respond, reject_tools=True) as server:
        client = client_for(server)
        try:
            result = await client.chat(MESSAGES, schema=Probe, model="m")
        finally:
            await client.aclose()
    assert result.mode == "json" and result.attempt_log[0].status == 400
    assert Probe.model_validate_json(result.text).word == "ready"


async def test_rate_limits_and_overload_are_retried_honouring_retry_after() -> None:
    faults = [Fault("429", retry_after=0.4), Fault("529")]
    with LocalAnthropicServer(respond, faults=faults) as server:
        client = client_for(server)
        started = time.perf_counter()
        try:
            result = await client.chat(MESSAGES, model="m")
        finally:
            await client.aclose()
    assert time.perf_counter() - started >= 0.4
    assert result.text == "plain text" and result.attempts == 3
    assert result.attempt_log[0].status == 429 and result.attempt_log[0].error.startswith("rate_limit_error")
    assert result.attempt_log[1].status == 529 and result.attempt_log[1].error.startswith("overloaded_error")
    assert result.usage.calls == 3


async def test_an_authentication_error_fails_at_once_and_keeps_no_key() -> None:
    with LocalAnthropicServer(respond, faults=[Fault("401")]) as server:
        client = client_for(server)
        try:
            with pytest.raises(ModelError) as caught:
                await client.chat(MESSAGES, model="m")
        finally:
            await client.aclose()
    assert "authentication_error" in str(caught.value) and KEY not in str(caught.value)
    assert server.requests == 1
    assert caught.value.partial.usage.calls == 1  # type: ignore[attr-defined]


async def test_connection_refused_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = AnthropicClient(Endpoint(f"http://127.0.0.1:{port}", KEY, None), ModelSettings(max_retries=1))
    try:
        with pytest.raises(ModelUnreachable, match="connection refused"):
            await client.chat(MESSAGES, model="m")
    finally:
        await client.aclose()


def test_the_stable_part_of_a_user_message_ends_at_the_first_subject_label() -> None:
    briefing = prompts.briefing.briefing_block(["the goal", "a part"], "", "")
    [_, user] = prompts.worker.answer_messages("say hi", briefing, [])
    assert user["content"][: stable_end(user["content"])] == briefing
    assert stable_end(prompts.worker.answer_messages("say hi", "", [])[1]["content"]) == 0  # nothing shared
    quoting = "Where this task comes from:\n1. run this\n\nTask: x\n\nTask: the part"
    assert stable_end(quoting) == quoting.index("\n\nTask: x")  # the first label: cache less, never write more


async def test_siblings_share_a_cached_briefing_block_on_the_native_path(tmp_path: Path) -> None:
    """Issue 25: besides the system block, the first user message is cut after the briefing and that
    block marked for the cache, so two parts of one plan send the same marked block."""
    script = ScriptedModel(plans={"greetings": ["say hello", "say bye"]})
    with LocalAnthropicServer(script) as server:
        models = ModelSettings(
            default_model="anthropic:claude-test",
            providers={"anthropic": ProviderSettings(base_url=server.base_url, key_env="TEST_ANTHROPIC_KEY")},
        )
        client = ModelRouter(models, {"TEST_ANTHROPIC_KEY": KEY})
        swarm = Swarm.create("write the greetings", space=tmp_path)
        try:
            outcome = await swarm.run(RunOptions(llm=client, poll_interval=0.05))
        finally:
            await client.aclose()
            swarm.close()
    assert outcome.status == "finished"
    answers = [b for b in server.log if "tools" not in b]
    assert len(answers) == 2
    firsts = [b["messages"][0]["content"] for b in answers]
    for blocks in firsts:
        stable, task = blocks
        assert stable["cache_control"] == {"type": "ephemeral"} and "cache_control" not in task
        assert stable["text"].startswith("Where this task comes from") and task["text"].startswith("\n\nTask: say ")
    assert firsts[0][0] == firsts[1][0] and firsts[0][1] != firsts[1][1]
