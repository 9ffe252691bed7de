"""Fan-out synthesis through the real openai SDK against the local server, library and CLI."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from swarm_star.cli import main
from swarm_star.errors import InputError
from swarm_star.primitives import FanoutOptions, client_ask, fanout, synthesize
from swarm_star.testing import Fault, Reply
from tests.helpers.model import client_for


def _last_user(request: dict[str, Any]) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


class Answers:
    """Candidates answer from ``cycle`` in arrival order; the synthesis call says SYNTH."""

    def __init__(self, cycle: list[str], synthesis: Any = "SYNTH: merged") -> None:
        self._cycle = itertools.cycle(cycle)
        self._lock = threading.Lock()
        self.synthesis = synthesis
        self.temperatures: list[float | None] = []

    def __call__(self, request: dict[str, Any]) -> Any:
        with self._lock:
            self.temperatures.append(request.get("temperature"))
            if "Independent attempts" in _last_user(request):
                return self.synthesis
            return Reply(next(self._cycle), prompt_tokens=11, completion_tokens=4)


async def test_candidates_then_synthesis(model_server: Any) -> None:
    answers = Answers(["a", "b", "c"])
    server = model_server(answers, latency=0.02)
    client = client_for(server)
    options = FanoutOptions(n=8, concurrency=4, system="be brief", stop=("END",), max_tokens=50)
    try:
        result = await fanout(client_ask(client, options), "name a letter", options)
    finally:
        await client.aclose()
    assert result.final == "SYNTH: merged"
    assert [c.index for c in result.candidates] == list(range(8)) and all(c.ok for c in result.candidates)
    assert sorted(c.text for c in result.candidates) == sorted(["a", "b", "c"] * 2 + ["a", "b"])
    meta = result.meta
    assert (meta["candidates"], meta["succeeded"], meta["failed"]) == (8, 8, 0)
    assert meta["usage"]["calls"] == 9
    assert meta["usage"]["prompt_tokens"] == 8 * 11 + 10 and meta["usage"]["completion_tokens"] == 8 * 4 + 5
    assert set(meta["timings"]) >= {"total_s", "candidates_s", "synthesis_s", "candidate_latencies_s"}
    assert meta["model"] == "gpt-4o-mini" and meta["synthesis"]["ok"] is True
    assert answers.temperatures.count(0.9) == 8 and answers.temperatures[-1] == 0.2
    assert server.requests == 9
    sent = server.log[0] if server.log else None
    assert sent is None  # the log is off unless asked: nothing kept by default


async def test_request_carries_system_stop_and_max_tokens(model_server: Any) -> None:
    server = model_server(Answers(["x"]), keep_log=True)
    client = client_for(server)
    options = FanoutOptions(n=1, system="be brief", stop=("END",), max_tokens=50, model="m-1")
    try:
        result = await fanout(client_ask(client, options), "q", options)
    finally:
        await client.aclose()
    request = server.log[0]
    assert request["messages"][0] == {"role": "system", "content": "be brief"}
    assert request["stop"] == ["END"] and request["max_tokens"] == 50 and request["model"] == "m-1"
    assert result.final == "x" and result.meta["synthesis"] == {"skipped": "only one candidate succeeded"}


async def test_failed_candidates_are_marked_never_empty(model_server: Any) -> None:
    server = model_server(Answers(["good", "", "good"]), faults=[Fault("500"), Fault("refusal")])
    client = client_for(server, max_retries=0)
    options = FanoutOptions(n=6, concurrency=1)
    try:
        result = await fanout(client_ask(client, options), "q", options)
    finally:
        await client.aclose()
    failed = [c for c in result.candidates if not c.ok]
    assert len(failed) == 3 and all(c.error and c.text == "" for c in failed)
    assert [c.error for c in failed] == [
        "model endpoint failed after 1 attempts: Error code: 500 - injected server error",
        "model refused: I can't help with that.",
        "empty reply",
    ]
    assert result.meta["failed"] == 3 and len(result.meta["failures"]) == 3
    assert result.final == "SYNTH: merged"


async def test_synthesis_failure_falls_back_and_says_so(model_server: Any) -> None:
    server = model_server(Answers(["Paris", "paris", "Lyon"], synthesis=Fault("refusal")))
    client = client_for(server, max_retries=0)
    options = FanoutOptions(n=3, synthesis_attempts=2, concurrency=1)
    try:
        result = await fanout(client_ask(client, options), "capital?", options)
    finally:
        await client.aclose()
    assert result.final == "Paris"
    assert result.meta["fallback"] is True
    synthesis = result.meta["synthesis"]
    assert synthesis["ok"] is False and synthesis["attempts"] == 2 and "refused" in synthesis["error"]
    assert synthesis["fallback"] == "majority vote over candidates"
    assert server.requests == 5


async def test_vote_mode_reports_confidence(model_server: Any) -> None:
    server = model_server(Answers(["42", "42.", "41", "42"]))
    client = client_for(server)
    options = FanoutOptions(n=4, mode="vote", concurrency=1)
    try:
        result = await fanout(client_ask(client, options), "6*7?", options)
    finally:
        await client.aclose()
    assert result.final == "42" and result.meta["vote"]["confidence"] == 0.75
    assert server.requests == 4  # no synthesis call


async def test_all_candidates_fail_and_resynthesis_reuses_candidates(model_server: Any) -> None:
    server = model_server(Answers(["x"]), faults=[Fault("500")] * 3)
    client = client_for(server, max_retries=0)
    options = FanoutOptions(n=3)
    try:
        dead = await fanout(client_ask(client, options), "q", options)
        assert dead.final is None and dead.meta["error"] == "all 3 candidates failed"
        good = await fanout(client_ask(client, options), "q", options)
        before = server.requests
        again = await synthesize(client_ask(client, options), "q", good.candidates, options)
    finally:
        await client.aclose()
    assert server.requests == before + 1 and again.final == "SYNTH: merged"
    with pytest.raises(InputError):
        FanoutOptions(n=0)
    with pytest.raises(InputError):
        await fanout(client_ask(client, options), "  ", options)


def test_cli_fanout_json_text_and_resynthesize(
    model_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = model_server(Answers(["alpha", "beta"]))
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    out, err = io.StringIO(), io.StringIO()
    code = main(["fanout", "-p", "pick", "-n", "4", "--json"], out, err)
    assert code == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert set(doc) == {"final", "candidates", "meta"} and doc["final"] == "SYNTH: merged"
    assert len(doc["candidates"]) == 4 and doc["meta"]["prompt"] == "pick"
    saved = tmp_path / "run.json"
    saved.write_text(out.getvalue())

    out, err = io.StringIO(), io.StringIO()
    assert main(["fanout", "-p", "pick", "-n", "2", "--print-candidates", "--timings"], out, err) == 0
    text = out.getvalue()
    assert text.count("--- candidate") == 2 and text.endswith("--- final ---\nSYNTH: merged\n")
    assert "candidates 2/2 ok" in err.getvalue()

    before = server.requests
    out = io.StringIO()
    assert main(["fanout", "--resynthesize", str(saved)], out, io.StringIO()) == 0
    assert out.getvalue() == "SYNTH: merged\n" and server.requests == before + 1


def test_cli_fanout_vote_shows_its_confidence(model_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = model_server(Answers(["Paris", "paris", "Lyon"]))
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    out, err = io.StringIO(), io.StringIO()
    assert main(["fanout", "-p", "capital of France?", "-n", "3", "--vote", "--concurrency", "1"], out, err) == 0
    assert out.getvalue() == "Paris\n(vote: 2 of 3 agree, confidence 67%)\n", out.getvalue()  # before: only in --json


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["fanout", "-p", "  "], 2, "the prompt is empty"),
        (["fanout", "-p", "q", "-n", "0"], 2, "candidate count must be"),
        (["fanout", "-p", "q", "--timeout", "0"], 2, "--timeout must be positive"),
        (["fanout", "--resynthesize", "/nonexistent.json"], 2, "not a fanout --json output"),
    ],
)
def test_cli_fanout_bad_input(
    model_server: Any, monkeypatch: pytest.MonkeyPatch, argv: list[str], code: int, message: str
) -> None:
    server = model_server(Answers(["x"]))
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    err = io.StringIO()
    assert main(argv, io.StringIO(), err) == code
    assert message in err.getvalue() and err.getvalue().count("\n") == 1
    assert server.requests == 0


def test_cli_fanout_all_failed_exits_1(model_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = model_server(Answers(["x"]), faults=[Fault("500")] * 2)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    err = io.StringIO()
    assert main(["fanout", "-p", "q", "-n", "2", "--retries", "0"], io.StringIO(), err) == 1
    assert err.getvalue() == "swarm-star: error: all 2 candidates failed\n"


async def test_a_malformed_response_body_is_a_clean_model_error() -> None:
    from swarm_star.errors import ModelError
    from swarm_star.llm import Endpoint, LLMClient
    from swarm_star.models import ModelSettings
    from tests.helpers.agent_farm import AgentFarm

    with AgentFarm(1, faults={0: "malformed"}) as farm:
        url = f"http://127.0.0.1:{farm.ports[0]}/v1"
        client = LLMClient(Endpoint(url, "k", None), ModelSettings(base_url=url, max_retries=1))
        try:
            with pytest.raises(ModelError, match="malformed body after 2 attempts"):
                await client.chat([{"role": "user", "content": "x"}])
        finally:
            await client.aclose()
        assert farm.requests[0] == 2


async def test_a_limit_in_one_candidate_lets_started_calls_finish_then_propagates() -> None:
    """Calls already sent are paid for; fan-out waits for them (so the engine records them)."""
    from swarm_star.errors import LimitReached
    from swarm_star.llm.client import ChatResult
    from swarm_star.models import Usage

    finished: list[int] = []

    async def ask(messages: list[dict[str, str]], temperature: float | None, purpose: str) -> ChatResult:
        index = len(started)
        started.append(index)
        if index == 1:
            raise LimitReached("max_calls", "budget spent")
        await asyncio.sleep(0.05)
        finished.append(index)
        return ChatResult("x", Usage(calls=1), 1, 0.05, "m")

    started: list[int] = []
    with pytest.raises(LimitReached):
        await fanout(ask, "q", FanoutOptions(n=4, concurrency=4))
    assert sorted(finished) == [0, 2, 3]
