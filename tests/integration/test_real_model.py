"""The real-model tier: Swarm Star against ``llama_cpp.server`` running SmolLM2-135M-Instruct.

What must hold against each real server (llama-cpp-python and llama.cpp's
``llama-server``) is in ``tests/test_real_servers.py``: every structured schema
compiles and the server lives, every structured purpose parses or fails by
name, a writing and a coding directive run to a named end within their limits,
the recorded model is the server's and the swarm's tokens are the server's.
Here: ``fanout`` and the hard ``--max-time`` against llama-cpp-python, and the
fixtures the other real-model modules use (``smollm2``: that server's root URL;
``proxy``: a counting proxy in front of it).

The servers run from ``.venv-model`` (built by ``.ci/install-model-servers``, which ``.ci/run``
calls), or from the Python named by ``SWARM_STAR_MODEL_PYTHON``. Selected with ``-m real_model``;
under ``CI=true`` a missing server is a failure, locally a skip.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import ModelSettings
from tests.conftest import tier_unavailable
from tests.helpers.cli import cli
from tests.helpers.counting_proxy import CountingProxy
from tests.helpers.llama_server import MODEL_ALIAS, ModelServerUnavailable

pytestmark = pytest.mark.real_model


@pytest.fixture
def smollm2(model_servers: Any) -> str:
    """``llama_cpp.server`` with SmolLM2 on a free loopback port (one per session); its root URL."""
    # Only selected runs get here: the default `addopts` deselects the real_model marker.
    try:
        return str(model_servers.get("llama-cpp-python").url)
    except ModelServerUnavailable as exc:
        tier_unavailable(str(exc))
        raise


@pytest.fixture
def proxy(smollm2: str) -> Iterator[CountingProxy]:
    counting = CountingProxy(smollm2)
    counting.start()
    try:
        yield counting
    finally:
        counting.stop()


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
