"""Hostfile agents: parsing, the pool's limits and failure handling, every pattern and aggregator.

Agents are real aiohttp servers on 127.0.0.1 (``AgentFarm``), with latency and
faults injected per agent.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_star.errors import HostfileError, InputError
from swarm_star.primitives import (
    AgentPool,
    AgentReply,
    PoolSettings,
    Stage,
    best_of,
    blackboard,
    broadcast,
    concat,
    failure_report,
    load_hostfile,
    majority_vote,
    merge_json,
    numeric_stats,
    parse_hostfile,
    pipeline,
    scatter_gather,
    top_k,
    tree_reduce,
)
from tests.helpers.agent_farm import AgentFarm

FAST = PoolSettings(retries=2, backoff=0.01, timeout=5.0)


@pytest.fixture
def farm_factory() -> Iterator[Any]:
    farms: list[AgentFarm] = []

    def start(count: int, **options: Any) -> AgentFarm:
        farm = AgentFarm(count, **options).start()
        farms.append(farm)
        return farm

    yield start
    for farm in farms:
        farm.stop()


def pool_of(farm: AgentFarm, tmp_path: Path, settings: PoolSettings = FAST) -> AgentPool:
    return AgentPool.from_hostfile(farm.write_hostfile(tmp_path / "hosts"), settings)


# hostfile


def test_hostfile_parses_every_form(tmp_path: Path) -> None:
    text = (
        "# cluster\n\n"
        "aurora-0001:8001\tnode=aurora-0001 role=critic\n"
        "10.0.0.7   role=writer   # default port\n"
        "[::1]:9000\n"
        "https://api.example.org/v1/ role=judge\n"
        "http://gpu-3:8080\n"
    )
    agents = parse_hostfile(text, "hosts")
    assert [a.base_url for a in agents] == [
        "http://aurora-0001:8001/v1",
        "http://10.0.0.7:8000/v1",
        "http://[::1]:9000/v1",
        "https://api.example.org/v1",
        "http://gpu-3:8080/v1",
    ]
    assert agents[0].tags == {"node": "aurora-0001", "role": "critic"} and agents[0].name == "aurora-0001"
    assert agents[1].name == "10.0.0.7:8000" and agents[1].line == 4


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("gpu-1:abc", "port must be 1-65535"),
        ("gpu-1:70000", "port must be 1-65535"),
        ("gpu-1:0", "port must be 1-65535"),
        ("gpu-1 role", "expected key=value"),
        ("gpu-1 role=", "expected key=value"),
        ("gpu-1 =critic", "expected key=value"),
        ("gpu-1 role=a role=b", "given twice"),
        ("bad!host", "expected host[:port]"),
        ("http://", "malformed URL"),
        ("a:1:2", "expected host[:port]"),
        ("a" * 64 + ":8000", "label longer than 63 characters (64)"),
        ("gpu-1." + "a" * 64, "label longer than 63 characters (64)"),
        ("http://" + "b" * 64 + ":8000/v1", "label longer than 63 characters (64)"),
        (".".join(["abcdefgh"] * 30), "host name longer than 253 characters (269)"),
        ("gpu..1", "empty label"),
        ("https://gpu-1:99999/v1", "malformed URL"),
        ("a" * (10 * 1024 * 1024), "line too long (10,485,760 characters, at most 4,096)"),
    ],
    ids=lambda v: v if len(v) < 40 else v[:20] + f"…({len(v)})",
)
def test_malformed_hostfile_line_names_file_and_line(tmp_path: Path, line: str, why: str) -> None:
    path = tmp_path / "hosts.txt"
    path.write_text(f"# ok\ngpu-0:8000 role=writer\n{line}\n")
    with pytest.raises(HostfileError) as info:
        load_hostfile(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: ") and why in message and "\n" not in message
    assert len(message) < len(str(path)) + 160  # a 10 MB line is not echoed back


def test_an_agent_named_by_its_url_shows_no_credentials() -> None:
    """An agent's name is stored with each of its replies and printed: ``https://user:pw@host`` named it
    with the password (issue 19 item 6). The URL itself keeps them: they are how that agent authenticates."""
    agent = parse_hostfile("https://bob:pw-DO-NOT-STORE-31@gpu-9.example/v1 role=critic\n")[0]
    assert agent.name == "gpu-9.example" and "pw-DO-NOT-STORE-31" in agent.base_url


def test_empty_or_missing_hostfile(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n\n")
    with pytest.raises(HostfileError, match="no agents listed"):
        load_hostfile(empty)
    with pytest.raises(HostfileError, match="cannot read hostfile"):
        load_hostfile(tmp_path / "missing")


# the pool


async def test_broadcast_reaches_every_agent_once_within_the_global_limit(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(24, latency=0.03)
    settings = PoolSettings(max_in_flight=5, per_agent=2, backoff=0.01)
    async with pool_of(farm, tmp_path, settings) as pool:
        result = await broadcast(pool, "hello")
    assert [r.index for r in result.replies] == list(range(24))
    assert all(r.ok and r.text == f"agent {r.index}: hello" for r in result.replies)
    assert farm.requests == {i: 1 for i in range(24)}
    assert 2 <= farm.peak_in_flight <= 5
    assert sum(r.prompt_tokens for r in result.replies) == 24 * 7


async def test_every_agent_request_is_capped_by_default(farm_factory: Any, tmp_path: Path) -> None:
    """A hostfile request without max_tokens let an agent generate to its context limit."""
    farm = farm_factory(3, responder=lambda index, body: str(body.get("max_tokens")))
    async with pool_of(farm, tmp_path, PoolSettings(backoff=0.01)) as pool:
        result = await broadcast(pool, "hello")
    assert [r.text for r in result.replies] == ["1024"] * 3
    async with pool_of(farm, tmp_path, PoolSettings(max_tokens=50, backoff=0.01)) as pool:
        assert {r.text for r in (await broadcast(pool, "hello")).replies} == {"50"}


async def test_half_an_emoji_from_an_agent_becomes_u_fffd(farm_factory: Any, tmp_path: Path) -> None:
    """#19 item 9: a lone surrogate (sent as the JSON escape ``\\ud83d``) is replaced where it enters."""
    farm = farm_factory(2, responder=lambda index, body: f"agent {index} \ud83d")
    async with pool_of(farm, tmp_path, PoolSettings(backoff=0.01)) as pool:
        result = await broadcast(pool, "hello")
    assert [r.text for r in result.replies] == ["agent 0 \ufffd", "agent 1 \ufffd"]


