"""Azure Cosmos DB backend through ``azure-cosmos``.

Layout: one item per key, ``id = {user_id}_{swarm_id}_{category}_{key}``, all
of a swarm's items in one logical partition ``pk = {user_id}_{swarm_id}``, the
value under ``value``. Versions are Cosmos ETags, so compare-and-set is an
``if_match`` replace (or a ``create`` for "must not exist").

Atomic batches, two ways (chosen once per store, ``batch_mode="auto"`` probes):

* ``transactional`` — Cosmos DB's transactional batch (``execute_item_batch``),
  all-or-nothing within the partition, up to 100 operations. Used on real
  Cosmos DB and the official emulator.
* ``journal`` — for servers without a working transactional batch (the
  ``@vercel/cosmosdb-server`` used in tests: the Python SDK sends the batch's
  partition key only as a request header while that server reads it from each
  operation, so every batch answers 500; and it would not roll back a failed
  batch anyway). The batch is first written as one journal item, which also
  serialises writers of the partition. Under it, one query reads the ETag of
  every item the batch names; conditions are checked against them, each
  operation records its item's ETag (or that it is absent), and the journal is
  flipped to ``committed`` (the single-item write, on the journal's own ETag,
  that is the commit point). The operations are then applied, each *only over
  the ETag it recorded* (replace/delete if-match, create for an absent item),
  and the journal is deleted.

  So an operation lands once, whoever rolls the journal forward first, and
  never over a later write: a writer frozen inside its roll-forward whose
  journal was taken over (and whose swarm a new owner has written on since)
  writes nothing when it continues. The one write such a writer could still
  make is a create of an item the batch created that a later batch deleted;
  no batch deletes an item that a batch creates (only inbox answers are
  deleted, and ``answer`` writes them alone, outside any journal).

  Readers read *through* the journal: every read is one query that returns
  the items asked for together with the journal, and a committed journal's
  operations that are still pending (their item still has the recorded ETag,
  or is still absent) are laid over what it returns. So a reader sees a batch
  whole or not at all, whatever the age of the journal and whether its writer
  is alive (a writer killed after applying 2 of 8 operations leaves a state no
  reader can see), and never an operation laid over a newer value. A writer
  that finds a committed journal rolls it forward before its own batch.

  Whose journal may be taken over: one older than ``lease_seconds``, or one
  whose holder provably no longer runs (same host, boot and PID namespace, pid
  gone; see :mod:`swarm_star.store.identity`), so a resume right after a kill
  does not wait. A journal held by a live-looking writer elsewhere is waited
  for, bounded by the later of the lock timeout and its expiry, with one
  message saying so.

Missing items: real Cosmos DB answers 404 to a point read of an absent item;
that test server answers 500 (its handler dereferences the missing document).
A store probes this once, at its first point read (a point read of an id that
cannot exist); where the answer is 500, it reads by a query on the id instead
(one round trip, and no SDK retry loop on the 500). A 500 on a point read
elsewhere is double-checked the same way.

What the server supports is data (:class:`ServerProfile`), probed on first
use, never in the constructor: opening a store makes no request, so an
unreachable endpoint is reported by the first read or write that needs it.
Every wait here (a journal held by another writer) is a ``time.sleep`` in the
calling thread; the engine commits from a worker thread of its own, so that
wait never holds up its event loop.

Crash tests stop a writer at a chosen instant of a roll-forward. The store
offers one hook point for that, :attr:`CosmosStore.roll_forward_hook` (None
in production), which ``tests/helpers/kill_journal.py`` installs.

Queries: that server ignores the partition-key request header and answers 400
"missing partition keys" unless the query text itself filters on the partition
key path, so every query here says ``c.pk = @pk`` in its text as well.
"""

from __future__ import annotations

import binascii
import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ServiceRequestError
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey
from azure.cosmos import exceptions as cosmos_exc

from swarm_star.errors import ConfigError, ConflictError, StoreError, StoreLocked, StoreUnavailable
from swarm_star.store.base import ABSENT, Delete, Guard, KVStore, Put, StoreOp, check_key, clean_value, encode_value
from swarm_star.store.identity import holder_gone, process_identity

__all__ = ["CosmosSettings", "CosmosStore", "RollForwardHook", "ServerProfile", "open_cosmos_container"]

