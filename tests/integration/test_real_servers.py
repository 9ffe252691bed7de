"""The real-model tier against both real servers: llama-cpp-python and llama.cpp's ``llama-server``.

Nobody here wrote these servers, and users point the swarm at them first
(Ollama and LM Studio run llama.cpp too). Each test runs once per server
(the ``llama`` fixture, tests/conftest.py: one process per server per session,
SmolLM2-135M-Instruct, a free loopback port). A 135M model writes poor
answers; what must hold whatever it says (issue 21):

- every structured purpose's schema, as the client sends it, compiles (or is
  refused in words the client steps down on) and the server is alive after:
  llama-cpp-python 0.3.36 crashed on the review's grammar;
- every structured purpose parses or fails by name;
- a writing and a coding directive run to a named end within their limits,
  with no model named (the server's own is used and recorded), the swarm's
  tokens equal to what the server reported, and the server still alive.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import Swarm
from swarm_star.errors import ModelError
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.llm.client import parse_structured
from swarm_star.llm.grammar import format_refused
from swarm_star.models import ModelSettings
from swarm_star.testing.structured import STRUCTURED_CALLS, sent_response_formats
from tests.helpers.cli import cli
from tests.helpers.counting_proxy import CountingProxy
from tests.helpers.llama_server import MODEL_ALIAS

pytestmark = pytest.mark.real_model

CALL_TOKENS = "160"
MAX_CALLS, MAX_TIME = 10, 120  # a run's limits: the tier stays within minutes on 2 cores
MODE = {"llama-cpp-python": "json_object_schema", "llama-server": "json_schema"}  # what each one accepts


@pytest.fixture
def proxy(llama: Any) -> Iterator[CountingProxy]:
    counting = CountingProxy(llama.url)
    counting.start()
    try:
        yield counting
    finally:
        counting.stop()


def test_doctor_finds_the_servers_model_and_mode(llama: Any) -> None:
    code, out, err = cli("doctor", "--base-url", llama.url + "/v1", "--json")  # no --model: the server's own
    assert code == 0, out + err
    report = json.loads(out)
    assert report["model"] == MODEL_ALIAS and report["mode"] == MODE[llama.kind]
    assert report["streamed"] == (llama.kind == "llama-server")  # llama-cpp-python streams without usage
    assert llama.alive(), llama.why_dead()


def _post(url: str, body: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


async def test_every_structured_schema_compiles_and_the_server_lives(llama: Any) -> None:
    """The response format of every structured purpose, exactly as the client sends it at the
    purpose's own cap (captured at the scripted server), in both schema-carrying modes, with
    a 2-token reply: answered, or refused in words the client steps down on; never a crash."""
    answered: dict[str, int] = {}
    for mode in ("json_schema", "json_object_schema"):
        for purpose, fmt in await sent_response_formats(mode):
            body = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": "Reply."}], "max_tokens": 2}
            status, text = _post(llama.url + "/v1/chat/completions", {**body, "response_format": fmt})
            assert status == 200 or format_refused(status, text), (mode, purpose, status, text[:300])
            assert llama.alive(), f"{mode} {purpose} killed the server: {llama.why_dead()}"
            answered[mode] = answered.get(mode, 0) + (status == 200)
    assert answered["json_object_schema"] == len(STRUCTURED_CALLS)  # both compile every grammar
    assert answered.get("json_schema", 0) == (len(STRUCTURED_CALLS) if llama.kind == "llama-server" else 0)


async def test_every_structured_purpose_parses_or_fails_by_name(llama: Any, proxy: CountingProxy) -> None:
    settings = ModelSettings(base_url=proxy.base_url, default_model=MODEL_ALIAS, max_tokens=int(CALL_TOKENS))
    client = LLMClient(Endpoint(proxy.base_url, "no-key-needed", None), settings)
    task = "Write a Python function that adds two numbers."
    outcomes: dict[str, str] = {}
    used = 0
    try:
        for purpose, schema in STRUCTURED_CALLS:
            messages = [
                {"role": "system", "content": f"You help with this step: {purpose}."},
                {"role": "user", "content": f"Task: {task}"},
            ]
            try:
                result = await client.chat(messages, schema=schema, purpose=purpose)
            except ModelError as exc:
                assert str(exc) and type(exc).__name__ in ("ModelOutputError", "ModelError")
                outcomes[purpose] = f"{type(exc).__name__}: {exc}"
                used += exc.partial.usage.tokens  # type: ignore[attr-defined]
                continue
            parse_structured(result.text, schema)
            outcomes[purpose] = "parsed"
            used += result.usage.tokens
    finally:
        await client.aclose()
    print(llama.kind, json.dumps(outcomes, indent=1))
    assert len(outcomes) == len(STRUCTURED_CALLS)
    assert sum(v == "parsed" for v in outcomes.values()) >= len(outcomes) // 2, outcomes
    assert proxy.settled() and proxy.without_max_tokens == 0 and proxy.requests > 0
    assert used == proxy.tokens  # llama-cpp-python: its first (streamed) reply reported no tokens, on both sides
    assert llama.alive(), llama.why_dead()


@pytest.mark.parametrize(
    "directive",
    ["Write a haiku about the sea", "Write a Python function that tells whether a year is a leap year"],
    ids=["writing", "coding"],
)
def test_a_directive_runs_to_a_named_end_within_its_limits(
    llama: Any, proxy: CountingProxy, tmp_path: Path, directive: str
) -> None:
    started = time.monotonic()
    code, out, err = cli(
        "--space",
        str(tmp_path),
        "run",
        directive,
        "--base-url",
        proxy.base_url,  # no --model: the server serves one, and that is the name used and recorded
        "--max-call-tokens",
        CALL_TOKENS,
        "--max-calls",
        str(MAX_CALLS),
        "--max-time",
        str(MAX_TIME),
        "--no-input",
        "--json",
    )
    elapsed = time.monotonic() - started
    assert code in (0, 1, 3, 4, 7), err  # 7: finished, partial (issue 26): an end it names
    assert f"serves one model, {MODEL_ALIAS}; using it" in err
    result = json.loads(out)
    print(llama.kind, directive, json.dumps({k: result[k] for k in ("status", "reason", "usage")}), f"{elapsed:.1f} s")
    assert result["status"] in ("finished", "failed", "questions", "limit")
    assert result["reason"] or result["status"] == "finished"
    assert elapsed < MAX_TIME + 15
    assert result["usage"]["calls"] <= MAX_CALLS
    assert proxy.settled() and proxy.without_max_tokens == 0 and max(proxy.max_tokens_seen) <= int(CALL_TOKENS)
    assert result["usage"]["calls"] == proxy.requests  # every answered request counted, rejected ones too
    assert result["usage"]["prompt_tokens"] == proxy.prompt_tokens
    assert result["usage"]["completion_tokens"] == proxy.completion_tokens
    with Swarm.open(result["swarm_id"], space=tmp_path) as swarm:
        assert swarm.settings.models.default_model == MODEL_ALIAS
        # model calls (a journaled step such as "workspace start" is an llm_call frame with no attempts)
        llm_calls = [e.op for e in swarm.history() if e.op.kind == "llm_call" and e.op.attempt_log]
    assert llm_calls and {c.model for c in llm_calls} == {MODEL_ALIAS}
    assert all(c.max_tokens for c in llm_calls)
    assert {c.mode for c in llm_calls if c.mode != "text"} <= {"json_object_schema", "json_schema", "json_object"}
    assert all(sum(m["role"] == "system" for m in c.request) <= 1 for c in llm_calls)
    assert llama.alive(), llama.why_dead()


async def test_a_tool_step_negotiates_native_tools_and_is_remembered(llama: Any) -> None:
    """A tool step is sent with native ``tools`` first. Each server takes the parameter; SmolLM2
    answers it in words (llama-server renders the tool into its prompt; the model never calls
    it), so the client takes ``tools`` as unusable there, asks the step in the structured mode,
    and the next step is sent structured at once. A server whose model does call the tool keeps
    the native mode; either way the step parses as a ToolStep."""
    from swarm_star.prompts import Purpose
    from swarm_star.prompts import tools as words

    schema = {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}
    about = ("tell the time in UTC", "", "get_current_time", "The current time in a timezone.", schema, [], False)
    settings = ModelSettings(base_url=llama.url + "/v1", default_model=MODEL_ALIAS, max_tokens=int(CALL_TOKENS))
    client = LLMClient(Endpoint(llama.url + "/v1", "no-key-needed", None), settings)
    step = {"schema": words.ToolStep, "purpose": Purpose.TOOL_STEP}
    try:
        first = await client.chat(words.ToolTurn(*about).messages(), native=words.ToolTurn(*about).native(), **step)
        second = await client.chat(words.ToolTurn(*about).messages(), native=words.ToolTurn(*about).native(), **step)
    finally:
        await client.aclose()
    print(llama.kind, first.mode, [(a.mode, a.status, a.error) for a in first.attempt_log])
    parse_structured(first.text, words.ToolStep)
    parse_structured(second.text, words.ToolStep)
    assert first.attempt_log[0].mode == "tools" and first.attempt_log[0].status == 200  # the server took `tools`
    if first.mode == "tools":  # the model called it: native from then on
        assert client.native_tools(MODEL_ALIAS) and second.attempt_log[0].mode == "tools"
    else:  # it answered in words: remembered, the next step goes structured at once
        assert first.attempt_log[0].error == "tools ignored: the first step called nothing"
        assert not client.native_tools(MODEL_ALIAS) and second.attempt_log[0].mode != "tools"
    assert llama.alive(), llama.why_dead()
