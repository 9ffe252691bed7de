"""SQLite backend through ``sqlitedict``: one table, JSON text values, WAL.

``sqlitedict`` owns the file, the table and its single connection thread; we
drive that connection with explicit ``BEGIN IMMEDIATE`` … ``COMMIT`` so a batch
(and the conditions it checks) is one SQLite transaction, which is also what
makes compare-and-set safe across processes. Values are JSON text, encoded and
decoded by us (never pickle). The version of a value is a hash of its text.

Why ``outer_stack=False`` and ``busy_timeout``: sqlitedict captures a Python
stack on every statement by default, which costs more than the write itself;
and a second process must wait a bounded time for the lock, then fail clearly.

Why ``COMMIT`` is sent as a statement, never through ``SqliteDict.commit``:
sqlitedict runs its commit request outside the error handling of its worker
thread, so a commit that fails (``database or disk is full``) kills that
thread and the caller waits forever for an answer. A ``COMMIT`` statement goes
through the guarded path and comes back as an error we can report. For the
same reason nothing here waits on a worker thread that is no longer alive.

Reads go through a second, plain ``sqlite3`` connection of this process, never
through sqlitedict's thread: that thread hands a query's rows over one by one
through a queue (a third of the time ``tree`` spent reading 11,170 node
records, issue 25). The read connection runs in autocommit mode, so each
``SELECT`` is its own read transaction: it sees every batch committed before
it started (another process's too, a ``serve`` running the swarm included)
and never holds a snapshot open between queries. Writes, and the reads a
conditional batch makes inside its transaction, stay on sqlitedict's
connection. A store that cannot be written (a read-only file or folder, a
read-only mount) has the read connection only, so ``tree``, ``history`` and
``list`` work; a write says "read-only" in one line.

Why a second table, ``log``, for the history (stores made since issue 25): a
swarm's frames are most of its rows, appended in order and never changed. In
the one ``kv`` table their keys sort between other keys, so every new frame
lands in the middle of the tree and pages split half full; and each row
carried its 23-character key, copied again into the tree's inner pages. In
``log`` a frame is a row keyed by its number (SQLite's rowid): appends fill
pages to the end, and the key is the integer. The store's interface does not
change: ``swarm_history_{nine digits}`` keys are read and written there (see
:data:`LOG_PREFIX`), scans merge both tables in key order, and a store made
before, without the table, keeps every key in ``kv``.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from functools import partial
from json.scanner import make_scanner
from pathlib import Path
from typing import Any, Literal, NoReturn

from sqlitedict import SqliteDict

from swarm_star.errors import ConflictError, StoreCorrupt, StoreError, StoreLocked
from swarm_star.store.base import ABSENT, Guard, KVStore, Put, StoreOp, check_key, encode_value

__all__ = ["DEFAULT_DB_NAME", "SqliteStore"]

DEFAULT_DB_NAME = "swarm_default_kv_store.db"
TABLE = "kv"
LOG_TABLE = "log"
LOG_PREFIX = "swarm_history_"
"""Keys ``{LOG_PREFIX}{nine digits}`` live in :data:`LOG_TABLE` (when the store has it), keyed by
the number. The history's key layout (``state/reader.py``), named here below the state, as
``locator.RECORD_KEY`` is."""
LOG_DIGITS = 9
SCAN_PAGE = 512  # rows per query of a scan
ROW_COUNTS = (256, 128, 64, 32, 16, 8, 4, 2, 1)
"""How many rows one grouped write statement holds: a batch of n rows is cut into these sizes
(at most one statement per size below the largest). Python's sqlite3 keeps the last 128
prepared statements of a connection; with one statement per distinct row count, a run's
batches of every size kept ~13 MB of compiled many-row statements alive (a 10,000-node
run's peak RSS, issue 25). With these sizes a table has at most nine shapes per kind."""
Synchronous = Literal["OFF", "NORMAL", "FULL"]


def _row_groups(rows: int) -> Iterator[tuple[int, int]]:
    """(first row, row count) of each statement that writes ``rows`` rows (see :data:`ROW_COUNTS`)."""
    at = 0
    for size in ROW_COUNTS:
        while rows - at >= size:
            yield at, size
            at += size


# what json.loads calls, without its wrapping (typeshed types the context as a scanner: it is a decoder)
_scan_value = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _loads(text: str) -> Any:
    """``json.loads(text)``, reading a stored value with the C scanner directly when it is one JSON
    value from the first character to the last (as every value this store writes is), else through
    ``json.loads`` (which reads it or raises as it always did).

    Why: ``json.loads`` runs four Python frames and two regex matches around the scanner per
    value; a scan of 11,170 node records paid a third of its decoding in them (issue 25)."""
    if type(text) is not str:  # a BLOB put there by another tool: json.loads reads bytes too
        return json.loads(text)
    try:
        value, end = _scan_value(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _version(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _translate(exc: BaseException, path: Path) -> StoreError:
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        return StoreLocked(f"store {path} is locked by another process")
    if "not a database" in msg or "malformed" in msg or "file is encrypted" in msg:
        return StoreCorrupt(f"store {path} is corrupt or not a Swarm Star database")
    if "full" in msg or "disk I/O" in msg:
        return StoreError(f"store {path}: the disk is full or failing ({msg}); nothing of this batch was written")
    return StoreError(f"store {path}: {msg}")


class SqliteStore(KVStore):
    """A swarm's store in one SQLite file (``swarm_default_kv_store.db``)."""

    def __init__(
        self,
        path: str | Path,
        *,
        lock_timeout: float = 5.0,
        synchronous: Synchronous = "FULL",
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"store {self.path} does not exist")
        self._lock = threading.Lock()  # the write connection (sqlitedict's thread) and closing
        self._read_lock = threading.Lock()  # the read connection: reads do not wait for a commit's fsync
        self._closed = False
        self._lock_timeout = lock_timeout
        self._read_only: sqlite3.Connection | None = None
        self._reads: sqlite3.Connection | None = None  # opened on the first read (module docstring)
        if self.path.exists() and not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)):
            self._read_only = self._reads = self._connect_read_only()
            self._inode = os.stat(self.path).st_ino
            self._log = bool(
                self._select("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LOG_TABLE,))
            )
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._check_header()
        quiet = logging.getLogger("sqlitedict")
        quiet.propagate = False  # its thread logs every SQL error; we raise them instead
        if not quiet.handlers:
            quiet.addHandler(logging.NullHandler())
        try:
            self._create_table()
            self._dict = SqliteDict(
                str(self.path),
                tablename=TABLE,
                journal_mode="WAL",
                encode=partial(encode_value, secrets=self.secrets),
                decode=json.loads,
                autocommit=False,
                outer_stack=False,
            )
            self._conn = self._dict.conn
            self._conn.select_one(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
            self._conn.select_one(f"PRAGMA synchronous = {synchronous}")
            self._conn.select_one(f'SELECT count(*) FROM "{TABLE}" WHERE 0')
        except (sqlite3.Error, RuntimeError) as exc:
            self._abandon()
            raise _translate(exc, self.path) from exc
        self._inode = os.stat(self.path).st_ino
        self._log = bool(
            self._conn.select_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LOG_TABLE,))
        )

    def _create_table(self) -> None:
        """A new store's table is keyed by its key alone (``WITHOUT ROWID``): sqlitedict's own
        table is a rowid table plus an index holding every key a second time, which made a
        sixth of a swarm's file. Made before sqlitedict opens the file (it only creates the
        table if it is missing); stores made before keep their table, and every statement
        here works on both."""
        try:
            if self.path.exists() and os.stat(self.path).st_size > 0:
                return
        except OSError:
            return
        with contextlib.closing(sqlite3.connect(self.path)) as conn:  # a new file: no lock of ours to drop
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{TABLE}" (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID')
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{LOG_TABLE}" (n INTEGER PRIMARY KEY, value BLOB)')
            conn.commit()

    def _check_header(self) -> None:
        """Refuse a non-SQLite or damaged file up front, before sqlitedict's thread trips
        on it (an error while that thread connects is printed as a thread traceback).

        The check goes through SQLite, never a plain ``open()`` of the file: closing
        any descriptor of the database file drops every POSIX lock this process holds
        on it, SQLite's included, and another process would then checkpoint and
        delete the WAL under a writer in this process (issue 19, item 1).
        """
        try:
            if os.stat(self.path).st_size == 0:
                return
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"store {self.path} cannot be read: {exc.strerror}") from exc
        self._connect_read_only().close()

    def _connect_read_only(self) -> sqlite3.Connection:
        """A read-only connection that has read the schema (so damage shows here).

        ``mode=ro`` first; where not even SQLite's shared-memory file can be
        made (a read-only folder), ``immutable=1``, which reads the database
        file alone (a read-only store has no writer).
        """
        uri = self.path.resolve().as_uri()
        failure: sqlite3.Error | None = None
        for params in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(f"{uri}?{params}", uri=True, timeout=5, check_same_thread=False)
            except sqlite3.Error as exc:
                failure = exc
                continue
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                failure = exc
            except sqlite3.Error as exc:
                conn.close()
                raise _translate(exc, self.path) from exc
        assert failure is not None
        raise _translate(failure, self.path) from failure

    def _check_same_file(self) -> None:
        """A store whose file was deleted or replaced while open must not look fine:
        SQLite would go on writing to the unlinked file and the run would "finish"."""
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            inode = None
        if inode != self._inode:
            raise StoreError(f"store {self.path} was deleted or replaced while in use; nothing more was written")

    def _abandon(self) -> None:
        self._closed = True
        if self._reads is not None:
            self._reads.close()
        conn = getattr(getattr(self, "_dict", None), "conn", None)
        if conn is not None:
            conn.close(force=True)

    def _alive(self) -> None:
        """Fail instead of queueing work for a worker thread that has died."""
        if self._read_only is not None:
            raise StoreError(f"store {self.path} is read-only; nothing can be written to it")
        if not self._conn.is_alive():
            self._closed = True
            raise StoreError(f"store {self.path}: its connection thread has stopped")

    def _select(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query on the read connection (the caller holds ``_read_lock``)."""
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        conn = self._reads or self._connect_reads()
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc

    def _connect_reads(self) -> sqlite3.Connection:
        """The read connection of a writable store: autocommit (each query its own read
        transaction) and ``query_only`` (it can write nothing, whatever a bug asks)."""
        try:
            conn = sqlite3.connect(self.path, timeout=self._lock_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        try:
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            conn.close()
            raise _translate(exc, self.path) from exc
        self._reads = conn
        return conn

    def _commit_now(self) -> None:
        """COMMIT as a statement: its failure comes back to us (see module docstring)."""
        self._conn.select_one("COMMIT")

    def _log_number(self, key: str) -> int | None:
        """The number of a key kept in the log table, or None (a key of ``kv``)."""
        if not self._log or not key.startswith(LOG_PREFIX):
            return None
        digits = key[len(LOG_PREFIX) :]
        return int(digits) if len(digits) == LOG_DIGITS and digits.isascii() and digits.isdigit() else None

    def _where(self, key: str) -> tuple[str, str, Any]:
        """The table, key column and key value a key is stored under."""
        number = self._log_number(key)
        return (TABLE, "key", key) if number is None else (LOG_TABLE, "n", number)

    def get_versioned(self, key: str) -> tuple[Any, str] | None:
        table, column, value = self._where(key)
        with self._read_lock:
            rows = self._select(f'SELECT value FROM "{table}" WHERE {column} = ?', (value,))
        if not rows:
            return None
        text = rows[0][0]
        return _loads(text), _version(text)

    def scan(self, prefix: str, start: str | None = None) -> Iterator[tuple[str, Any]]:
        # Read in pages, not all at once: a 10,000-node history is ~40 MB of text, and
        # `history` / a tree at a frame only need one frame at a time (issue 16).
        rows = self._scan_kv(prefix, start)
        if self._log and (prefix.startswith(LOG_PREFIX) or LOG_PREFIX.startswith(prefix)):
            rows = heapq.merge(rows, self._scan_log(prefix, start), key=lambda row: row[0])
        return rows

    def _scan_kv(self, prefix: str, start: str | None) -> Iterator[tuple[str, Any]]:
        low = max(prefix, start) if start else prefix
        high = prefix + "\U0010ffff"
        op = ">="
        while True:
            with self._read_lock:
                rows = self._select(
                    f'SELECT key, value FROM "{TABLE}" WHERE key {op} ? AND key < ? ORDER BY key LIMIT {SCAN_PAGE}',
                    (low, high),
                )
            for key, text in rows:
                yield key, _loads(text)
            if len(rows) < SCAN_PAGE:
                return
            low, op = rows[-1][0], ">"

    def _scan_log(self, prefix: str, start: str | None) -> Iterator[tuple[str, Any]]:
        """The log rows whose keys start with ``prefix`` (and are >= ``start``), in key order
        (the numbers are zero-padded, so number order is key order)."""
        digits = prefix[len(LOG_PREFIX) :] if prefix.startswith(LOG_PREFIX) else ""
        if len(digits) > LOG_DIGITS or not ((digits.isascii() and digits.isdigit()) or not digits):
            return
        low, high = int(digits.ljust(LOG_DIGITS, "0")), int(digits.ljust(LOG_DIGITS, "9"))
        low_key = max(prefix, start) if start else prefix
        first = self._log_number(low_key)
        if first is not None:  # the query starts at ``start``, not at the prefix's first row (a live
            low = max(low, first)  # tail reading the newest frames of a block read all of it each time)
        while low <= high:
            with self._read_lock:
                rows = self._select(
                    f'SELECT n, value FROM "{LOG_TABLE}" WHERE n >= ? AND n <= ? ORDER BY n LIMIT {SCAN_PAGE}',
                    (low, high),
                )
            for number, text in rows:
                key = f"{LOG_PREFIX}{number:0{LOG_DIGITS}d}"
                if key >= low_key:
                    yield key, _loads(text)
            if len(rows) < SCAN_PAGE:
                return
            low = rows[-1][0] + 1

    def commit(self, ops: Sequence[StoreOp]) -> None:
        secrets = self.secrets
        encoded = [
            (op, encode_value(op.value, secrets) if isinstance(op, Put) else None) for op in ops if check_key(op.key)
        ]
        if not encoded:
            return
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            self._alive()
            self._check_same_file()
            statements = self._statements(encoded)
            if not any(op.if_version is not None for op, _ in encoded):
                self._unconditional(statements)
                return
            try:
                self._conn.select_one("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc
            try:
                self._check_conditions(ops)
                for sql, args in statements:
                    self._conn.execute(sql, args)
                # A blocking no-op surfaces any error of the queued writes before COMMIT.
                self._conn.select_one("SELECT 1")
                self._commit_now()
            except BaseException as exc:
                self._undo(exc)

    def _statements(self, encoded: list[tuple[StoreOp, str | None]]) -> list[tuple[str, tuple[Any, ...]]]:
        """The batch's writes as few statements: per table, one ``DELETE … IN`` and one multi-row
        ``REPLACE``, cut into the sizes of :data:`ROW_COUNTS`.

        Why: a batch of frames writes two tables (``log`` and ``kv``), and one statement per
        row cost a trip through sqlitedict's queue each (issue 25). A batch applies as a whole,
        so only the last write of each key counts, and writes to distinct keys commute."""
        last: dict[str, tuple[StoreOp, str | None]] = {}
        for op, text in encoded:
            if not isinstance(op, Guard):
                last.pop(op.key, None)  # the key's latest write goes last, as in the batch
                last[op.key] = (op, text)
        deletes: dict[tuple[str, str], list[Any]] = {}
        puts: dict[tuple[str, str], list[Any]] = {}
        for op, text in last.values():
            table, column, key = self._where(op.key)
            if text is None:
                deletes.setdefault((table, column), []).append(key)
            else:
                puts.setdefault((table, column), []).extend((key, text))
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for (table, column), keys in deletes.items():
            for at, size in _row_groups(len(keys)):
                marks = ", ".join(["?"] * size)
                statements.append((f'DELETE FROM "{table}" WHERE {column} IN ({marks})', tuple(keys[at : at + size])))
        for (table, column), pairs in puts.items():
            for at, size in _row_groups(len(pairs) // 2):
                rows = ", ".join(["(?, ?)"] * size)
                chunk = tuple(pairs[2 * at : 2 * (at + size)])
                statements.append((f'REPLACE INTO "{table}" ({column}, value) VALUES {rows}', chunk))
        return statements

    def _unconditional(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """A batch with no condition, in two round trips to sqlitedict's thread whatever it holds.

        No explicit ``BEGIN``: the connection opens a transaction before the first write
        (Python's sqlite3 does so for every ``REPLACE``/``DELETE``), so several statements
        commit together or not at all; the last one is waited for, which also raises any
        error of the ones queued before it (then nothing is committed: ROLLBACK)."""
        if not statements:  # guards only
            return
        try:
            for sql, args in statements[:-1]:
                self._conn.execute(sql, args)
            self._conn.select_one(*statements[-1])  # waits: its error, or a queued one's, is reported here
            self._commit_now()
        except BaseException as exc:
            self._undo(exc)

    def _check_conditions(self, ops: Sequence[StoreOp]) -> None:
        for op in ops:
            if op.if_version is None:
                continue
            table, column, key = self._where(op.key)
            rows = list(self._conn.select(f'SELECT value FROM "{table}" WHERE {column} = ?', (key,)))
            current = _version(rows[0][0]) if rows else ABSENT
            if current != op.if_version:
                what = "already exists" if op.if_version == ABSENT else "changed"
                raise ConflictError(f"{op.key} {what} (compare-and-set lost)")

    def _undo(self, exc: BaseException) -> NoReturn:
        """Roll back the open transaction and re-raise, SQLite errors as store errors."""
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise _translate(exc, self.path) from exc
        raise exc

    def _rollback(self) -> None:
        try:
            self._conn.select_one("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction open: nothing to undo

    def close(self) -> None:
        with self._lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            if self._reads is not None:  # first: sqlitedict's connection is the last to close
                self._reads.close()
            if self._read_only is not None:
                return
            if not self._conn.is_alive():
                return
            try:
                self._dict.close()
            except (sqlite3.Error, RuntimeError):
                self._dict.conn.close(force=True)
