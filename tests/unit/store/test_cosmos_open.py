"""Opening a Cosmos DB store sends nothing; what the server supports is probed at first use;
the crash suite's kill switch lives in the tests, not in the store."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

from azure.cosmos import CosmosClient

from swarm_star.store.base import Put
from swarm_star.store.cosmos import CosmosSettings, CosmosStore
from tests.integration.test_cli_processes import ROOT, _env


def _counted_container(cosmos_env: dict[str, str], sent: list[str]) -> Any:
    """The test server's container through a client of its own that notes every request it sends."""
    settings = CosmosSettings(cosmos_env)
    client = CosmosClient(
        settings.endpoint,
        credential=settings.key,
        connection_verify=settings.verify_tls,
        raw_request_hook=lambda response: sent.append(response.http_request.method),
    )
    return client.get_database_client(settings.database).get_container_client(settings.container)


def test_opening_a_store_sends_no_request(cosmos_env: dict[str, str], cosmos_container: Any) -> None:
    sent: list[str] = []
    container = _counted_container(cosmos_env, sent)  # cosmos_container: the database and container exist
    before = len(sent)
    store = CosmosStore(container, user_id="test", swarm_id=f"s-{uuid.uuid4().hex[:12]}")
    assert len(sent) == before  # before: a point read and a batch probe, per swarm opened
    store.commit([Put("k_1", 1), Put("k_2", 2)])
    assert store.get("k_1") == 1
    assert len(sent) > before


def test_what_the_server_supports_is_probed_once_at_first_use(cosmos_container: Any) -> None:
    from swarm_star.store.cosmos import ServerProfile

    store = CosmosStore(cosmos_container, user_id="test", swarm_id=f"s-{uuid.uuid4().hex[:12]}")
    store.commit([Put("a_1", 1), Put("a_2", 2)])
    # the npm test server: no working transactional batch, and a 500 for an absent id
    assert store.profile() == ServerProfile(transactional_batch=False, point_read_of_missing=False)
    assert dict(store.scan("a_")) == {"a_1": 1, "a_2": 2}
    assert store.batch_mode == "journal"


def test_the_crash_switch_is_not_in_the_library(cosmos_env: dict[str, str]) -> None:
    """``SWARM_STAR_TEST_KILL_JOURNAL`` acts only where ``tests/helpers/kill_journal.py`` installed it."""
    code = (
        "import sys; from swarm_star.store.cosmos import *; from swarm_star.store.base import Put;"
        "s = CosmosStore(open_cosmos_container(CosmosSettings()), user_id='test', swarm_id=sys.argv[1]);"
        "s.commit([Put(f'k_{i}', i) for i in range(3)]); print('committed')"
    )
    swarm = f"s-{uuid.uuid4().hex[:12]}"
    env = _env(**cosmos_env, SWARM_STAR_TEST_KILL_JOURNAL="1:1")
    plain = subprocess.run(
        [sys.executable, "-c", code, swarm], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert plain.returncode == 0 and "committed" in plain.stdout, plain.stderr
    hooked = "from tests.helpers.kill_journal import install; install();" + code
    killed = subprocess.run(
        [sys.executable, "-c", hooked, swarm + "x"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert killed.returncode == -9, killed.stderr
