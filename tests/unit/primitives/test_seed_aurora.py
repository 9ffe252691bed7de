"""Aurora-Swarm's README and test examples, with its names, against local agents (tests/helpers/agent_farm)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_star.errors import HostfileError, InputError
from swarm_star.primitives import (
    PIPELINE_INPUTS,
    AgentEndpoint,
    AgentPool,
    Stage,
    broadcast_and_reduce,
    parse_hostfile,
    pipeline,
)
from tests.helpers.agent_farm import AgentFarm, echo


@pytest.fixture
def farm() -> Iterator[AgentFarm]:
    seen: list[dict[str, Any]] = []

    def responder(agent: int, body: dict[str, Any]) -> str:
        seen.append(body)
        return echo(agent, body)

    farm = AgentFarm(4, responder=responder).start()
    farm.seen = seen  # type: ignore[attr-defined]
    try:
        yield farm
    finally:
        farm.stop()


def _seed_hostfile(farm: AgentFarm) -> str:
    """The README's hostfile form: tab-delimited host, port, then key=value tags; comments and blanks."""
    lines = [
        f"127.0.0.1\t{port}\tnode=aurora-{i + 1:04d}\trole={'critic' if i % 2 else 'worker'}"
        for i, port in enumerate(farm.ports)
    ]
    return "\n".join([*lines[:2], "# blank lines and comments are ignored", "", *lines[2:]]) + "\n"


def test_parse_hostfile_reads_a_path_and_never_takes_a_file_name_for_a_host(
    farm: AgentFarm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HostfileError, match=r"no hostfile 'agents\.hostfile': that is a file name"):
        parse_hostfile("agents.hostfile")  # before: one agent at http://agents.hostfile:8000/v1
    with pytest.raises(HostfileError, match="that is a file name"):
        parse_hostfile("jobs/ready_hostfile")
    Path("agents.hostfile").write_text(_seed_hostfile(farm))
    endpoints = parse_hostfile("agents.hostfile")
    assert [e.base_url for e in endpoints] == [f"http://127.0.0.1:{p}/v1" for p in farm.ports]
    assert endpoints[1].tags == {"node": "aurora-0002", "role": "critic"} and endpoints[1].port == farm.ports[1]
    assert parse_hostfile(tmp_path / "agents.hostfile") == endpoints  # a Path is a file
    one = parse_hostfile("gpu-1.cluster.org:9000 role=critic")  # one line of text is still one agent
    assert one[0].base_url == "http://gpu-1.cluster.org:9000/v1" and one[0].host == "gpu-1.cluster.org"


async def test_agent_pool_post_and_agent_endpoint(farm: AgentFarm, tmp_path: Path) -> None:
    """``AgentPool(endpoints, concurrency=512)``, ``pool.post(0, "Hello, agent!")``, ``.text``; the per-request
    ``max_tokens`` override; ``AgentEndpoint("host1", 8000)``."""
    path = tmp_path / "agents.hostfile"
    path.write_text(_seed_hostfile(farm))
    endpoints = parse_hostfile(str(path))
    async with AgentPool(endpoints, concurrency=512) as pool:
        response = await pool.post(0, "Hello, agent!")
        assert response.text == "agent 0: Hello, agent!" and response.success
        assert pool.settings.max_in_flight == 512
        again = await pool.post(agent_index=1, prompt="...", max_tokens=512)
        assert again.success and farm.seen[-1]["max_tokens"] == 512  # type: ignore[attr-defined]
        assert farm.seen[0]["max_tokens"] == 1024  # type: ignore[attr-defined]
        with pytest.raises(InputError, match="no agent 9"):
            await pool.post(9, "x")
    listed = [AgentEndpoint("127.0.0.1", port) for port in farm.ports[:2]]
    assert listed[1].base_url == f"http://127.0.0.1:{farm.ports[1]}/v1"
    async with AgentPool(listed, model="m", timeout=5.0) as pool:
        assert (await pool.post(1, "hi")).text == "agent 1: hi"
    with pytest.raises(HostfileError, match="port must be"):
        AgentEndpoint("host1", 0)


async def test_broadcast_and_reduce_as_the_seed_calls_it(farm: AgentFarm, tmp_path: Path) -> None:
    path = tmp_path / "agents.hostfile"
    path.write_text(_seed_hostfile(farm))
    endpoints = parse_hostfile(str(path))
    async with AgentPool(endpoints) as pool:
        result = await broadcast_and_reduce(
            pool,
            prompt="Propose a hypothesis for why X happens.",
            reduce_prompt="Summarize these hypotheses:\n{responses}",
        )
        assert result.success and result.text.startswith("agent 0: Summarize these hypotheses:\n[1] agent 0: Propose")
        assert result.text.count("Propose a hypothesis") == 4
        fact = await broadcast_and_reduce(
            pool, prompt="Give a fact", reduce_prompt="Summarise these responses:\n{responses}", reducer_agent_index=2
        )
        assert fact.success and fact.text.startswith("agent 2: Summarise") and "Give a fact" in fact.text
        with pytest.raises(InputError, match="reduce template"):
            await broadcast_and_reduce(pool, "p", reduce_prompt="{nothing}")


async def test_pipeline_is_a_dag(farm: AgentFarm, tmp_path: Path) -> None:
    """Two branches from the inputs, one stage joining both, then a chain step (``after`` left empty)."""
    stages = [
        Stage("facts", "facts about {input}"),
        Stage("risks", "risks of {input}", after=(PIPELINE_INPUTS,)),
        Stage("join", "weigh {input}", after=("facts", "risks"), fan_in="decide from {inputs}"),
        Stage("polish", "polish {input}"),
    ]
    async with AgentPool(parse_hostfile(farm.hostfile_text(), "farm")) as pool:
        result = await pipeline(pool, stages, ["solar"])
        assert result.error is None and [s.name for s in result.stages] == ["facts", "risks", "join", "polish"]
        join = result.stages[2]
        weighed = [r.text for r in join.replies]
        assert len(weighed) == 2 and "weigh agent 0: facts about solar" in weighed[0]
        assert "weigh agent 0: risks of solar" in weighed[1]
        assert result.outputs[0].startswith("agent 0: polish agent 0: decide from [1]")
        with pytest.raises(InputError, match="after 'later', which is not an earlier stage"):
            await pipeline(pool, [Stage("a", "{input}", after=("later",)), Stage("later", "{input}")], ["x"])
        with pytest.raises(InputError, match="used twice"):
            await pipeline(pool, [Stage("a", "{input}"), Stage("a", "{input}")], ["x"])
