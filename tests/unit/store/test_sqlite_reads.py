"""Issue 25: the SQLite store reads through a plain ``sqlite3`` connection of its own, not row by
row through sqlitedict's thread; a read sees every batch committed before it, from this handle
or another (``serve`` writing while ``tree`` reads), and the read connection can write nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from swarm_star.errors import StoreError
from swarm_star.store import Put
from swarm_star.store.sqlite import SCAN_PAGE, SqliteStore
from tests.helpers.paths import ROOT

WRITER = """
import sys
from swarm_star.store import Put
from swarm_star.store.sqlite import SqliteStore
store = SqliteStore(sys.argv[1])
for line in sys.stdin:
    n = int(line)
    store.commit([Put(f"swarm_history_{n:09d}", [n]), Put("swarm_state_meta", {"frame_count": n + 1})])
    print(n, flush=True)
store.close()
"""


def test_reads_do_not_go_through_sqlitedicts_thread(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.db") as store:
        store.commit([Put(f"swarm_state_node_{i}", [i]) for i in range(SCAN_PAGE + 3)] + [Put("k", 1)])

        def refuse(*_: object, **__: object) -> None:
            raise AssertionError("a read went through sqlitedict's thread")

        store._conn.select = refuse  # type: ignore[method-assign]
        try:
            assert store.get("k") == 1
            assert [v for _, v in store.scan("swarm_state_node_")] == sorted(
                ([i] for i in range(SCAN_PAGE + 3)), key=lambda v: f"{v[0]}"
            )
        finally:
            del store._conn.select  # closing goes through it


def test_a_read_sees_every_batch_committed_before_it_in_another_process(tmp_path: Path) -> None:
    """A reader handle open all along (the CLI while ``serve`` runs the swarm) sees each batch as
    soon as the writer's commit returned, frames (the log table) and meta alike."""
    db = tmp_path / "s.db"
    SqliteStore(db).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdin is not None and writer.stdout is not None
    try:
        with SqliteStore(db) as reader:
            for n in range(30):
                writer.stdin.write(f"{n}\n")
                writer.stdin.flush()
                assert writer.stdout.readline().strip() == str(n)  # committed
                assert reader.get("swarm_state_meta") == {"frame_count": n + 1}
                frames = [v[0] for _, v in reader.scan("swarm_history_")]
                assert frames == list(range(n + 1))
    finally:
        writer.stdin.close()
        assert writer.wait(timeout=30) == 0


