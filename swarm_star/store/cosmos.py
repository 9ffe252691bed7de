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
  serialises writers of the partition. Conditions are checked under it, the
  journal is flipped to ``committed`` (the single-item write that is the commit
  point), the operations are applied, and the journal is deleted. A writer that
  dies after the commit point leaves a committed journal that the next writer
  rolls forward once its lease (``lease_seconds``) has expired; puts and
  deletes are idempotent, so a roll-forward twice is harmless. Readers may see
  a batch half-applied while it is being applied; history readers rely on
  frames, which are whole items, so they are unaffected.

Missing items: real Cosmos DB answers 404 to a point read of an absent item;
that test server answers 500 (its handler dereferences the missing document).
A store probes this once when it opens (a point read of an id that cannot
exist); where the answer is 500, it reads by a query on the id instead (one
round trip, and no SDK retry loop on the 500). A 500 on a point read elsewhere
is double-checked the same way.

Queries: that server ignores the partition-key request header and answers 400
"missing partition keys" unless the query text itself filters on the partition
key path, so every query here says ``c.pk = @pk`` in its text as well.
"""

from __future__ import annotations

import binascii
import os
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ServiceRequestError
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey
from azure.cosmos import exceptions as cosmos_exc

from swarm_star.errors import ConfigError, ConflictError, StoreError, StoreLocked, StoreUnavailable
from swarm_star.store.base import ABSENT, Delete, KVStore, Put, StoreOp, check_key, encode_value

__all__ = ["CosmosSettings", "CosmosStore", "open_cosmos_container"]

BatchMode = Literal["auto", "transactional", "journal"]
JOURNAL_KEY = "__journal"
MAX_TRANSACTIONAL_OPS = 100


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


class CosmosStore(KVStore):
    """One swarm's partition in a shared Cosmos DB container."""

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
        self.batch_mode: BatchMode = batch_mode
        self._query_reads = False
        self._query_reads = self._point_read_of_missing_fails()
        if batch_mode == "auto":
            self.batch_mode = "transactional" if self._batch_works() else "journal"
        self._recover_stale_journal()

    # ids and documents

    def _id(self, key: str) -> str:
        return f"{self.partition}_{check_key(key)}"

    def _doc(self, key: str, value: Any) -> dict[str, Any]:
        encode_value(value)  # JSON-only, same rule as SQLite
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

    def _query(self, where: str, params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Query this swarm's partition. The ``c.pk`` filter is in the text as well as
        in the request: real Cosmos DB scopes by the header alone, the test server
        ignores the header and rejects queries whose text names no partition key."""
        sql = f"SELECT * FROM c WHERE c.pk = @pk AND {where}"
        params = [{"name": "@pk", "value": self.partition}, *params]
        return self._call(
            "query",
            lambda: list(self._container.query_items(sql, parameters=params, partition_key=self.partition)),
        )

    def get_versioned(self, key: str) -> tuple[Any, str] | None:
        item = self._read_item(self._id(key))
        return None if item is None else (item["value"], item["_etag"])

    def scan(self, prefix: str, start: str | None = None) -> Iterator[tuple[str, Any]]:
        rows = self._query(
            "STARTSWITH(c.id, @p)",
            [{"name": "@p", "value": f"{self.partition}_{prefix}"}],
        )
        rows = [r for r in rows if "key" in r and r["key"] != JOURNAL_KEY]
        rows.sort(key=lambda r: r["key"])
        for row in rows:
            if start is None or row["key"] >= start:
                yield row["key"], row["value"]

    # writes

    def commit(self, ops: Sequence[StoreOp]) -> None:
        for op in ops:
            check_key(op.key)
            if isinstance(op, Put):
                encode_value(op.value)
        if not ops:
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
            if isinstance(op, Put):
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
        conditional = any(op.if_version is not None for op in ops)
        payload = [{"key": op.key, "value": op.value} if isinstance(op, Put) else {"key": op.key} for op in ops]
        journal = self._acquire_journal(payload, "pending" if conditional else "committed")
        if conditional:
            try:
                for op in ops:
                    if op.if_version is None:
                        continue
                    found = self.get_versioned(op.key)
                    current = ABSENT if found is None else found[1]
                    if current != op.if_version:
                        what = "already exists" if op.if_version == ABSENT else "changed"
                        raise ConflictError(f"{op.key} {what} (compare-and-set lost)")
            except BaseException:
                self._release_journal(journal)
                raise
            journal["state"] = "committed"
            journal = self._call(
                "journal commit",
                self._container.replace_item,
                journal["id"],
                journal,
                etag=journal["_etag"],
                match_condition=_if_match(),
            )
        self._roll_forward(journal)

    def _acquire_journal(self, payload: list[dict[str, Any]], state: str) -> dict[str, Any]:
        deadline = time.monotonic() + self._lock_timeout
        delay = 0.01
        while True:
            doc = {
                "id": self._id(JOURNAL_KEY),
                "pk": self.partition,
                "key": JOURNAL_KEY,
                "owner": uuid.uuid4().hex,
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
            if self._recover_stale_journal():
                continue
            if time.monotonic() > deadline:
                raise StoreLocked(f"Cosmos DB partition {self.partition} is busy (journal held)")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _recover_stale_journal(self) -> bool:
        """Finish or drop a journal whose writer has been silent longer than the lease."""
        journal = self._read_item(self._id(JOURNAL_KEY))
        if journal is None:
            return True
        if time.time() - float(journal.get("time", 0)) < self._lease:
            return False
        if journal.get("state") == "committed":
            self._roll_forward(journal)
        else:
            self._release_journal(journal)
        return True

    def _roll_forward(self, journal: dict[str, Any]) -> None:
        for entry in journal["ops"]:
            op: StoreOp = Put(entry["key"], entry["value"]) if "value" in entry else Delete(entry["key"])
            self._apply(op)
        self._release_journal(journal)

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
