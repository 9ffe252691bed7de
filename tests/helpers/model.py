"""Helpers to point the real openai client at the local test server."""

from __future__ import annotations

import openai  # noqa: F401  (the library imports it lazily; load it here so timed tests don't time the import)

from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import ModelSettings
from swarm_star.testing import LocalOpenAIServer

TEST_KEY = "sk-test-DO-NOT-STORE-4242"


def client_for(server: LocalOpenAIServer, **settings: object) -> LLMClient:
    """A client for a scripted loopback server; unlike a real local model it serves
    many requests at once, so the loopback concurrency default (4) is lifted."""
    settings.setdefault("concurrency", 64)
    ms = ModelSettings(base_url=server.base_url, **settings)  # type: ignore[arg-type]
    return LLMClient(Endpoint(server.base_url, TEST_KEY, None), ms)
