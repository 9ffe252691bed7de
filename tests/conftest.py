"""Shared fixtures: real SQLite stores on temp files and a real Cosmos-compatible server.

The Cosmos-DB-compatible server is the npm package ``@vercel/cosmosdb-server``,
installed by ``npm ci`` into ``tests/.cosmos_server`` (done here on first use
if ``.ci/run`` has not already) and started on a free loopback port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarm_star import eventloop
from swarm_star.store import KVStore, SqliteStore

SERVER_DIR = Path(__file__).parent / ".cosmos_server"
SERVER_BIN = SERVER_DIR / "node_modules" / ".bin" / "cosmosdb-server"
COSMOS_TEST_KEY = "c3dhcm0tc3Rhci10ZXN0LWtleQ=="  # base64 of a dummy; the server accepts any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_server_installed() -> None:
    if SERVER_BIN.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is required to install the Cosmos-compatible test server")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(SERVER_DIR)],
        check=True,
        timeout=600,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def cosmos_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start the Cosmos-compatible server; yield the COSMOS_* environment for it."""
    _ensure_server_installed()
    port = free_port()
    log = tmp_path_factory.mktemp("cosmos") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(SERVER_BIN), "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"cosmosdb-server exited: {log.read_text()[-500:]}")
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("cosmosdb-server did not start within 30 s")
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    env = {
        "COSMOS_ENDPOINT": f"https://127.0.0.1:{port}",
        "COSMOS_KEY": COSMOS_TEST_KEY,
        "COSMOS_DATABASE": "swarm_star_test",
        "COSMOS_CONTAINER": "swarms",
        "COSMOS_VERIFY_TLS": "0",
    }
    try:
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def cosmos_container(cosmos_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from swarm_star.store.cosmos import CosmosSettings, open_cosmos_container

    return open_cosmos_container(CosmosSettings(cosmos_env))


def make_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> KVStore:
    if backend == "sqlite":
        return SqliteStore(tmp_path / "swarm_default_kv_store.db", lock_timeout=2.0)
    from swarm_star.store.cosmos import CosmosStore

    container = request.getfixturevalue("cosmos_container")
    return CosmosStore(container, user_id="test", swarm_id=f"s-{uuid.uuid4().hex[:12]}")


@pytest.fixture(autouse=True)
def _whole_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output to a pipe is whole lines unless ``$COLUMNS`` asks for a width: a shell that exports
    it (or pytest-xdist, which sets 80 in its workers) would cut the lines tests read back.
    A test that wants a width sets it itself."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(params=["sqlite", "cosmos"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[KVStore]:
    s = make_store(backend, tmp_path, request)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard: the suite never reaches a real model provider."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "OPENROUTER_")):
            monkeypatch.delenv(name)


@pytest.fixture
def model_server():  # type: ignore[no-untyped-def]
    """Start local OpenAI-compatible servers: ``model_server(responder, **options)``."""
    from swarm_star.testing import LocalOpenAIServer

    servers: list[LocalOpenAIServer] = []

    def start(responder, **options):  # type: ignore[no-untyped-def]
        server = LocalOpenAIServer(responder, **options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# Test tiers (see the README): slow ones are deselected by default through
# `addopts` in pyproject.toml; `.ci/run` selects everything with `-m ""`. A tier
# test that skips because its dependency is missing would let CI pass without
# testing anything, so under CI=true such a skip is a failure.
TIER_MARKERS = ("slow", "real_model", "browser", "ray", "sandbox")


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _ci() and any(item.get_closest_marker(m) for m in TIER_MARKERS):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: a tier test may not skip (missing dependency?): {reason}"


# The real-model tier's servers (marker `real_model`): each started once per session, on first use.


def tier_unavailable(why: str) -> None:
    """A tier's dependency is missing: a failure under CI=true, locally a skip."""
    if _ci():
        pytest.fail(f"real-model tier: {why}")
    pytest.skip(f"real-model tier: {why}")


@pytest.fixture(scope="session")
def model_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """llama-cpp-python's server and llama.cpp's llama-server with SmolLM2, each on a free
    loopback port, started when a test first asks for it (``model_servers.get(kind)``)."""
    from tests.helpers.llama_server import ModelServers

    servers = ModelServers(Path(__file__).resolve().parent.parent, tmp_path_factory.mktemp("model-servers"))
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(params=["llama-cpp-python", "llama-server"])
def llama(request: pytest.FixtureRequest, model_servers: Any) -> Any:
    """Each real server in turn (a test using it runs once per server); fails under CI=true if missing."""
    from tests.helpers.llama_server import ModelServerUnavailable

    try:
        return model_servers.get(request.param)
    except ModelServerUnavailable as exc:
        tier_unavailable(str(exc))


@pytest.hookimpl(optionalhook=True)  # a pytest-asyncio before 1.5 has no such hook: its default loop then
def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Async tests run on the loop a user's command gets (``swarm_star.eventloop``: uvloop where
    installed); ``SWARM_STAR_EVENT_LOOP=asyncio pytest`` runs them on asyncio's own."""
    import asyncio

    factory = eventloop.loop_factory()
    return {"uvloop": factory} if factory is not None else {"asyncio": asyncio.new_event_loop}
