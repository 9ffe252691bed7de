"""Issue 25: a store written before schema 4 (schema-3 frames, dict node records, one ``kv``
table: tests/data/store_v3, made by tests/data/make_store_v3.py) opens, reads, resumes and forks
with today's code; what it appends is schema 4, and the old and new frames replay together."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from swarm_star.models import Limits
from tests.helpers.paths import DATA

FIXTURE = DATA / "store_v3"


@pytest.fixture
def old_space(tmp_path: Path) -> Path:
    """A copy of the committed store (opening and resuming it writes to it)."""
    space = tmp_path / "space"
    shutil.copytree(FIXTURE, space)
    return space


def _frame_versions(db: Path) -> list[int]:
    """The stored schema of each frame, in order (a list is schema 4: ``[4, time, op]``)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT value FROM kv WHERE key LIKE 'swarm_history_%' ORDER BY key").fetchall()
    values = [json.loads(text) for (text,) in rows]
    return [v[0] if isinstance(v, list) else v["schema_version"] for v in values]


async def test_a_schema_3_store_reads_resumes_and_forks(old_space: Path, model_server) -> None:
    from swarm_star.api import RunOptions, Swarm
    from swarm_star.state.frame_codec import FRAME_SCHEMA
    from swarm_star.testing.scripted import ScriptedModel
    from tests.helpers.model import client_for

    db = old_space / "v3swarm" / "swarm_default_kv_store.db"
    assert set(_frame_versions(db)) == {3}  # the fixture is what the schema-3 writer left
    swarm = Swarm.open("v3swarm", space=old_space)
    try:
        before = swarm.tree()
        assert before.status == "stopped" and before.frame_count == 40 and len(before.nodes) == 8
        assert swarm.log.replay(journal=False).nodes == before.nodes  # stored projection = replay
        assert [e.frame for e in swarm.history()] == list(range(40))
        server = model_server(ScriptedModel(plans={"tidy": ["sort the books", "dust the shelves", "water the plants"]}))
        llm = client_for(server)
        try:
            outcome = await swarm.resume(RunOptions(llm=llm, limits=Limits(max_calls=100)))
        finally:
            await llm.aclose()
        assert outcome.status == "finished", outcome
        after = swarm.tree()
        versions = _frame_versions(db)  # an old store keeps its one table: new frames go there too
        assert versions[:40] == [3] * 40 and set(versions[40:]) == {FRAME_SCHEMA} and len(versions) == after.frame_count
        assert swarm.log.replay(journal=False).nodes == swarm.log.nodes()  # old and new frames replay together
        assert swarm.tree(frame=39).nodes == before.nodes
        fork = swarm.fork(39)
        try:
            assert fork.tree().nodes.keys() == before.nodes.keys()
        finally:
            fork.close()
    finally:
        swarm.close()
