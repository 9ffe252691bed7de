"""Issue 25: a new SQLite store keeps the history in its own table, keyed by frame number, and
reads and scans exactly as one table did; a store made before (one ``kv`` table) keeps working."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from swarm_star.errors import ConflictError
from swarm_star.store import ABSENT, Delete, Put
from swarm_star.store.sqlite import SCAN_PAGE, SqliteStore

KEYS = [
    "action_space_installed",
    "swarm_history_000000000",
    "swarm_history_000000001",
    "swarm_history_000000010",
    "swarm_history_000001000",
    "swarm_history_x",  # not a frame number: an ordinary key
    "swarm_historyz",
    "swarm_state_meta",
    "swarm_text_ab",
]


def _tables(path: Path) -> dict[str, list[object]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            "kv": [k for (k,) in conn.execute("SELECT key FROM kv ORDER BY key")],
            "log": [n for (n,) in conn.execute("SELECT n FROM log ORDER BY n")]
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'log'").fetchone()
            else [],
        }


def _old_layout(path: Path) -> None:
    """A store as made before issue 25: the ``kv`` table alone."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute('CREATE TABLE "kv" (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID')
        conn.commit()


@pytest.mark.parametrize("layout", ["new", "old"])
def test_reads_and_scans_are_the_same_in_either_layout(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "s.db"
    if layout == "old":
        _old_layout(path)
    with SqliteStore(path) as store:
        store.commit([Put(key, {"k": key}) for key in reversed(KEYS)])
        for prefix in ("", "swarm_", "swarm_hist", "swarm_history_", "swarm_history_00000", "swarm_history_000000001"):
            assert store.keys(prefix) == [k for k in KEYS if k.startswith(prefix)], prefix
        assert store.keys("swarm_history_0000000x") == []
        assert [k for k, _ in store.scan("swarm_history_", start="swarm_history_000000002")] == [
            "swarm_history_000000010",
            "swarm_history_000001000",
            "swarm_history_x",
        ]
        assert [v for _, v in store.scan("swarm_state_")] == [{"k": "swarm_state_meta"}]
        assert store.get("swarm_history_000000010") == {"k": "swarm_history_000000010"}
        store.commit([Delete("swarm_history_000000010"), Put("swarm_history_000000001", 1)])
        assert store.get("swarm_history_000000010") is None and store.get("swarm_history_000000001") == 1
        version = store.get_versioned("swarm_history_000000001")
        assert version is not None
        store.commit([Put("swarm_history_000000001", 2, if_version=version[1])])
        with pytest.raises(ConflictError):
            store.commit([Put("swarm_history_000000001", 3, if_version=version[1])])
        with pytest.raises(ConflictError):
            store.commit([Put("swarm_history_000000000", 3, if_version=ABSENT)])
        assert store.get("swarm_history_000000001") == 2
    tables = _tables(path)
    if layout == "new":  # frames in the log table by number; the rest, the odd history key too, in kv
        assert tables["log"] == [0, 1, 1000]
        assert "swarm_history_x" in tables["kv"] and not any(k[-1].isdigit() for k in tables["kv"])
    else:
        assert tables["log"] == [] and "swarm_history_000000001" in tables["kv"]


def test_a_long_history_scans_page_by_page_in_order(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.db") as store:
        count = 2 * SCAN_PAGE + 7  # 1,031 rows: past a block of 1,000 too
        store.commit([Put(f"swarm_history_{i:09d}", i) for i in range(count)])
        assert [v for _, v in store.scan("swarm_history_")] == list(range(count))
        assert [v for _, v in store.scan("swarm_history_", start=f"swarm_history_{SCAN_PAGE:09d}")] == list(
            range(SCAN_PAGE, count)
        )
        assert [v for _, v in store.scan("swarm_history_000000")] == list(range(1000))  # a block of 1,000
        assert [v for _, v in store.scan("swarm_history_0000001")] == list(range(100, 200))


def test_a_scan_from_a_start_reads_from_there_not_from_the_block(tmp_path: Path) -> None:
    """The live tail of ``serve`` reads the newest frames of a block of 1,000 on every gather: each
    read fetched every row from the block's first (a third of the server's CPU per frame with one
    client, issue 25). Counted in SQLite's virtual-machine steps on the read connection."""
    with SqliteStore(tmp_path / "s.db") as store:
        store.commit([Put(f"swarm_history_{i:09d}", {"text": "x" * 200, "i": i}) for i in range(1000)])
        assert store.get("swarm_history_000000000") is not None  # opens the read connection
        conn = store._reads
        assert conn is not None
        steps = [0]

        def step() -> int:
            steps[0] += 1
            return 0

        conn.set_progress_handler(step, 10)

        def cost(start: int) -> tuple[int, list[int]]:
            steps[0] = 0
            got = [v["i"] for _, v in store.scan("swarm_history_000000", start=f"swarm_history_{start:09d}")]
            return steps[0], got

        whole, got = cost(0)
        assert got == list(range(1000))
        tail, got = cost(990)
        assert got == list(range(990, 1000))
        assert tail * 20 < whole, (tail, whole)  # 10 rows of 1,000 cost about 1 % of the block, not all of it
