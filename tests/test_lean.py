"""Issue 16: the CLI starts without the heavy SDKs, and stores of the first format stay readable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "data" / "store_v1"

# Runs one CLI command in a fresh interpreter and prints which heavy modules it loaded.
PROBE = """
import json, sys
from swarm_star.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("openai", "aiohttp", "azure.cosmos", "git", "starlette", "rich.live") if m in sys.modules)
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


async def test_run_tunes_the_collector_and_restores_it(tmp_path: Path, model_server) -> None:
    """During a run gen-0 collections are rarer and start-up objects are frozen; after it, the
    process's own settings are back (a library user's collector is not left changed)."""
    import gc

    from swarm_star.api import Swarm
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
        outcome = await swarm.run(llm=llm, on_event=lambda _e: seen.append((gc.get_threshold(), gc.get_freeze_count())))
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