def test_a_handle_reads_its_own_commits_at_once(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.db") as store:
        for n in range(50):
            store.commit([Put("swarm_state_meta", {"n": n}), Put(f"swarm_history_{n:09d}", n)])
            assert store.get("swarm_state_meta") == {"n": n}
            assert store.get(f"swarm_history_{n:09d}") == n
        version = store.compare_and_set("lease", None, {"owner": 1})
        assert store.get_versioned("lease") == ({"owner": 1}, version)


def test_the_read_connection_writes_nothing_and_a_closed_store_reads_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put("k", 1)
    assert store.get("k") == 1
    assert store._reads is not None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store._reads.execute("DELETE FROM kv")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get("k")
    with SqliteStore(tmp_path / "s.db") as again:
        assert again.get("k") == 1


def _abort_on(db: Path, table: str, column: str, value: object) -> None:
    """A trigger that fails any write of ``value`` into ``table`` (a statement failing mid-batch)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute(
            f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} WHEN NEW.{column} = {value!r} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("failing", ["log", "kv"])
@pytest.mark.parametrize("conditional", [False, True])
def test_a_batch_over_both_tables_is_a_few_statements_and_all_or_nothing(
    tmp_path: Path, failing: str, conditional: bool
) -> None:
    """Issue 25: a batch's writes are grouped per table (REPLACEs of many rows, DELETEs);
    the last write of a key wins, as it did op by op; a statement that fails leaves nothing."""
    from swarm_star.store import ABSENT, Delete

    db = tmp_path / "s.db"
    with SqliteStore(db) as store:
        store.commit([Put("swarm_state_node_0", "old"), Put("gone", 1), Put("swarm_history_000000000", 0)])
        seen: list[str] = []
        real = store._conn.execute

        def execute(sql: str, *args: object) -> object:
            seen.append(sql.split(" (")[0])
            return real(sql, *args)

        store._conn.execute = execute  # type: ignore[method-assign]
        guard = [Put("fresh", 1, if_version=ABSENT)] if conditional else []
        batch = [
            *guard,
            *(Put(f"swarm_history_{n:09d}", n) for n in range(1, 40)),
            *(Put(f"swarm_state_node_{n}", "new") for n in range(0, 40)),
            Put("gone", 2),
            Delete("gone"),  # the last write of a key wins
            Delete("swarm_history_000000000"),
            Put("back", 1),
            Delete("back"),
            Put("back", 3),
        ]
        store.commit(batch)
        del store._conn.execute
        writes = [s for s in seen if s.startswith(("REPLACE", "DELETE"))]
        # per table: the REPLACEs of 39 and 41 rows (32 + 4 + 2 + 1, 32 + 8 + 1), one DELETE each
        assert len(writes) == 9, writes
        assert store.get("gone") is None and store.get("back") == 3 and store.get("swarm_history_000000000") is None
        assert [v for _, v in store.scan("swarm_history_")] == list(range(1, 40))
        assert {v for _, v in store.scan("swarm_state_node_")} == {"new"}

        table, column, value = ("log", "n", 45) if failing == "log" else ("kv", "key", "swarm_state_node_45")
        _abort_on(db, table, column, value)
        failing_batch = [
            *([Put("fresher", 1, if_version=ABSENT)] if conditional else []),
            *(Put(f"swarm_history_{n:09d}", n) for n in range(40, 50)),
            *(Put(f"swarm_state_node_{n}", "newer") for n in range(0, 50)),
            Delete("swarm_history_000000001"),
        ]
        with pytest.raises(StoreError, match="refused by the test"):
            store.commit(failing_batch)
        assert [v for _, v in store.scan("swarm_history_")] == list(range(1, 40))  # nothing of it
        assert {v for _, v in store.scan("swarm_state_node_")} == {"new"}
        assert store.get("fresher") is None
        store.commit([Put("after", 1)])  # the store is usable afterwards
        assert store.get("after") == 1


def test_batches_of_every_size_write_with_a_few_statement_shapes(tmp_path: Path) -> None:
    """A connection keeps its last 128 prepared statements: one shape per row count made a run
    keep ~13 MB of compiled many-row statements (issue 25). Row counts are cut into a few
    sizes, so batches of 1 to 300 rows use at most nine shapes per table and kind."""
    with SqliteStore(tmp_path / "s.db") as store:
        shapes: set[str] = set()
        real_execute, real_select_one = store._conn.execute, store._conn.select_one

        def execute(sql: str, *args: object) -> object:
            shapes.add(sql)
            return real_execute(sql, *args)

        def select_one(sql: str, *args: object) -> object:
            shapes.add(sql)
            return real_select_one(sql, *args)

        store._conn.execute = execute  # type: ignore[method-assign]
        store._conn.select_one = select_one  # type: ignore[method-assign]
        frame = 0
        for rows in range(1, 301):
            batch = [Put(f"swarm_state_node_{rows}_{i}", i) for i in range(rows)]
            batch += [Put(f"swarm_history_{frame + i:09d}", i) for i in range(rows)]
            frame += rows
            store.commit(batch)
        del store._conn.execute, store._conn.select_one
        writes = {sql for sql in shapes if sql.startswith("REPLACE")}
        assert len(writes) <= 18, len(writes)  # nine per table; was one per row count: 600
        assert max(sql.count("(?, ?)") for sql in writes) <= 256
        assert sum(1 for _ in store.scan("swarm_history_")) == frame
        assert store.get("swarm_state_node_300_299") == 299


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, null, "\\u00e9"]}',
        ' {"a": 1}',
        '{"a": 1} ',
        "[1] x",
        '"s"',
        "3",
        "NaN",
        "[1,",
        "",
        "{'a': 1}",
        b'{"a": 1}',  # a BLOB another tool wrote (was a TypeError traceback)
    ],
)
def test_stored_values_decode_as_json_loads_decodes_them(text: str | bytes) -> None:
    """Issue 25: the store reads a value with the JSON scanner directly when it spans the whole
    text, else with json.loads: the same value, or the same error, either way."""
    import json

    from swarm_star.store.sqlite import _loads

    try:
        expected: object = json.loads(text)
    except json.JSONDecodeError as exc:
        with pytest.raises(json.JSONDecodeError) as caught:
            _loads(text)
        assert str(caught.value) == str(exc)
        return
    got = _loads(text)
    assert got == expected or (got != got and expected != expected)  # NaN
