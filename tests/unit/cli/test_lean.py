"""Issue 16: the CLI starts without the heavy SDKs, and stores of the first format stay readable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import DATA

FIXTURE = DATA / "store_v1"

# Runs one CLI command in a fresh interpreter and prints which heavy modules it loaded.
PROBE = """
import json, sys
from swarm_star.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(
    m for m in ("openai", "anthropic", "dotenv", "aiohttp", "azure.cosmos", "git", "starlette", "rich.live")
    if m in sys.modules
)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.fixture
def old_space(tmp_path: Path) -> Path:
    """A copy of the committed store (opening a store may add WAL files next to it)."""
    space = tmp_path / "space"
    shutil.copytree(FIXTURE, space)
    return space


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["list"],
        ["tree", "v1swarm"],
        ["tree", "v1swarm", "--frame", "10"],
        ["history", "v1swarm"],
        ["history", "v1swarm", "--json"],
        ["agents", "--help"],
    ],
)
def test_read_commands_do_not_import_the_sdks(argv: list[str], old_space: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "--space", str(old_space), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    probe = json.loads(proc.stderr.strip().splitlines()[-1])
    assert probe["code"] in (0, None), proc.stderr
    assert proc.stdout.strip(), "the command printed nothing"
    assert probe["heavy"] == [], f"{argv} imported {probe['heavy']}"


def test_library_import_stays_light() -> None:
    """``import swarm_star`` (the API) does not load the SDK until a client is built."""
    code = "import sys, swarm_star; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_importing_one_module_does_not_load_the_package() -> None:
    """Issue 20: ``import swarm_star.errors`` loaded 277 modules (the package ``__init__``
    imported the API, the engine and the model client); its names now load on first use."""
    code = "import sys, swarm_star.errors; print(sorted(m for m in sys.modules if m.startswith('swarm_star')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "['swarm_star', 'swarm_star.errors', 'swarm_star.lazy']"
    code = "import swarm_star as s; print(s.Swarm.__module__, s.RunOptions.__name__, 'Swarm' in dir(s))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["swarm_star.api.swarm", "RunOptions", "True"]


async def test_run_tunes_the_collector_and_restores_it(tmp_path: Path, model_server) -> None:
    """During a run gen-0 collections are rarer and start-up objects are frozen; after it, the
    process's own settings are back (a library user's collector is not left changed)."""
    import gc

    from swarm_star.api import RunOptions, Swarm
    from swarm_star.engine.gc_tuning import RUN_THRESHOLDS
    from swarm_star.testing.scripted import ScriptedModel
    from tests.helpers.model import client_for

    server = model_server(ScriptedModel(plans={"sort": ["sort the letters", "sort the parcels"]}))
    swarm = Swarm.create("sort the mail", space=tmp_path)
    before = gc.get_threshold()
    gc.set_threshold(900, 11, 12)  # the embedding program's own choice
    seen: list[tuple[tuple[int, ...], int]] = []
    llm = client_for(server)
    try:
        run = swarm.run(RunOptions(llm=llm))
        run.subscribe(lambda _e: seen.append((gc.get_threshold(), gc.get_freeze_count())))
        outcome = await run
        after = gc.get_threshold(), gc.get_freeze_count()
    finally:
        await llm.aclose()
        gc.set_threshold(*before)
    assert outcome.status == "finished"
    assert seen and all(threshold == RUN_THRESHOLDS and frozen > 1000 for threshold, frozen in seen)
    assert after == ((900, 11, 12), 0)


async def test_collector_tuning_is_shared_by_concurrent_runs() -> None:
    """Two overlapping runs: the first to end must not undo the tuning under the second."""
    import gc

    from swarm_star.engine.gc_tuning import RUN_THRESHOLDS, tuned_gc

    saved = gc.get_threshold()
    outer = tuned_gc()
    outer.__enter__()
    with tuned_gc():
        assert gc.get_threshold() == RUN_THRESHOLDS
    assert gc.get_threshold() == RUN_THRESHOLDS  # the outer run is still going
    outer.__exit__(None, None, None)
    assert gc.get_threshold() == saved and gc.get_freeze_count() == 0


def test_a_full_collection_during_a_run_freezes_what_survived_it() -> None:
    """Issue 25: the tree grows all run long; after a full collection its survivors are frozen, so
    the next full collection does not scan them again. After the run nothing stays frozen."""
    import gc

    from swarm_star.engine.gc_tuning import tuned_gc

    with tuned_gc():
        frozen = gc.get_freeze_count()
        grown = [[i] for i in range(5000)]  # made during the run, alive for the rest of it
        gc.collect()
        assert gc.get_freeze_count() >= frozen + len(grown)
    assert gc.get_freeze_count() == 0
    assert all(getattr(hook, "__name__", "") != "_freeze_survivors" for hook in gc.callbacks)


def test_what_a_run_made_and_keeps_ends_in_the_oldest_generation() -> None:
    """Issue 25: a run makes too few young collections for a full one to come, so what it made
    sat in the young generations and the first young collection after the run re-scanned all of
    it (160 ms after 10,000 nodes). After the run it is in the oldest generation, unscanned."""
    import gc

    from swarm_star.engine.gc_tuning import tuned_gc

    if gc.get_freeze_count():
        gc.unfreeze()  # another test's leftovers: the tuning freezes only in a process that has not
    with tuned_gc():
        grown = [[i] for i in range(2000)]  # made during the run, alive after it
    young = {id(o) for generation in (0, 1) for o in gc.get_objects(generation=generation)}
    assert not any(id(item) in young for item in grown)
    assert gc.get_freeze_count() == 0


def test_a_store_of_the_first_format_still_reads(old_space: Path) -> None:
    """tests/data/store_v1 was written before schema-2 frames: tree, history and replay still work."""
    from swarm_star.api import Swarm
    from swarm_star.models import NodeStatus

    swarm = Swarm.open("v1swarm", space=old_space)
    try:
        tree = swarm.tree()
        assert tree.status == "finished" and len(tree.nodes) == 8 and tree.frame_count == 50
        assert all(n.status == NodeStatus.TERMINATED for n in tree.nodes.values())
        # replay of the old frames = the stored projection (memory_mark came later: replay adds it)
        replayed = {k: n.model_copy(update={"memory_mark": None}) for k, n in tree.nodes.items()}
        assert swarm.log.nodes() == replayed
        calls = [e.op for e in swarm.history() if e.op.kind == "llm_call"]
        assert len(calls) == tree.usage.calls == 11
        route = next(c for c in calls if c.purpose == "route")
        assert "Options in actions:" in route.request[1]["content"]
        assert swarm.tree(frame=10).frame_count == 11
    finally:
        swarm.close()


async def test_schema_4_frames_decode_to_exactly_what_was_run(tmp_path: Path, model_server) -> None:
    """Every stored frame decodes to the event the engine made; shared text is stored once."""
    import json as _json

    from swarm_star.api import RunOptions, Swarm
    from swarm_star.state.frame_codec import FRAME_SCHEMA, OP_FIELDS, TEXT_PREFIX
    from swarm_star.state.history import HISTORY_PREFIX
    from swarm_star.testing.scripted import ScriptedModel
    from tests.helpers.model import client_for

    plan = ["sort the letters", "sort the parcels", "recycle the flyers", "file the bills"]
    server = model_server(ScriptedModel(plans={"sort": plan}, plan_actions=False))  # every part is routed
    swarm = Swarm.create("sort the mail", space=tmp_path)
    made: list[dict] = []
    llm = client_for(server)
    try:
        run = swarm.run(RunOptions(llm=llm))
        run.subscribe(lambda e: made.append(e.model_dump(mode="json")))
        outcome = await run
    finally:
        await llm.aclose()
    assert outcome.status == "finished"
    stored = dict(swarm.store.scan(HISTORY_PREFIX))
    texts = dict(swarm.store.scan(TEXT_PREFIX))
    assert {raw[0] for raw in stored.values()} == {FRAME_SCHEMA}  # [4, time, op]
    for event in made:
        decoded = swarm.log.codec.decode(stored[f"{HISTORY_PREFIX}{event['frame']:09d}"], event["frame"])
        assert {**decoded, "schema_version": 1} == event
    routes = [e for e in made if e["op"]["kind"] == "llm_call" and e["op"]["purpose"] == "route"]
    assert len(routes) >= 4
    request_at = 1 + OP_FIELDS["llm_call"].index("request")  # an op is [kind, *fields]
    raw_route = stored[f"{HISTORY_PREFIX}{routes[0]['frame']:09d}"]
    assert raw_route[2][0] == "llm_call"
    assert any("ref" in p for m in raw_route[2][request_at] for p in m.get("parts", []) if isinstance(p, dict))
    route_refs = [
        p["ref"]
        for e in routes
        for m in stored[f"{HISTORY_PREFIX}{e['frame']:09d}"][2][request_at]
        for p in m.get("parts", [])
        if isinstance(p, dict)
    ]
    assert len(set(route_refs)) < len(routes) <= len(route_refs)  # one row per menu, however many routers used it
    assert set(route_refs) <= {key.removeprefix(TEXT_PREFIX) for key in texts}
    old_bytes = sum(len(_json.dumps(e)) for e in made)
    new_bytes = sum(len(_json.dumps(v)) for v in [*stored.values(), *texts.values()])
    assert new_bytes < 0.85 * old_bytes, (new_bytes, old_bytes)
    route_old = sum(len(_json.dumps(e)) for e in routes)
    route_new = sum(len(_json.dumps(stored[f"{HISTORY_PREFIX}{e['frame']:09d}"])) for e in routes)
    assert route_new < 0.5 * route_old, (route_new, route_old)  # the menu is most of a router call
    # read back through the public API as well
    reopened = Swarm.open(swarm.id, space=tmp_path)
    try:
        assert reopened.tree().nodes == swarm.tree().nodes
        history = [e.model_dump(mode="json") for e in reopened.history()][1:]
        assert history == [{**e, "schema_version": FRAME_SCHEMA} for e in made]
    finally:
        reopened.close()
        swarm.close()


def test_sqlite_scan_pages_through_long_prefixes(tmp_path: Path) -> None:
    """Scans read in pages (bounded memory); every row comes once, in key order, from ``start``."""
    from swarm_star.store.base import Put
    from swarm_star.store.sqlite import SCAN_PAGE, SqliteStore

    store = SqliteStore(tmp_path / "s.db")
    try:
        count = SCAN_PAGE * 2 + 7
        store.commit([Put(f"swarm_history_{i:09d}", {"frame": i}) for i in range(count)])
        store.commit([Put("swarm_historz_x", 1), Put("swarm_histor", 2)])  # just outside the prefix
        keys = [k for k, _ in store.scan("swarm_history_")]
        assert keys == [f"swarm_history_{i:09d}" for i in range(count)]
        tail = [v["frame"] for _, v in store.scan("swarm_history_", start=f"swarm_history_{SCAN_PAGE - 1:09d}")]
        assert tail == list(range(SCAN_PAGE - 1, count))
    finally:
        store.close()
