"""Storage faults: a full disk, text no database accepts, records from other versions.

Real SQLite files (a size-limited process for the full disk: no privileged
mount), the real Cosmos-compatible server, the real ``swarm-star`` command.
"""

from __future__ import annotations

import asyncio
import io
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.errors import StoreError, SwarmExists
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.state.history import SwarmLog
from swarm_star.store import SqliteStore
from swarm_star.store.base import Put
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for
from tests.integration.test_cli_processes import _env
from tests.integration.test_promises import _consistent, _space_env

LONE = "\ud800"


def test_lone_surrogates_are_stored_as_replacement_characters(store: Any) -> None:
    """No UTF-8 database takes a lone surrogate; the store replaces it, on every path."""
    store.commit([Put("t_a", {"text": f"x{LONE}y", LONE: [LONE]}), Put("t_b", f"z{LONE}")])
    assert store.get("t_a") == {"text": "x\ufffdy", "\ufffd": ["\ufffd"]}
    assert dict(store.scan("t_")) == {"t_a": store.get("t_a"), "t_b": "z\ufffd"}


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
async def test_a_directive_with_a_lone_surrogate_runs_to_the_end(
    backend: str, tmp_path: Path, model_server: Any, request: pytest.FixtureRequest
) -> None:
    """Text from outside (argv decoded with surrogateescape, an answer, a reply) may
    carry a lone surrogate: the swarm stores U+FFFD and runs, it is not stuck for good."""
    env = _space_env(backend, request)
    server = model_server(ScriptedModel(plans={"odd": ["part one"]}))
    swarm = Swarm.create(f"odd text {LONE} \udcff", space=tmp_path, backend=backend, env=env)
    llm = client_for(server)
    try:
        outcome = await swarm.run(RunOptions(llm=llm, env=env))
    finally:
        await llm.aclose()
    assert outcome.status == "finished", outcome
    reopened = Swarm.open(swarm.id, space=tmp_path, backend=backend, env=env)
    assert reopened.state.record.directive == "odd text \ufffd \ufffd"
    keys = _consistent(reopened.store)
    assert len(keys) == len(set(keys)) == server.requests  # nothing paid again
    reopened.close()
    swarm.close()


def test_cli_argument_with_an_undecodable_byte_runs(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"odd": ["part one"]}))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "swarm_star",
            "--space",
            str(tmp_path),
            "run",
            b"odd \xff text",
            "--base-url",
            server.base_url,
            "--no-input",
        ],
        env=_env(),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


def test_full_disk_is_an_error_and_changes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put("a_kept", "before")
    pages = store._conn.select_one("PRAGMA page_count")[0]
    store._conn.select_one(f"PRAGMA max_page_count = {pages}")  # this connection's disk is now full
    for ops in ([Put("a_big", "x" * 100_000)], [Put("a_big", "x" * 100_000), Put("a_kept", "after")]):
        with pytest.raises(StoreError, match="disk is full"):
            store.commit(ops)
    assert store.get("a_kept") == "before" and store.get("a_big") is None
    store._conn.select_one("PRAGMA max_page_count = 1000000")
    store.put("a_big", "fits now")
    assert store.get("a_big") == "fits now"
    store.close()


