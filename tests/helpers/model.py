"""Helpers to point the real openai client at the local test server."""

from __future__ import annotations

from typing import Any

import openai  # noqa: F401  (the library imports it lazily; load it here so timed tests don't time the import)

from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import ModelSettings
from swarm_star.testing import LocalOpenAIServer

TEST_KEY = "sk-test-DO-NOT-STORE-4242"


def client_for(server: LocalOpenAIServer, **settings: object) -> LLMClient:
    """A client for a scripted loopback server. Unlike a real local model it serves
    many requests at once and a timeout there is an injected fault, so the loopback
    defaults (1 request in flight, timed-out requests not retried) are lifted."""
    settings.setdefault("concurrency", 64)
    settings.setdefault("retry_timeouts", True)
    ms = ModelSettings(base_url=server.base_url, **settings)  # type: ignore[arg-type]
    return LLMClient(Endpoint(server.base_url, TEST_KEY, None), ms)


async def run_swarm(swarm: Any, server: LocalOpenAIServer, **options: Any) -> Any:
    """Run ``swarm`` once against a scripted server (``RunOptions(**options)``); the outcome."""
    from swarm_star.api import RunOptions

    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm, **options))
    finally:
        await llm.aclose()
