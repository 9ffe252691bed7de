"""Several handles on one SQLite store in one process, plus readers in other processes.

A process that holds SQLite's POSIX locks on the database file loses all of
them the moment *any* descriptor of that file is closed in it (fcntl locks
belong to the process and the file, not to the descriptor). If opening a second
handle touched the file outside SQLite, another process's reader would then
believe it was the last connection, checkpoint and delete the WAL while the
writer kept writing to the unlinked file: committed frames vanished after a
``kill -9`` (issue 19, item 1). These tests count committed frames across a
kill with a writer that opens extra handles and readers in other processes.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swarm_star.state.history import SwarmLog
from swarm_star.store import SqliteStore
from tests.helpers.paths import ROOT

READER = """
import sys, time
from swarm_star.store import SqliteStore
from swarm_star.state.history import SwarmLog
path, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < until:
    with SqliteStore(path) as store:
        SwarmLog(store).read_meta()
"""


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _write_read_kill(db: Path, seconds: float) -> int:
    """Run a writer with a second handle and a reader process, kill -9 the writer; frames it saw committed."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.frame_writer", str(db), "--second-handle"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    first = writer.stdout.readline()
    assert first.strip().isdigit(), first
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(seconds)], cwd=ROOT)
    time.sleep(seconds)
    writer.send_signal(signal.SIGKILL)
    out = writer.communicate()[0].split()
    assert writer.returncode == -signal.SIGKILL, "the writer failed before it was killed"
    assert reader.wait(timeout=30) == 0
    return int(out[-1]) if out else int(first)


def test_second_handle_and_reader_process_lose_no_committed_frame(tmp_path: Path) -> None:
    db = tmp_path / "swarm_default_kv_store.db"
    reported = _write_read_kill(db, 2.5)
    assert reported > 20, "the writer must have committed a fair number of frames"
    assert _integrity(db) == "ok"
    with SqliteStore(db) as store:
        log = SwarmLog(store)
        frames = [f.frame for f in log.frames()]
        assert frames == list(range(len(frames)))
        assert len(frames) >= reported, f"{reported} frames were committed, {len(frames)} survived the kill"
        meta = log.read_meta()
        assert meta is not None and meta["frame_count"] == len(frames)


def test_opening_a_handle_keeps_the_other_handles_locks(tmp_path: Path) -> None:
    """The mechanism itself: while handle A holds a read transaction, opening and closing
    handle B in the same process must leave A's lock in place, so another process
    cannot take the exclusive lock that a WAL checkpoint-and-delete needs."""
    db = tmp_path / "swarm_default_kv_store.db"
    with SqliteStore(db) as store:
        store.put("k", 1)
    holder = sqlite3.connect(str(db))
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM kv").fetchone()  # a SHARED lock held by this process
    try:
        with SqliteStore(db) as other:
            assert other.get("k") == 1
        probe = (
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], timeout=0)\n"
            "try:\n"
            "    c.execute('PRAGMA journal_mode=DELETE')\n"  # needs an exclusive lock on the file
            "    print(c.execute('PRAGMA journal_mode').fetchone()[0])\n"
            "except sqlite3.OperationalError as exc:\n"
            "    print('refused', exc)\n"
        )
        out = subprocess.run([sys.executable, "-c", probe, str(db)], capture_output=True, text=True, timeout=30)
        assert out.stdout.startswith("refused") or out.stdout.strip() == "wal", out.stdout + out.stderr
    finally:
        holder.rollback()
        holder.close()
    assert (db.parent / f"{db.name}-wal").exists() or _integrity(db) == "ok"


@pytest.mark.slow
def test_repeated_kills_with_extra_handles_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "swarm_default_kv_store.db"
    for seconds in (0.7, 1.3, 0.4, 1.9, 1.0):
        reported = _write_read_kill(db, seconds)
        assert _integrity(db) == "ok"
        with SqliteStore(db) as store:
            count = sum(1 for _ in SwarmLog(store).frames())
        assert count >= reported