def _limit_file_size(limit: int) -> Any:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_run_exits_one_with_one_line_and_resumes_later(tmp_path: Path, model_server: Any) -> None:
    """The resume writes until its files cannot grow: one line, exit 1, no hang; later
    (space freed) the resume finishes with nothing lost or duplicated."""
    server = model_server(ScriptedModel(plans={"full": [f"part {i}" for i in range(12)]}))
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    swarm_id = Swarm.create("a full disk", space=tmp_path, settings=settings).id
    db = tmp_path / swarm_id / "swarm_default_kv_store.db"
    limit = db.stat().st_size + 48_000
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "resume", swarm_id, "--no-input"],
        env=_env(PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size(limit),
    )
    assert time.monotonic() - started < 100
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "disk is full or failing" in lines[0], proc.stderr
    with Swarm.open(swarm_id, space=tmp_path) as swarm:
        _consistent(swarm.store)
    done = subprocess.run(
        [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "resume", swarm_id, "--no-input"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with Swarm.open(swarm_id, space=tmp_path) as swarm:
        keys = _consistent(swarm.store)
        assert len(keys) == len(set(keys))
        assert SwarmLog(swarm.store).replay().status == "finished"


# Item 12: formats from other versions.


def _made(tmp_path: Path) -> Swarm:
    return Swarm.create("versions", space=tmp_path, swarm_id="v1")


def _cli_lines(tmp_path: Path, *args: str) -> tuple[int, str]:
    from swarm_star.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(["--space", str(tmp_path), *args], out=out, err=err)
    return code, err.getvalue()


def test_a_newer_format_is_refused_with_upgrade(tmp_path: Path) -> None:
    swarm = _made(tmp_path)
    record = swarm.store.get("swarm_state_record")
    swarm.store.put("swarm_state_record", {**record, "schema_version": 99})
    swarm.close()
    for command in (["tree", "v1"], ["history", "v1"], ["resume", "v1", "--no-input"]):
        code, err = _cli_lines(tmp_path, *command)
        assert code == 1 and err.count("\n") == 1, (command, err)
        assert "written by a newer Swarm Star" in err and "upgrade" in err, err


def test_an_unknown_operation_kind_is_one_line(tmp_path: Path) -> None:
    swarm = _made(tmp_path)
    frame = swarm.store.get("swarm_history_000000000")
    swarm.store.put("swarm_history_000000001", [frame[0], frame[1], ["teleport", "0"]])  # schema 4: [4, time, op]
    swarm.store.put("swarm_state_meta", {**swarm.store.get("swarm_state_meta"), "frame_count": 2})
    swarm.close()
    for command in (["tree", "v1", "--frame", "1"], ["history", "v1"]):  # `tree` alone reads no frame
        code, err = _cli_lines(tmp_path, *command)
        assert code == 1 and err.count("\n") == 1, (command, err)
        assert "frame 1 is unreadable: unknown operation kind 'teleport'" in err


def test_fields_added_by_a_later_release_are_ignored(tmp_path: Path) -> None:
    swarm = _made(tmp_path)
    record = swarm.store.get("swarm_state_record")
    settings = {**record["settings"], "new_knob": 3, "limits": {**record["settings"]["limits"], "max_joy": 1}}
    swarm.store.put("swarm_state_record", {**record, "settings": settings, "colour": "blue"})
    old = {k: v for k, v in record.items() if k != "schema_version"}  # from before the field existed
    swarm.close()
    with Swarm.open("v1", space=tmp_path) as reopened:
        assert reopened.state.record.directive == "versions"
    code, err = _cli_lines(tmp_path, "tree", "v1")
    assert code == 0, err
    with SqliteStore(tmp_path / "v1" / "swarm_default_kv_store.db") as store:
        store.put("swarm_state_record", old)
    with Swarm.open("v1", space=tmp_path) as reopened:
        assert reopened.state.record.schema_version == 1


# Item 13: store damage.


def test_damage_is_reported_per_swarm_and_never_breaks_list(tmp_path: Path) -> None:
    good = Swarm.create("a good swarm", space=tmp_path, swarm_id="good")
    good.close()
    (tmp_path / "empty").mkdir()
    SqliteStore(tmp_path / "empty" / "swarm_default_kv_store.db").close()  # killed before its first batch (old layout)
    truncated = tmp_path / "cut"
    Swarm.create("to be cut", space=tmp_path, swarm_id="cut").close()
    db = truncated / "swarm_default_kv_store.db"
    db.write_bytes(db.read_bytes()[:5000])
    staging = tmp_path / ".creating-half-0000"  # a kill during creation now leaves only this
    staging.mkdir()
    (staging / "swarm_default_kv_store.db").write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "list"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}  # after the header
    assert set(lines) == {"good", "empty", "cut"}
    assert "damaged" in lines["empty"] and "damaged" in lines["cut"] and "damaged" not in lines["good"]
    tree = subprocess.run(
        [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "tree", "cut"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tree.returncode == 1
    assert tree.stderr.count("\n") == 1 and "corrupt" in tree.stderr, tree.stderr


def test_creation_is_whole_or_invisible(tmp_path: Path) -> None:
    with Swarm.create("made whole", space=tmp_path, swarm_id="w") as swarm:
        assert swarm.state.frame_count == 1
    assert [p.name for p in tmp_path.iterdir()] == ["w"]  # no staging folder left behind
    with pytest.raises(SwarmExists, match="already exists"):
        Swarm.create("again", space=tmp_path, swarm_id="w")


async def test_a_store_deleted_mid_run_is_an_error_not_finished(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"gone": ["part one", "part two"]}), latency=1.0)
    swarm = Swarm.create("gone mid-run", space=tmp_path)
    llm = client_for(server)
    run = swarm.run(RunOptions(llm=llm))
    deadline = time.monotonic() + 30
    while server.requests < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    (tmp_path / swarm.id / "swarm_default_kv_store.db").unlink()
    try:
        with pytest.raises(StoreError, match="deleted or replaced while in use"):
            await run
    finally:
        await llm.aclose()
        swarm.close()


# Reads that need no history: questions and answer use the stored projection.


async def test_questions_and_answer_read_the_projection_not_the_history(tmp_path: Path, model_server: Any) -> None:
    script = ScriptedModel(
        plans={"trip": ["book hotel", "ask the user about dates"]},
        routes={"ask the user": "interaction/ask_user_questions"},
    )
    server = model_server(script)
    swarm = Swarm.create("plan a trip", space=tmp_path, swarm_id="trip")
    llm = client_for(server)
    try:
        assert (await swarm.run(RunOptions(llm=llm))).status == "questions"
    finally:
        await llm.aclose()
    projected, replayed = swarm.log.load(), swarm.log.replay()
    assert projected.nodes == replayed.nodes and projected.status == replayed.status
    assert projected.frame_count == replayed.frame_count and projected.usage == replayed.usage
    # An old frame nobody needs for these commands becomes unreadable: they still work.
    swarm.store.put("swarm_history_000000001", {"frame": 1, "op": {"kind": "teleport"}})
    swarm.close()
    with Swarm.open("trip", space=tmp_path) as reopened:
        [(_, question)] = reopened.questions()
        reopened.answer(question.id, "next May")
        assert reopened.questions() == []
        with pytest.raises(StoreError, match="frame 1 is unreadable"):
            list(reopened.history())


def test_a_read_only_store_is_readable_and_refuses_writes_in_one_line(tmp_path: Path) -> None:
    """Read-only via the immutable attribute (the suite may run as root, whom file modes
    do not stop); skipped where the file system or the process cannot set it."""
    import shutil

    Swarm.create("read me", space=tmp_path, swarm_id="r").close()
    db_dir = tmp_path / "r"
    frozen = [db_dir / "swarm_default_kv_store.db", db_dir]
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", *map(str, frozen)], capture_output=True).returncode:
        pytest.skip("cannot make a file read-only here (chattr +i)")
    try:

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), *args]
            return subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=60)

        for args in (["tree", "r"], ["history", "r"], ["list"]):
            proc = cli(*args)
            assert proc.returncode == 0 and proc.stderr == "", (args, proc.stderr)
            assert "read me" in proc.stdout
        proc = cli("resume", "r", "--no-input")
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "read-only" in proc.stderr, proc.stderr
    finally:
        subprocess.run([chattr, "-i", *map(str, frozen)], check=True)
