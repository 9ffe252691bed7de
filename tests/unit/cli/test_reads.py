"""Issue 25, reads: ``tree`` from the stored projection prints what a replay prints; ``--help``
loads neither the API nor the models; shared text is cached least-recently-used."""

from __future__ import annotations

import io
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from swarm_star.cli import main
from swarm_star.store import SqliteStore
from tests.helpers.paths import ROOT


def _cli(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(list(argv), out, err) == 0, err.getvalue()
    return out.getvalue()


def _same_tree_both_ways(space: Path, swarm_id: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """``tree ID`` (the projection) and ``tree ID --frame LAST`` (a replay) print the same text
    and JSON, at any depth; ``tree ID`` reads no history frame. Returns the frame count."""
    scanned: list[str] = []
    real_scan = SqliteStore.scan

    def scan(self: SqliteStore, prefix: str, start: str | None = None) -> Any:
        scanned.append(prefix)
        return real_scan(self, prefix, start)

    monkeypatch.setattr(SqliteStore, "scan", scan)
    common = ("--space", str(space), "tree", swarm_id)
    projected = {form: _cli(*common, *form) for form in [(), ("--json",), ("--depth", "1")]}
    assert scanned and not any(p.startswith(("swarm_history_", "swarm_text_")) for p in scanned), scanned
    as_json = projected[("--json",)]
    assert json.dumps(json.loads(as_json), indent=2) + "\n" == as_json  # written node by node, same bytes
    last = json.loads(as_json)["frame"]
    for form, text in projected.items():
        assert _cli(*common, "--frame", str(last), *form) == text, form
    assert any(p.startswith("swarm_history_") for p in scanned)  # the replay did read the history
    return int(last) + 1


async def test_tree_from_the_projection_equals_the_replayed_tree(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swarm_star.api import RunOptions, Swarm
    from swarm_star.testing.scripted import ScriptedModel
    from tests.helpers.model import client_for

    plans = {"ship": ["pack the boxes", "label the parcels", "book the courier"], "pack": ["fold", "tape"]}
    server = model_server(ScriptedModel(plans=plans, routes={"pack ": "planning/delegate"}))
    swarm = Swarm.create("ship the order", space=tmp_path)
    llm = client_for(server)
    try:
        outcome = await swarm.run(RunOptions(llm=llm))
    finally:
        await llm.aclose()
        swarm.close()
    assert outcome.status == "finished"
    frames = _same_tree_both_ways(tmp_path, swarm.id, monkeypatch)
    assert frames > 30


def test_tree_after_a_writer_killed_mid_commit_equals_the_replayed_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 a frame writer at random moments (inside commits too): whatever was committed,
    the projection and the replay print the same tree."""
    from swarm_star.store import StoreLocator

    space = tmp_path / "space"
    StoreLocator(space).open("kill", create=True).close()
    db = next(space.rglob("*.db"))
    rng = random.Random(25)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.frame_writer", str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip().isdigit()
        time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        _same_tree_both_ways(space, "kill", monkeypatch)
        monkeypatch.undo()


def test_help_loads_neither_the_api_nor_the_models() -> None:
    """``--help`` imports the CLI's parsers only: no API (and so no engine), no pydantic
    models, no asyncio (it loads ssl); issue 25 measured it at 2.6 times a bare pydantic import."""
    probe = (
        "import sys; from swarm_star.cli import main; main(['--help']); "
        "print([m for m in ('swarm_star.api', 'swarm_star.models', 'swarm_star.engine', 'pydantic', "
        "'asyncio', 'ssl') if m in sys.modules], file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "usage: swarm-star" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr


def test_run_help_still_shows_the_defaults_of_the_limits() -> None:
    """The limits' defaults come from the models when help is shown (not when the parser is built)."""
    from swarm_star.models import Limits

    text = " ".join(_cli("run", "--help").split())
    assert f"most model calls (default {Limits().max_calls})" in text
    assert "--sandbox SANDBOX" in text
    resume = " ".join(_cli("resume", "--help").split())
    assert "most model calls (replaces the stored value)" in resume
    err = io.StringIO()
    assert main(["run", "x", "--sandbox", "jail"], io.StringIO(), err) == 2
    assert "invalid choice: 'jail' (choose from 'bwrap', 'none')" in err.getvalue()


def test_shared_text_is_cached_least_recently_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full cache drops the text used longest ago, not everything: reading the cache's worth of
    texts again, newest first, reads no row (emptying it when full read them all back)."""
    from swarm_star.state import frame_codec
    from swarm_star.state.frame_codec import TEXT_PREFIX, FrameCodec
    from swarm_star.store.base import Put

    monkeypatch.setattr(frame_codec, "_CACHE_LIMIT", 8)
    store = SqliteStore(tmp_path / "s.db")
    digests = [f"{i:032x}" for i in range(9)]
    store.commit([Put(TEXT_PREFIX + d, f"text {d}") for d in digests])
    reads: list[str] = []
    real_get = store.get

    def get(key: str, default: Any = None) -> Any:
        reads.append(key)
        return real_get(key, default)

    monkeypatch.setattr(store, "get", get)
    codec = FrameCodec(store)
    try:
        assert [codec.text(d) for d in digests] == [f"text {d}" for d in digests]
        assert len(reads) == 9
        for d in reversed(digests[1:]):  # the 8 most recent: all still cached
            codec.text(d)
        assert len(reads) == 9
        codec.text(digests[0])  # the one let go: read again
        assert reads[9:] == [TEXT_PREFIX + digests[0]]
    finally:
        store.close()


@pytest.mark.parametrize("enabled", [True, False])
def test_read_commands_run_without_the_collector_and_leave_it_as_they_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """``tree``, ``questions`` and ``list`` read a whole tree that stays alive and has no cycle:
    the cyclic collector is off while they run, and as it was afterwards."""
    import gc

    from swarm_star.api import Swarm
    from swarm_star.state import tree_view

    Swarm.create("sort the mail", space=tmp_path, swarm_id="s1").close()
    during: list[bool] = []
    real = tree_view.node_view

    def node_view(*args: Any) -> Any:
        during.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(tree_view, "node_view", node_view)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        for argv in (["tree", "s1"], ["questions", "s1"], ["list"]):
            _cli("--space", str(tmp_path), *argv)
            assert gc.isenabled() is enabled, argv
        _cli("--space", str(tmp_path), "history", "s1")  # streams: the collector as it was
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert during == [False, False]  # tree and questions read the (one) node record


def test_read_commands_load_neither_the_engine_nor_asyncio(tmp_path: Path) -> None:
    """Issue 25: ``tree``, ``questions`` and ``list`` go through the API, which imports the engine,
    the model client and the tools only where a swarm runs (they were a third of ``tree``'s imports),
    and the models only where a record is not one this release writes (pydantic was another third)."""
    from swarm_star.api import Swarm

    Swarm.create("sort the mail", space=tmp_path, swarm_id="s1").close()
    for argv in (["tree", "s1"], ["questions", "s1"], ["list"]):
        probe = (
            "import sys; from swarm_star.cli import main; "
            f"code = main(['--space', {str(tmp_path)!r}, *{argv!r}]); "
            "print(code, [m for m in ('swarm_star.engine', 'swarm_star.llm.client', 'swarm_star.tools', "
            "'asyncio', 'ssl', 'pydantic') if m in sys.modules], file=sys.stderr)"
        )
        proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert proc.stderr.strip().splitlines()[-1] == "0 []", (argv, proc.stderr)


def test_the_reader_and_the_engine_name_the_same_inbox() -> None:
    from swarm_star.engine.inbox import INBOX_PREFIX as ENGINE_INBOX
    from swarm_star.state.layout import INBOX_PREFIX

    assert INBOX_PREFIX == ENGINE_INBOX
