"""Issue 19 item 6: one redaction boundary, no key in a record, on the screen or in an HTTP response.

Agents are real aiohttp servers (``AgentFarm``) that echo the bearer key they
were sent, in a 401 body or in a 200 reply; the model is the scripted local
OpenAI-compatible server, driven by the real ``openai`` SDK; the swarm runs
through the CLI's ``main`` on a real SQLite store, and is read back through
the CLI and the HTTP API under uvicorn.

The keys have no credential *shape* (no ``Bearer``, no ``sk-``, no ``key=``
next to them in the echoes that matter), so only the exact-value masking of
the boundary can catch them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_star.cli import EXIT
from swarm_star.serve import create_app
from swarm_star.testing.openai_server import Fault
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.agent_farm import AgentFarm
from tests.helpers.cli import cli
from tests.helpers.server import serving

AGENT_KEY = "agentkey-DO-NOT-STORE-8675309"
MODEL_KEY = "modelkey-DO-NOT-STORE-1122"
URL_KEY = "urlkey-DO-NOT-STORE-5566"
URL_PASSWORD = "urlpass-DO-NOT-STORE-7788"
ALL_KEYS = (AGENT_KEY, MODEL_KEY, URL_KEY, URL_PASSWORD)


def assert_no_key(where: str, text: str | bytes) -> None:
    for key in ALL_KEYS:
        found = key.encode() in text if isinstance(text, bytes) else key in text
        assert not found, f"{key} in {where}"


def assert_no_key_in_files(space: Path) -> None:
    files = [p for p in space.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert_no_key(str(path), path.read_bytes())


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SWARM_STAR_AGENT_KEY", AGENT_KEY)
    monkeypatch.setenv("MY_MODEL_KEY", MODEL_KEY)  # sent to the --base-url with --api-key-env MY_MODEL_KEY


def test_agents_json_shows_no_key_an_agent_echoed(tmp_path: Path, keys: None) -> None:
    """The pool kept 120 bytes of a 401 body unredacted and a 200 reply verbatim: ``agents --json``
    printed the agent key (and a swarm stored it)."""
    with AgentFarm(3, faults={0: "echo401", 1: "echo200"}) as farm:
        hosts = farm.write_hostfile(tmp_path / "hosts")
        code, out, err = cli("agents", "broadcast", "--hostfile", str(hosts), "-p", "hi", "--json", "--retries", "0")
    assert code == EXIT["ok"], err
    assert_no_key("stdout", out)
    assert_no_key("stderr", err)
    replies = json.loads(out)["replies"]
    assert replies[0]["error"] == 'HTTP 401: {"error": "unauthorized: [redacted] is not a key of this server"}'
    assert replies[1]["ok"] and replies[1]["text"] == "You sent me Authorization: Bearer [redacted]. Hello!"
    assert replies[2]["ok"] and replies[2]["text"] == "agent 2: hi"


class _EchoingModel(ScriptedModel):
    """The scripted model, except that a leaf's text reply repeats the Authorization header it got."""

    def _text(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> Any:
        return Fault("echo200")


async def _api_texts(space: Path, swarm_id: str) -> list[str]:
    """Every read of the HTTP API a web view makes for this swarm, as text."""
    app = create_app(space=space, env={}, poll_interval=0.05)

    def read() -> list[str]:
        texts = []
        with serving(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            swarm = http.get(f"/api/swarms/{swarm_id}")
            assert swarm.status_code == 200, swarm.text
            texts.append(swarm.text)
            tree = http.get(f"/api/swarms/{swarm_id}/tree")
            texts.append(tree.text)
            for node in tree.json()["nodes"]:
                texts.append(http.get(f"/api/swarms/{swarm_id}/nodes/{node['id']}").text)
            texts.append(http.get(f"/api/swarms/{swarm_id}/history", params={"limit": 1000}).text)
            texts.append(http.get(f"/api/swarms/{swarm_id}/events", params={"follow": "0"}).text)
            texts.append(http.get(f"/api/swarms/{swarm_id}/report", params={"format": "md"}).text)
            texts.append(http.get("/api/swarms").text)
        return texts

    return await asyncio.to_thread(read)


async def test_echoed_keys_reach_no_record_no_cli_output_and_no_api_response(
    tmp_path: Path, model_server: Any, keys: None
) -> None:
    """A swarm whose agents echo their key (401 body, 200 reply) and whose model repeats the
    Authorization header in a reply: history, tree, report, the API and the store hold no key."""
    script = _EchoingModel(
        plans={"research": ["poll the agents on tabs", "summarize the findings"]},
        routes={"poll": "swarm/hostfile_broadcast"},
    )
    server = model_server(script)
    space = tmp_path / "space"
    with AgentFarm(4, faults={0: "echo401", 1: "echo200"}) as farm:
        hosts = farm.write_hostfile(tmp_path / "hosts")
        argv = ["--space", str(space), "run", "research tabs", "--swarm-id", "s1", "--json", "--no-input"]
        argv += ["--base-url", server.base_url, "--api-key-env", "MY_MODEL_KEY", "--hostfile", str(hosts)]
        code, out, err = await asyncio.to_thread(cli, *argv)
    assert code in (EXIT["ok"], EXIT["failure"], EXIT["partial"]), err
    assert_no_key("run --json", out + err)

    outputs = [out]
    for command in (["history", "s1", "--json"], ["tree", "s1", "--json"], ["list", "--json"], ["report", "s1"]):
        code, text, err = await asyncio.to_thread(cli, "--space", str(space), *command)
        assert code == EXIT["ok"], (command, err)
        assert_no_key(" ".join(command), text + err)
        outputs.append(text)
    for text in await _api_texts(space, "s1"):
        assert_no_key("an API response", text)
        outputs.append(text)
    assert_no_key_in_files(space)

    # the echoes were there, and were masked (not merely absent)
    history = outputs[1]
    assert "unauthorized: [redacted] is not a key" in history  # the agent's 401
    assert "You sent me Authorization: Bearer [redacted]" in history  # the agent's 200
    assert "(You sent Authorization: Bearer [redacted])" in history  # the model's 200


def test_a_key_in_the_base_url_is_stripped_before_it_is_stored(tmp_path: Path, model_server: Any, keys: None) -> None:
    """``--base-url …?api_key=KEY`` was stored in the swarm record (and userinfo printed a traceback
    that showed the password)."""
    server = model_server(ScriptedModel())
    space = tmp_path / "space"
    url = f"{server.base_url}?api_key={URL_KEY}"
    code, out, err = cli("--space", str(space), "run", "small thing", "--swarm-id", "u1", "--base-url", url, "--json")
    assert code == EXIT["ok"], err
    assert "credentials removed from the URL" in err and err.count("\n") == 1
    assert json.loads(out)["status"] == "finished"
    code, shown, _ = cli("--space", str(space), "history", "u1", "0")
    assert code == EXIT["ok"]

    userinfo = server.base_url.replace("http://", f"http://user:{URL_PASSWORD}@")
    code, out2, err2 = cli("--space", str(space), "run", "small thing", "--swarm-id", "u2", "--base-url", userinfo)
    assert code == EXIT["ok"], err2
    assert "credentials removed" in err2 and "Traceback" not in err2
    for text in (out, err, shown, out2, err2):
        assert_no_key("CLI output", text)
    assert_no_key_in_files(space)

    from swarm_star.api import Swarm

    for swarm_id in ("u1", "u2"):
        with Swarm.open(swarm_id, space=space) as swarm:
            assert swarm.settings.models.base_url == server.base_url  # and the run reached it: finished
    # what else a URL carries stays
    from swarm_star.llm.redact import strip_url_credentials

    kept = strip_url_credentials(f"https://u:{URL_PASSWORD}@h.example/v1?api-version=2&access_token={URL_KEY}&sig=x")
    assert kept == "https://h.example/v1?api-version=2"


def test_the_store_masks_a_configured_key_whatever_path_the_text_took(tmp_path: Path, keys: None) -> None:
    """The record boundary itself: a key in any value written (here a directive and a report that
    no client redacted) is masked by the store's one serialization, on its way in."""
    from swarm_star.models import NodeRole, Terminate
    from tests.helpers.big_tree import TreeWriter

    w = TreeWriter(tmp_path, "k1", directive=f"use {MODEL_KEY} for the call")
    w.node("0", None, NodeRole.ROOT, f"use {MODEL_KEY} for the call")
    w.emit(Terminate(node_id="0", report=f'done with {{"k": "{AGENT_KEY}"}}'), ["0"])
    w.commit()
    nodes = w.log.nodes()
    w.close()
    assert (
        nodes["0"].report == 'done with {"k": "[redacted]"}' and nodes["0"].directive == "use [redacted] for the call"
    )
    assert_no_key_in_files(tmp_path)


def test_both_stores_mask_configured_keys_in_everything_they_write(keys: None, store: Any) -> None:
    """The one serialization of both backends (``encode_value``) is the record boundary:
    plain puts, conditional batches, keys inside nested JSON and inside JSON-escaped text."""
    from swarm_star.store import ABSENT, Put

    store.commit([Put("t_a", {"text": f"a {AGENT_KEY} b", "list": [MODEL_KEY]}), Put("t_b", MODEL_KEY, ABSENT)])
    store.put("t_c", f'{{"quoted": "{AGENT_KEY}"}}')
    assert store.get("t_a") == {"text": "a [redacted] b", "list": ["[redacted]"]}
    assert store.get("t_b") == "[redacted]" and store.get("t_c") == '{"quoted": "[redacted]"}'
    assert_no_key("a scan", json.dumps(list(store.scan("t_"))))
