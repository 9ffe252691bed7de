from __future__ import annotations

from pathlib import Path

import pytest

from swarm_star.api import Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import ModelSettings
from swarm_star.testing import LocalOpenAIServer
from swarm_star.testing.scripted import ScriptedModel


@pytest.fixture
def model_server():
    servers = []

    def start(responder, **kw):
        server = LocalOpenAIServer(responder, **kw)
        server.start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


def client_for(server: LocalOpenAIServer, **settings) -> LLMClient:
    ms = ModelSettings(base_url=server.base_url, **settings)
    return LLMClient(Endpoint(server.base_url, "sk-test-secret-123", None), ms)


async def test_simple_swarm_finishes(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"write": ["part one", "part two"]}))
    swarm = Swarm.create("write a poem", space=tmp_path)
    outcome = await swarm.run(llm=client_for(server))
    assert outcome.status == "finished", outcome
    assert "Done: write a poem" in outcome.report
    tree = swarm.tree()
    print({n.id: (n.role, n.action_id, n.status) for n in tree.nodes.values()})
