"""The narrow kv-store core every backend implements, and helpers built once on it.

A backend implements four things: :meth:`KVStore.get_versioned`,
:meth:`KVStore.scan`, :meth:`KVStore.commit` (an atomic batch of puts and
deletes, each optionally conditional) and :meth:`KVStore.close`. Everything
else (``get``, ``put``, ``delete``, ``compare_and_set``) is written once here
so both backends behave the same by construction; the conformance suite in
``tests/store/test_store_conformance.py`` holds them to it.

Keys are ``{category}_{key}`` strings; values are JSON-compatible data.
A *version* is an opaque string that changes whenever the value changes; it is
what compare-and-set compares (a content hash on SQLite, the ETag on Cosmos DB).
A :class:`Guard` in a batch writes nothing: it makes the batch conditional on
another key's version, which is how the owner lease fences every commit.

Text is cleaned once, here, on its way in: :func:`encode_value` replaces lone
UTF-16 surrogates (which a model reply or a file can carry, and which no UTF-8
database accepts) with U+FFFD, and masks the configured keys' exact values
(:mod:`swarm_star.llm.redact`), so no code path can store either.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from swarm_star.errors import StoreError
from swarm_star.llm.redact import MASK, known_secrets, mask_json
from swarm_star.text import LONE_SURROGATE

__all__ = ["ABSENT", "Delete", "Guard", "KVStore", "Put", "StoreOp", "check_key", "clean_value", "encode_value"]

ABSENT = "__absent__"
"""Pass as ``if_version`` to require that a key does not exist yet (create)."""

FORBIDDEN_KEY_CHARS = frozenset("/\\?#")
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Put:
    """Write ``value`` at ``key``; if ``if_version`` is set, only over that version."""

    key: str
    value: Any
    if_version: str | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove ``key`` (absent keys are fine); conditional like :class:`Put`."""

    key: str
    if_version: str | None = None


@dataclass(frozen=True, slots=True)
class Guard:
    """Write nothing; fail the whole batch unless ``key`` has version ``if_version``."""

    key: str
    if_version: str


StoreOp = Put | Delete | Guard


def check_key(key: str) -> str:
    """Reject keys that one of the backends could not store faithfully."""
    if not key or len(key) > MAX_KEY_LENGTH or any(c in FORBIDDEN_KEY_CHARS for c in key):
        raise StoreError(f"invalid store key {key[:60]!r}: 1-{MAX_KEY_LENGTH} chars, no / \\ ? #")
    return key


def encode_value(value: Any, secrets: Iterable[str] = ()) -> str:
    """JSON text of a value; the only serialization Swarm Star stores (never pickle).

    Lone surrogates become U+FFFD: they are not text in UTF-8, and storing one
    would fail every later commit of the same value (a swarm stuck for good).
    Each of ``secrets`` (a store passes :attr:`KVStore.secrets`, the configured
    keys) becomes ``[redacted]``: the redaction boundary of every record, on
    both backends.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value is not JSON-serializable: {exc}") from exc
    return mask_json(LONE_SURROGATE.sub("\ufffd", text), secrets)


def clean_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` as it will be stored: JSON-checked, lone surrogates replaced, keys masked."""
    text = encode_value(value, secrets)
    return json.loads(text) if "\ufffd" in text or MASK in text else value


class KVStore(ABC):
    """One swarm's key-value store. Not thread-safe across event loops; one per process."""

    @abstractmethod
    def get_versioned(self, key: str) -> tuple[Any, str] | None:
        """Return ``(value, version)`` or None when the key is absent."""

    @abstractmethod
    def scan(self, prefix: str, start: str | None = None) -> Iterator[tuple[str, Any]]:
        """Yield ``(key, value)`` for keys starting with ``prefix``, in key order.

        ``start`` (inclusive) lets callers page through long ranges such as history.
        """

    @abstractmethod
    def commit(self, ops: Sequence[StoreOp]) -> None:
        """Apply all ops atomically, or none and raise (ConflictError on a failed condition)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and threads. Idempotent."""

    @cached_property
    def secrets(self) -> tuple[str, ...]:
        """The configured keys' values (from the environment when the store was opened),
        masked in everything this store writes (see :func:`encode_value`)."""
        return known_secrets()

    # Convenience methods, written once for every backend.

    def get(self, key: str, default: Any = None) -> Any:
        found = self.get_versioned(key)
        return default if found is None else found[0]

    def put(self, key: str, value: Any) -> None:
        self.commit([Put(key, value)])

    def delete(self, key: str) -> None:
        self.commit([Delete(key)])

    def compare_and_set(self, key: str, expected_version: str | None, value: Any) -> str:
        """Write ``value`` only if ``key`` still has ``expected_version`` (None: absent).

        Returns the new version; raises ConflictError if another writer got there first.
        """
        self.commit([Put(key, value, if_version=expected_version or ABSENT)])
        found = self.get_versioned(key)
        if found is None:  # pragma: no cover - deleted by a racing writer right after
            raise StoreError(f"{key} vanished right after compare-and-set")
        return found[1]

    def keys(self, prefix: str) -> list[str]:
        return [k for k, _ in self.scan(prefix)]

    def __enter__(self) -> KVStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