BatchMode = Literal["auto", "transactional", "journal"]
JOURNAL_KEY = "__journal"
MAX_TRANSACTIONAL_OPS = 100

RollForwardHook = Callable[["CosmosStore", int], None]
"""Called with the store and ``k`` before the k-th operation of each journal roll-forward."""

_log = logging.getLogger("swarm_star.store")


class CosmosSettings:
    """Connection settings read from ``COSMOS_*`` variables; the key is never persisted."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.endpoint = env.get("COSMOS_ENDPOINT", "")
        self.key = env.get("COSMOS_KEY", "")
        self.database = env.get("COSMOS_DATABASE", "swarm_star")
        self.container = env.get("COSMOS_CONTAINER", "swarms")
        self.verify_tls = env.get("COSMOS_VERIFY_TLS", "1") not in ("0", "false", "no")
        if not self.endpoint or not self.key:
            raise ConfigError("Cosmos DB store needs COSMOS_ENDPOINT and COSMOS_KEY")

    def __repr__(self) -> str:  # never show the key
        return f"CosmosSettings(endpoint={self.endpoint!r}, database={self.database!r})"


def _translate(exc: BaseException, what: str) -> StoreError:
    if isinstance(exc, cosmos_exc.CosmosHttpResponseError):
        status = exc.status_code
        if status in (401, 403):
            return StoreUnavailable(f"Cosmos DB rejected the credentials ({what})")
        if status in (409, 412):
            return ConflictError(f"{what}: changed by another writer")
        first = str(exc.message or exc).splitlines()[0][:160]
        return StoreError(f"Cosmos DB error {status} during {what}: {first}")
    if isinstance(exc, ServiceRequestError):
        return StoreUnavailable(f"cannot reach Cosmos DB ({what})")
    return StoreError(f"Cosmos DB failure during {what}: {exc}")


def _warn_once_without_tls(endpoint: str) -> None:
    """urllib3 shows InsecureRequestWarning on every request (dozens per run against a local
    emulator with COSMOS_VERIFY_TLS=0, per host name it is reached by); one warning of ours
    per process says the same thing."""
    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    warnings.warn(
        f"TLS certificate verification is off for Cosmos DB at {endpoint} (COSMOS_VERIFY_TLS=0): "
        "use this only with a local emulator",
        stacklevel=3,
    )


def open_cosmos_container(settings: CosmosSettings) -> ContainerProxy:
    """Connect and create the database/container if needed (partition key ``/pk``)."""
    if not settings.verify_tls:
        _warn_once_without_tls(settings.endpoint)
    try:
        client = CosmosClient(
            settings.endpoint,
            credential=settings.key,
            connection_verify=settings.verify_tls,
            retry_total=2,
            retry_connect=1,
            retry_status=0,
            connection_timeout=5,
        )
        database = client.create_database_if_not_exists(settings.database)
        return database.create_container_if_not_exists(settings.container, partition_key=PartitionKey(path="/pk"))
    except binascii.Error as exc:
        raise StoreUnavailable("COSMOS_KEY is not a valid Cosmos DB key (base64)") from exc
    except (AzureError, OSError) as exc:
        raise _translate(exc, f"connecting to {settings.endpoint}") from exc


@dataclass(frozen=True)
class ServerProfile:
    """What a Cosmos DB endpoint supports, found by probing it (real Cosmos DB: both True)."""

    transactional_batch: bool  # False: atomic batches go through the journal
    point_read_of_missing: bool  # False: an absent id answers 500, not 404 (read by a query instead)


class CosmosStore(KVStore):
    """One swarm's partition in a shared Cosmos DB container. Opening one sends no request."""

    roll_forward_hook: ClassVar[RollForwardHook | None] = None
    """The crash suite's hook point (see the module's docstring); None outside tests."""

    def __init__(
        self,
        container: ContainerProxy,
        *,
        user_id: str,
        swarm_id: str,
        batch_mode: BatchMode = "auto",
        lease_seconds: float = 15.0,
        lock_timeout: float = 10.0,
    ) -> None:
        self._container = container
        self.partition = f"{user_id}_{swarm_id}"
        check_key(self.partition)
        self._lease = lease_seconds
        self._lock_timeout = lock_timeout
        self._batch_mode: BatchMode = batch_mode
        self._point_reads: bool | None = None  # probed at the first point read
        self._probe_lock = threading.RLock()  # commit and lease threads may probe at once; a probe reads

    @property
    def batch_mode(self) -> BatchMode:
        """``transactional`` or ``journal``; ``auto`` is resolved by a probe at the first batch."""
        if self._batch_mode == "auto":
            with self._probe_lock:
                if self._batch_mode == "auto":
                    self._batch_mode = "transactional" if self._batch_works() else "journal"
        return self._batch_mode

    @property
    def _query_reads(self) -> bool:
        """Read single items by a query (the server answers 500 to a point read of an absent id)."""
        if self._point_reads is None:
            with self._probe_lock:
                if self._point_reads is None:
                    self._point_reads = not self._point_read_of_missing_fails()
        return not self._point_reads

    def profile(self) -> ServerProfile:
        """What this endpoint supports (probed now if not yet)."""
        return ServerProfile(self.batch_mode == "transactional", not self._query_reads)

    # ids and documents

    def _id(self, key: str) -> str:
        return f"{self.partition}_{check_key(key)}"

    def _doc(self, key: str, value: Any) -> dict[str, Any]:
        value = clean_value(value, self.secrets)  # JSON-only, no lone surrogates, keys masked: as on SQLite
        return {"id": self._id(key), "pk": self.partition, "key": key, "value": value}

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (AzureError, OSError) as exc:
            raise _translate(exc, what) from exc

    # reads

    def _point_read_of_missing_fails(self) -> bool:
        try:
            self._container.read_item(self._id("__never_written"), partition_key=self.partition)
        except cosmos_exc.CosmosResourceNotFoundError:
            return False
        except cosmos_exc.CosmosHttpResponseError as exc:
            if exc.status_code == 500:
                return True
            raise _translate(exc, "opening the swarm partition") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, "opening the swarm partition") from exc
        return False

    def _read_item(self, item_id: str) -> dict[str, Any] | None:
        if self._query_reads:
            rows = self._query("c.id = @id", [{"name": "@id", "value": item_id}])
            return rows[0] if rows else None
        try:
            return self._container.read_item(item_id, partition_key=self.partition)
        except cosmos_exc.CosmosResourceNotFoundError:
            return None
        except cosmos_exc.CosmosHttpResponseError as exc:
            if exc.status_code != 500:
                raise _translate(exc, f"read {item_id}") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, f"read {item_id}") from exc
        rows = self._query("c.id = @id", [{"name": "@id", "value": item_id}])
        return rows[0] if rows else None

    def _query(self, where: str, params: list[dict[str, Any]], fields: str = "*") -> list[dict[str, Any]]:
        """Query this swarm's partition. The ``c.pk`` filter is in the text as well as
        in the request: real Cosmos DB scopes by the header alone, the test server
        ignores the header and rejects queries whose text names no partition key."""
        sql = f"SELECT {fields} FROM c WHERE c.pk = @pk AND {where}"
        params = [{"name": "@pk", "value": self.partition}, *params]
        return self._call(
            "query",
            lambda: list(self._container.query_items(sql, parameters=params, partition_key=self.partition)),
        )

    def _read_through(self, where: str, params: list[dict[str, Any]], wanted: Any) -> dict[str, tuple[Any, str]]:
        """``{key: (value, version)}`` of the items ``where`` selects, as of one
        instant, with a committed journal's operations laid over them.

        One query returns the items and the journal together (a single query is
        one read of the partition), so the overlay matches what was read.
        A laid-over value's version is the journal's: it never equals a stored
        ETag, so a compare-and-set against it fails and is retried after the
        roll-forward, as it must.
        """
        params = [*params, {"name": "@jid", "value": self._id(JOURNAL_KEY)}]
        rows = self._query(f"({where} OR c.id = @jid)", params)
        found: dict[str, tuple[Any, str]] = {}
        journal = None
        for row in rows:
            if row.get("key") == JOURNAL_KEY:
                journal = row
            elif "key" in row and wanted(row["key"]):
                found[row["key"]] = (row["value"], row["_etag"])
        if journal is not None and journal.get("state") == "committed":
            stored = {key: version for key, (_, version) in found.items()}
            for entry in journal.get("ops", []):
                if not wanted(entry["key"]) or not _pending(entry, stored.get(entry["key"])):
                    continue
                if "value" in entry:
                    found[entry["key"]] = (entry["value"], f"journal-{journal['_etag']}")
                else:
                    found.pop(entry["key"], None)
        return found

    def get_versioned(self, key: str) -> tuple[Any, str] | None:
        item_id = self._id(key)
        found = self._read_through("c.id = @id", [{"name": "@id", "value": item_id}], lambda k: k == key)
        return found.get(key)

    def scan(self, prefix: str, start: str | None = None) -> Iterator[tuple[str, Any]]:
        found = self._read_through(
            "STARTSWITH(c.id, @p)",
            [{"name": "@p", "value": f"{self.partition}_{prefix}"}],
            lambda k: k.startswith(prefix) and k != JOURNAL_KEY,
        )
        for key in sorted(found):
            if start is None or key >= start:
                yield key, found[key][0]

    # writes

    def commit(self, ops: Sequence[StoreOp]) -> None:
        for op in ops:
            check_key(op.key)
            if isinstance(op, Put):
                encode_value(op.value, self.secrets)
        if not ops:
            return
        if all(isinstance(op, Guard) for op in ops):
            self._check_all(ops)
            return
        if self.batch_mode == "transactional" and len(ops) <= MAX_TRANSACTIONAL_OPS:
            self._transactional(ops)
        elif len(ops) == 1 and ops[0].if_version is None:
            self._apply(ops[0])  # one unconditional item write is atomic by itself
        else:
            self._journaled(ops)

    def _transactional(self, ops: Sequence[StoreOp]) -> None:
        batch: list[tuple[Any, ...]] = []
        for op in ops:
            if isinstance(op, Guard):
                batch.append(("read", (self._id(op.key),), {"if_match_etag": op.if_version}))
            elif isinstance(op, Put):
                doc = self._doc(op.key, op.value)
                if op.if_version is None:
                    batch.append(("upsert", (doc,)))
                elif op.if_version == ABSENT:
                    batch.append(("create", (doc,)))
                else:
                    batch.append(("replace", (doc["id"], doc), {"if_match_etag": op.if_version}))
            elif op.if_version not in (None, ABSENT):
                batch.append(("delete", (self._id(op.key),), {"if_match_etag": op.if_version}))
            elif op.if_version == ABSENT:
                if self._read_item(self._id(op.key)) is not None:
                    raise ConflictError(f"{op.key} exists (compare-and-set lost)")
            elif self._read_item(self._id(op.key)) is not None:
                batch.append(("delete", (self._id(op.key),)))
        if not batch:
            return
        try:
            self._container.execute_item_batch(batch, partition_key=self.partition)
        except cosmos_exc.CosmosBatchOperationError as exc:
            if exc.status_code in (409, 412, 404):
                raise ConflictError(f"batch lost a compare-and-set ({exc.status_code})") from exc
            raise _translate(exc, "transactional batch") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, "transactional batch") from exc

    def _apply(self, op: StoreOp) -> None:
        """Apply one operation; conditions here are enforced by Cosmos itself."""
        if isinstance(op, Put):
            doc = self._doc(op.key, op.value)
            if op.if_version is None:
                self._call(f"write {op.key}", self._container.upsert_item, doc)
            elif op.if_version == ABSENT:
                self._call(f"create {op.key}", self._container.create_item, doc)
            else:
                self._call(
                    f"replace {op.key}",
                    self._container.replace_item,
                    doc["id"],
                    doc,
                    etag=op.if_version,
                    match_condition=_if_match(),
                )
            return
        try:
            self._container.delete_item(self._id(op.key), partition_key=self.partition)
        except cosmos_exc.CosmosResourceNotFoundError:
            pass
        except cosmos_exc.CosmosHttpResponseError as exc:
            if exc.status_code != 500 or self._read_item(self._id(op.key)) is not None:
                raise _translate(exc, f"delete {op.key}") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, f"delete {op.key}") from exc

    def _journaled(self, ops: Sequence[StoreOp]) -> None:
        writes = {op.key: op for op in ops if not isinstance(op, Guard)}  # the last op on a key wins
        payload = [
            {"key": op.key, "value": clean_value(op.value, self.secrets)} if isinstance(op, Put) else {"key": op.key}
            for op in writes.values()
        ]
        journal = self._acquire_journal(payload, "pending")
        try:
            versions = self._versions({op.key for op in ops})
            for op in ops:
                if op.if_version is not None and versions.get(op.key, ABSENT) != op.if_version:
                    what = "already exists" if op.if_version == ABSENT else "changed"
                    raise ConflictError(f"{op.key} {what} (compare-and-set lost)")
        except BaseException:
            self._release_journal(journal)
            raise
        # Each operation keeps the ETag its item has now (None: absent), so rolling the
        # journal forward writes an item only over that version (see _apply_entry).
        journal["ops"] = [{**entry, "etag": versions.get(entry["key"])} for entry in payload]
        journal["state"] = "committed"
        try:  # the commit point: only over our own pending journal, not one that was taken over
            journal = self._container.replace_item(
                journal["id"], journal, etag=journal["_etag"], match_condition=_if_match()
            )
        except cosmos_exc.CosmosResourceNotFoundError as exc:
            raise ConflictError("journal commit: taken over by another writer") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, "journal commit") from exc
        self._roll_forward(journal)

    def _versions(self, keys: set[str]) -> dict[str, str]:
        """The current ETag of each of ``keys`` that exists, in one query."""
        ids = [self._id(key) for key in sorted(keys)]
        rows = self._query("ARRAY_CONTAINS(@ids, c.id)", [{"name": "@ids", "value": ids}], fields="c.key, c._etag")
        return {row["key"]: row["_etag"] for row in rows}

    def _check_all(self, ops: Sequence[StoreOp]) -> None:
        """A batch of checks only: raise ConflictError unless all hold (writes nothing)."""
        for op in ops:
            found = self._read_item(self._id(op.key))
            if (ABSENT if found is None else found["_etag"]) != op.if_version:
                raise ConflictError(f"{op.key} changed (check failed)")

    def _acquire_journal(self, payload: list[dict[str, Any]], state: str) -> dict[str, Any]:
        """Create the journal item, waiting while another writer holds it.

        A partition that is merely busy (journals coming and going) is waited
        for as long as writers make progress, up to a hard cap; StoreLocked
        means one journal stayed put for the lock timeout and until it may be
        taken over (its expiry), or the cap ran out. A wait on one journal of
        more than a couple of seconds is said once: a resume right after a
        writer elsewhere went silent waits for its journal to expire, bounded.
        """
        started = time.monotonic()
        hard_deadline = started + 3 * self._lock_timeout + self._lease + 1
        seen_owner: object = None
        stuck_since = started
        delay = 0.01
        told = False
        while True:
            doc = {
                "id": self._id(JOURNAL_KEY),
                "pk": self.partition,
                "key": JOURNAL_KEY,
                "owner": uuid.uuid4().hex,
                "holder": process_identity(),
                "time": time.time(),
                "state": state,
                "ops": payload,
            }
            try:
                return self._container.create_item(doc)
            except cosmos_exc.CosmosResourceExistsError:
                pass
            except (AzureError, OSError) as exc:
                raise _translate(exc, "journal write") from exc
            held = self._read_item(self._id(JOURNAL_KEY))
            now = time.monotonic()
            if held is None or self._take_over(held):
                if now > hard_deadline:
                    raise StoreLocked(f"Cosmos DB partition {self.partition} is busy (journal held)")
                continue
            if held.get("owner") != seen_owner:  # progress: another writer got its turn
                seen_owner, stuck_since, delay = held.get("owner"), now, 0.01
            expires = float(held.get("time", 0)) + self._lease - time.time()
            wait_until = min(max(stuck_since + self._lock_timeout, now + expires + 0.5), hard_deadline)
            if now > wait_until:
                raise StoreLocked(f"Cosmos DB partition {self.partition} is busy (journal held)")
            if not told and now - stuck_since > min(2.0, self._lock_timeout):
                holder = held.get("holder") or {}
                _log.warning(
                    "Cosmos DB swarm %s: waiting up to %.0f s for the journal of pid %s on %s",
                    self.partition,
                    wait_until - now,
                    holder.get("pid", "?"),
                    holder.get("host", "another host"),
                )
                told = True
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _abandoned(self, journal: dict[str, Any]) -> bool:
        if time.time() - float(journal.get("time", 0)) >= self._lease:
            return True
        return holder_gone(journal.get("holder") or {})

    def _take_over(self, journal: dict[str, Any]) -> bool:
        """Finish (committed) or drop (pending) an abandoned journal; False if it is live.

        The journal is first *claimed* (rewritten with us as holder, on its
        ETag), so one process takes it over (a slower one, or the frozen writer
        itself, re-applying it later writes nothing: each operation is
        conditional on its item's ETag at the commit point, see
        :meth:`_apply_entry`). Readers never take over (they read through).
        """
        if not self._abandoned(journal):
            return False
        claim = {**journal, "holder": process_identity(), "time": time.time()}
        try:
            journal = self._container.replace_item(
                journal["id"], claim, etag=journal["_etag"], match_condition=_if_match()
            )
        except (cosmos_exc.CosmosAccessConditionFailedError, cosmos_exc.CosmosResourceNotFoundError):
            return True  # another writer claimed or finished it: look again
        except cosmos_exc.CosmosHttpResponseError as exc:
            if exc.status_code in (404, 412, 500):
                return True
            raise _translate(exc, "journal takeover") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, "journal takeover") from exc
        if journal.get("state") == "committed":
            self._roll_forward(journal)
        else:
            self._release_journal(journal)
        return True

    def _roll_forward(self, journal: dict[str, Any]) -> None:
        hook = CosmosStore.roll_forward_hook
        for i, entry in enumerate(journal["ops"]):
            if hook is not None:
                hook(self, i)
            self._apply_entry(entry)
        self._release_journal(journal)

    def _apply_entry(self, entry: dict[str, Any]) -> None:
        """Apply one operation of a committed journal, conditional on the ETag its item had
        at the commit point: it lands once, whoever rolls the journal forward first, and
        never over a later write. So a writer frozen here that lost the journal to a
        takeover (and the swarm to a new owner) writes nothing when it continues."""
        key = entry["key"]
        if "etag" not in entry:  # a journal written before ETags were recorded: as it was then
            self._apply(Put(key, entry["value"]) if "value" in entry else Delete(key))
            return
        etag = entry["etag"]
        try:
            if "value" in entry:
                doc = self._doc(key, entry["value"])
                if etag is None:
                    self._container.create_item(doc)
                else:
                    self._container.replace_item(doc["id"], doc, etag=etag, match_condition=_if_match())
            elif etag is not None:
                self._container.delete_item(
                    self._id(key), partition_key=self.partition, etag=etag, match_condition=_if_match()
                )
        except cosmos_exc.CosmosHttpResponseError as exc:
            if exc.status_code not in (404, 409, 412):  # applied already, or written since: done
                raise _translate(exc, f"roll forward {key}") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, f"roll forward {key}") from exc

    def _release_journal(self, journal: dict[str, Any]) -> None:
        try:
            self._container.delete_item(
                journal["id"],
                partition_key=self.partition,
                etag=journal["_etag"],
                match_condition=_if_match(),
            )
        except (
            cosmos_exc.CosmosResourceNotFoundError,
            cosmos_exc.CosmosAccessConditionFailedError,
        ):
            pass  # someone else already finished it
        except cosmos_exc.CosmosHttpResponseError as exc:
            if exc.status_code != 500:
                raise _translate(exc, "journal release") from exc
        except (AzureError, OSError) as exc:
            raise _translate(exc, "journal release") from exc

    def _batch_works(self) -> bool:
        probe = self._doc("__batch_probe", {"probe": True})
        try:
            self._container.execute_item_batch([("upsert", (probe,))], partition_key=self.partition)
        except (AzureError, OSError):
            return False
        self._apply(Delete("__batch_probe"))
        return True

    def close(self) -> None:
        """Nothing to release per swarm: the client is shared and closes with the process."""


def _if_match() -> MatchConditions:
    return MatchConditions.IfNotModified


def _pending(entry: dict[str, Any], stored: str | None) -> bool:
    """Is this committed journal operation not applied yet? Its item still has the ETag
    it had at the commit point (None: still absent). Journals from before ETags were
    recorded carry none: their operations always count as pending."""
    return "etag" not in entry or entry["etag"] == stored
