"""The kv-store: a narrow interface and its SQLite and Cosmos DB backends."""

from swarm_star.store.base import ABSENT, Delete, KVStore, Put, StoreOp
from swarm_star.store.locator import Backend, StoreLocator, resolve_space, validate_swarm_id
from swarm_star.store.sqlite import DEFAULT_DB_NAME, SqliteStore

__all__ = [
    "ABSENT",
    "DEFAULT_DB_NAME",
    "Backend",
    "Delete",
    "KVStore",
    "Put",
    "SqliteStore",
    "StoreLocator",
    "StoreOp",
    "resolve_space",
    "validate_swarm_id",
]
