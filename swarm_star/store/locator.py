"""Where swarms live: the swarm space folder and the backend that holds their stores.

The swarm space is ``./swarm_space`` in the current directory by default (a
project-local folder, like ``.git``), else ``$SWARM_SPACE``, else ``--space``.
Even with Cosmos DB, a swarm's workspace repository and memory files stay in
the local swarm space; only the kv-store moves.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from swarm_star.errors import ConfigError, ConflictError, InputError, SwarmNotFound
from swarm_star.store.base import KVStore, StoreOp
from swarm_star.store.sqlite import DEFAULT_DB_NAME, SqliteStore

__all__ = ["RECORD_KEY", "Backend", "StoreLocator", "resolve_space", "validate_swarm_id"]

Backend = Literal["sqlite", "cosmos"]
SWARM_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,63}")  # always fullmatch: `$` admits a trailing newline
USER_ID_RE = re.compile(r"[A-Za-z0-9-]{1,40}")
RECORD_KEY = "swarm_state_record"
"""The key of a swarm's record, written in its first batch: a store holds a swarm when it is there.
Defined here, below the state (which writes the record), so the locator can tell without importing it."""


def resolve_space(space: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``space`` if given, else ``$SWARM_SPACE``, else ``./swarm_space``."""
    env = os.environ if env is None else env
    chosen = space or env.get("SWARM_SPACE") or Path.cwd() / "swarm_space"
    return Path(chosen).expanduser().resolve()


def validate_swarm_id(swarm_id: str) -> str:
    if not SWARM_ID_RE.fullmatch(swarm_id or ""):
        raise InputError(f"invalid swarm id {swarm_id!r}: letters, digits, '.' and '-', at most 64 characters")
    return swarm_id


class StoreLocator:
    """Opens per-swarm stores on the chosen backend and lists the swarms it holds."""

    def __init__(
        self,
        space: Path,
        backend: Backend = "sqlite",
        *,
        user_id: str = "local",
        env: Mapping[str, str] | None = None,
        lock_timeout: float | None = None,
    ) -> None:
        if backend not in ("sqlite", "cosmos"):
            raise ConfigError(f"unknown store backend {backend!r}: use sqlite or cosmos")
        if not USER_ID_RE.fullmatch(user_id):
            raise ConfigError(f"invalid user id {user_id!r}")
        self.space = space
        self.backend = backend
        self.user_id = user_id
        self._env = os.environ if env is None else env
        if lock_timeout is None:
            raw = self._env.get("SWARM_STAR_LOCK_TIMEOUT", "5")
            try:
                lock_timeout = float(raw)
            except ValueError as exc:
                raise ConfigError(f"SWARM_STAR_LOCK_TIMEOUT must be seconds, got {raw!r}") from exc
        self.lock_timeout = lock_timeout
        self._container: Any = None

    def swarm_dir(self, swarm_id: str) -> Path:
        return self.space / validate_swarm_id(swarm_id)

    def open(self, swarm_id: str, *, create: bool = False) -> KVStore:
        """The store of ``swarm_id``; SwarmNotFound unless it exists or ``create``."""
        validate_swarm_id(swarm_id)
        if self.backend == "sqlite":
            path = self.swarm_dir(swarm_id) / DEFAULT_DB_NAME
            if not create and not path.exists():
                raise SwarmNotFound(f"no swarm {swarm_id!r} in {self.space}")
            return SqliteStore(path, lock_timeout=self.lock_timeout)
        from swarm_star.store.cosmos import CosmosStore

        store = CosmosStore(self._cosmos(), user_id=self.user_id, swarm_id=swarm_id)
        if not create and store.get(RECORD_KEY) is None:
            raise SwarmNotFound(f"no swarm {swarm_id!r} in Cosmos DB for user {self.user_id!r}")
        return store

    def create(self, swarm_id: str, first_batch: Sequence[StoreOp]) -> KVStore:
        """A new swarm's store holding ``first_batch``, created whole or not at all.

        On SQLite the store is built in a hidden staging folder
        (``.creating-…``, never listed) and renamed into place once its first
        batch is committed and the file closed: a kill during creation leaves
        no half-made swarm. On Cosmos DB the first batch is one atomic batch
        already. ConflictError if the swarm exists.
        """
        validate_swarm_id(swarm_id)
        if self.backend == "cosmos":
            store = self.open(swarm_id, create=True)
            store.commit(first_batch)
            return store
        final = self.swarm_dir(swarm_id)
        if (final / DEFAULT_DB_NAME).exists():
            raise ConflictError(f"swarm {swarm_id} already exists")
        staging = self.space / f".creating-{swarm_id}-{secrets.token_hex(4)}"
        try:
            with SqliteStore(staging / DEFAULT_DB_NAME, lock_timeout=self.lock_timeout) as store:
                store.commit(first_batch)
            try:
                staging.rename(final)  # atomic; refused when the folder exists and is not empty
            except OSError as exc:
                raise ConflictError(f"swarm {swarm_id} already exists") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return SqliteStore(final / DEFAULT_DB_NAME, lock_timeout=self.lock_timeout, create=False)

    def list_swarm_ids(self) -> list[str]:
        if self.backend == "sqlite":
            if not self.space.is_dir():
                return []
            return sorted(
                p.parent.name for p in self.space.glob(f"*/{DEFAULT_DB_NAME}") if SWARM_ID_RE.fullmatch(p.parent.name)
            )
        container = self._cosmos()
        prefix = f"{self.user_id}_"
        rows = container.query_items(
            "SELECT c.pk FROM c WHERE c.key = 'swarm_state_record' AND STARTSWITH(c.pk, @u)",
            parameters=[{"name": "@u", "value": prefix}],
            enable_cross_partition_query=True,
        )
        return sorted(row["pk"][len(prefix) :] for row in rows)

    def _cosmos(self) -> Any:
        from swarm_star.store.cosmos import CosmosSettings, open_cosmos_container

        if self._container is None:
            self._container = open_cosmos_container(CosmosSettings(self._env))
        return self._container