async def test_per_agent_limit(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(1, latency=0.03)
    async with pool_of(farm, tmp_path, PoolSettings(max_in_flight=50, per_agent=3)) as pool:
        replies = await scatter_gather(pool, [f"p{i}" for i in range(20)])
    assert all(r.ok for r in replies)
    assert farm.peak_in_flight == 3


@pytest.mark.parametrize(
    ("fault", "error", "attempts"),
    [
        ("500", "HTTP 500", 3),
        ("malformed", "malformed reply", 3),
        ("drop", "connection failed", 3),
        ("empty", "empty reply", 1),
        ("429", "HTTP 429", 3),
    ],
)
async def test_faults_become_failed_replies(
    farm_factory: Any, tmp_path: Path, fault: str, error: str, attempts: int
) -> None:
    farm = farm_factory(3, faults={1: fault})
    async with pool_of(farm, tmp_path) as pool:
        result = await broadcast(pool, "x")
    good, bad = result.replies[0], result.replies[1]
    assert good.ok and result.replies[2].ok
    assert not bad.ok and bad.text == "" and bad.error is not None and bad.error.startswith(error)
    assert bad.attempts == attempts and farm.requests[1] == attempts


async def test_flaky_agent_recovers_and_retry_after_is_honoured(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(2, flaky={0: 2})
    async with pool_of(farm, tmp_path) as pool:
        result = await broadcast(pool, "x")
    assert result.replies[0].ok and result.replies[0].attempts == 3


async def test_timeout_and_deadline(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(3, faults={0: "slow", 1: "slow"})
    settings = PoolSettings(timeout=0.3, retries=1, backoff=0.01)
    async with pool_of(farm, tmp_path, settings) as pool:
        started = time.monotonic()
        timed = await broadcast(pool, "x")
        assert time.monotonic() - started < 2.0
        assert timed.replies[0].error == "timed out after 0.3 s" and timed.replies[0].attempts == 2
        assert timed.replies[2].ok
    settings = PoolSettings(timeout=10.0, retries=0)
    async with pool_of(farm, tmp_path, settings) as pool:
        started = time.monotonic()
        result = await broadcast(pool, "x", deadline=0.4)
        assert time.monotonic() - started < 1.5
    assert [r.error for r in result.replies[:2]] == ["deadline exceeded"] * 2 and result.replies[2].ok


async def test_backoff_does_not_hold_a_permit(farm_factory: Any, tmp_path: Path) -> None:
    """One permit in all: while agent 0 sleeps before its retry, agent 1's jobs must run."""
    farm = farm_factory(2, latency=0.01, flaky={0: 1})
    settings = PoolSettings(max_in_flight=1, backoff=0.4, retries=1)
    order: list[int] = []
    async with pool_of(farm, tmp_path, settings) as pool:
        agents = pool.agents
        jobs = [(agents[0], [{"role": "user", "content": "a"}])]
        jobs += [(agents[1], [{"role": "user", "content": f"b{i}"}]) for i in range(5)]
        replies = await pool.run(jobs, on_reply=lambda r: order.append(r.index))
    assert all(r.ok for r in replies) and replies[0].attempts == 2
    assert order[-1] == 0, f"agent 0's retry blocked the others: {order}"


async def test_cancelling_a_batch_stops_promptly(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(4, faults={i: "slow" for i in range(4)})
    async with pool_of(farm, tmp_path, PoolSettings(timeout=30.0)) as pool:
        task = asyncio.create_task(broadcast(pool, "x"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1.0


async def test_sub_pools(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(10)
    async with pool_of(farm, tmp_path) as pool:
        critics = pool.where(role="critic")
        assert [a.tags["node"] for a in critics] == [f"agent-{i:04d}" for i in (1, 3, 5, 7, 9)]
        result = await broadcast(critics, "judge")
        assert [r.text.split(":")[0] for r in result.replies] == [f"agent {i}" for i in (1, 3, 5, 7, 9)]
        assert [a.name for a in pool.sample(4, seed=7)] == [a.name for a in pool.sample(4, seed=7)]
        assert len(pool.sample(4, seed=7)) == 4 and len(pool.slice(2, 5)) == 3
        assert sorted(pool.groups("role")) == ["critic", "writer"]
        with pytest.raises(InputError, match="no agents match role=judge"):
            pool.where(role="judge")
        with pytest.raises(InputError, match="cannot sample 11"):
            pool.sample(11)
    assert farm.requests == {i: 1 for i in (1, 3, 5, 7, 9)}


# patterns


async def test_scatter_gather_keeps_input_order(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(3, latency=0.01)
    async with pool_of(farm, tmp_path) as pool:
        replies = await scatter_gather(pool, [f"p{i}" for i in range(10)])
        with pytest.raises(InputError):
            await scatter_gather(pool, [])
    assert [r.text for r in replies] == [f"agent {i % 3}: p{i}" for i in range(10)]


def _summarizer(agent: int, request: dict[str, Any]) -> str:
    text = request["messages"][-1]["content"]
    if "Summarize" not in text:
        return f"fact{agent}"
    facts = sorted(set(re.findall(r"fact\d+", text)), key=lambda f: int(f[4:]))
    return " ".join(facts)


async def test_tree_reduce_reaches_one_answer_covering_every_leaf(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(9, responder=_summarizer)
    async with pool_of(farm, tmp_path) as pool:
        result = await tree_reduce(pool, "collect", fan_in=3)
        with pytest.raises(InputError, match="fan-in must be at least 2"):
            await tree_reduce(pool, "collect", fan_in=1)
    assert result.final == " ".join(f"fact{i}" for i in range(9))
    assert len(result.levels) == 2 and [len(level) for level in result.levels] == [3, 1]
    assert result.covered == list(range(9)) and not result.failed_groups and result.error is None


async def test_tree_reduce_reports_a_failed_group_and_keeps_its_leaves(farm_factory: Any, tmp_path: Path) -> None:
    failures = {"left": 1}

    def flaky_summary(agent: int, request: dict[str, Any]) -> str:
        text = request["messages"][-1]["content"]
        if "Summarize" in text and "fact0" in text and failures["left"]:
            failures["left"] -= 1
            return ""  # an empty reply: the group fails (empty is not retried)
        return _summarizer(agent, request)

    farm = farm_factory(6, responder=flaky_summary, faults={5: "500"})
    async with pool_of(farm, tmp_path, PoolSettings(retries=0)) as pool:
        result = await tree_reduce(pool, "collect", fan_in=2)
    assert [r.ok for r in result.leaves] == [True] * 5 + [False]
    assert len(result.failed_groups) == 1
    failed = result.failed_groups[0]
    assert (failed.level, failed.leaves, failed.error) == (1, [0, 1], "empty reply")
    assert result.final == "fact0 fact1 fact2 fact3 fact4" and result.covered == [0, 1, 2, 3, 4]


async def test_tree_reduce_stops_when_nothing_can_be_reduced(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(2, responder=lambda a, r: "" if "Summarize" in r["messages"][-1]["content"] else "leaf")
    async with pool_of(farm, tmp_path) as pool:
        result = await tree_reduce(pool, "x", fan_in=2)
    assert result.final is None and result.error is not None and "nothing could be reduced" in result.error
    assert result.failed_groups and result.failed_groups[0].leaves == [0, 1]


def _board_writer(agent: int, request: dict[str, Any]) -> str:
    text = request["messages"][-1]["content"]
    section = re.search(r"Rewrite the section '([^']+)'", text)
    assert section is not None
    name = section.group(1)
    return f"{name} settled" if re.search(rf"^{name} (draft|settled)$", text, re.M) else f"{name} draft"


async def test_blackboard_converges_and_bounds_rounds(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(3, responder=_board_writer)
    async with pool_of(farm, tmp_path) as pool:
        result = await blackboard(pool, "design an API", ["goals", "risks"], rounds=5)
        assert result.converged and result.rounds == 3
        assert result.board == {"goals": "goals settled", "risks": "risks settled"}
        capped = await blackboard(pool, "design", ["goals"], rounds=1)
        assert not capped.converged and capped.rounds == 1 and capped.board == {"goals": "goals draft"}
        tiny = await blackboard(pool, "design", ["goals"], rounds=1, max_section_chars=3)
        assert tiny.board == {"goals": "goa"}
        with pytest.raises(InputError, match="rounds must be"):
            await blackboard(pool, "design", ["goals"], rounds=0)


async def test_blackboard_keeps_old_text_when_an_agent_fails(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(2, responder=_board_writer, faults={1: "500"})
    async with pool_of(farm, tmp_path, PoolSettings(retries=0)) as pool:
        result = await blackboard(pool, "t", {"a": "start", "b": "start"}, rounds=1)
    assert result.board == {"a": "a draft", "b": "start"}
    assert [r.ok for r in result.history[0]] == [True, False]


async def test_pipeline_with_fan_out_and_fan_in(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(4)
    stages = [
        Stage("draft", "draft {input}", fan_out=2),
        Stage("merge", "review {input}", fan_in="merge {inputs}"),
        Stage("polish", "polish {input}"),
    ]
    async with pool_of(farm, tmp_path) as pool:
        result = await pipeline(pool, stages, ["x", "y"])
    assert result.error is None
    assert [len(s.replies) for s in result.stages] == [4, 4, 1]
    assert result.stages[0].outputs == ["agent 0: draft x", "agent 1: draft x", "agent 2: draft y", "agent 3: draft y"]
    assert len(result.outputs) == 1 and result.outputs[0].startswith("agent 0: polish agent 0: merge [1] agent 0")


async def test_pipeline_stops_at_a_stage_with_no_output(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(4, faults={1: "500", 3: "500"})
    stages = [Stage("draft", "draft {input}"), Stage("critique", "critique {input}", tags={"role": "critic"})]
    async with pool_of(farm, tmp_path, PoolSettings(retries=0)) as pool:
        result = await pipeline(pool, stages, ["x"])
        with pytest.raises(InputError):
            await pipeline(pool, [], ["x"])
    assert result.error == "stage critique: no successful output" and result.outputs == []


async def test_broadcast_reduce_and_reduce_with_nothing(farm_factory: Any, tmp_path: Path) -> None:
    farm = farm_factory(3, faults={1: "500"})
    async with pool_of(farm, tmp_path, PoolSettings(retries=0)) as pool:
        result = await broadcast(pool, "q", reduce=True)
        assert result.reduced is not None and result.reduced.ok
        assert "Here are 2 answers" in result.reduced.text
        dead = await broadcast(pool.slice(1, 2), "q", reduce=True)
    assert dead.reduced is not None and not dead.reduced.ok and dead.reduced.error == "no successful replies to reduce"


# aggregators


def _reply(i: int, text: str = "", error: str | None = None) -> AgentReply:
    return AgentReply(i, f"a{i}", error is None, text, error)


def test_majority_vote_with_confidence() -> None:
    vote = majority_vote([_reply(0, "Paris"), _reply(1, " paris."), _reply(2, "London"), _reply(3, error="HTTP 500")])
    assert (vote.answer, vote.votes, vote.total, vote.confidence) == ("Paris", 2, 3, 0.6667)
    assert vote.counts == {"paris": 2, "london": 1}
    assert majority_vote([]).answer is None


def test_merge_json_counts_invalid_replies() -> None:
    merged = merge_json(
        [
            '{"a": 1, "tags": ["x"], "d": {"k": 1}}',
            '```json\n{"a": 1, "tags": ["y", "x"], "d": {"k": 2, "m": true}}\n```',
            "not json at all",
            "[1, 2]",
            '{"a": 2}',
        ]
    )
    assert merged.merged == {"a": 1, "tags": ["x", "y"], "d": {"k": 1, "m": True}}
    assert (merged.valid, merged.invalid) == (3, 2)
    assert merged.conflicts == {"a": [1, 2], "d.k": [1, 2]}


def test_numeric_stats_counts_non_numeric() -> None:
    stats = numeric_stats(["42", "about 40.5 units", "no idea", "-3e1", _reply(9, error="x")])
    assert (stats.count, stats.invalid) == (3, 1)
    assert stats.minimum == -30.0 and stats.maximum == 42.0 and stats.median == 40.5
    assert stats.mean == pytest.approx(17.5)
    assert numeric_stats(["none"]).mean is None


def test_best_of_top_k_concat_and_failure_report() -> None:
    items = [_reply(0, "short"), _reply(1, "the longest one"), _reply(2, "medium one"), _reply(3, error="HTTP 500: x")]
    assert best_of(items, len) == "the longest one"
    assert [t for t, _ in top_k(items, len, 2)] == ["the longest one", "medium one"]

    def picky(text: str) -> float:
        if text == "short":
            raise ValueError("cannot score")
        return 1.0

    assert top_k(items, picky, 3)[-1] == ("short", float("-inf"))
    assert concat(items, " | ") == "short | the longest one | medium one"
    report = failure_report([*items, _reply(4, error="HTTP 500: y"), _reply(5, error="timed out after 1 s")])
    assert (report.total, report.failed) == (6, 3)
    assert report.by_error == {"HTTP 500": 2, "timed out after 1 s": 1} and report.agents == ["a3", "a4", "a5"]
    assert report.summary().startswith("3 of 6 replies failed (2× HTTP 500")


def test_progress_bar_draws_on_a_terminal_only() -> None:
    from swarm_star.cli.primitives import Progress

    stream = io.StringIO()
    bar = Progress("broadcast", 4, stream, enabled=True)
    for i in range(4):
        bar(_reply(i, "ok") if i else _reply(i, error="x"))
    bar.close()
    assert "broadcast [########################] 4/4  failed 1" in stream.getvalue()
    quiet = io.StringIO()
    Progress("x", 1, quiet, enabled=False)(_reply(0, "ok"))
    assert quiet.getvalue() == ""
