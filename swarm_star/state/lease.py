"""The owner lease: one process at a time runs (writes) a given swarm.

A lease is a record at ``swarm_state_owner`` taken and renewed with
compare-and-set, so it works the same on SQLite and Cosmos DB. A lease is free
when absent, released, expired, or held by a process on this host that no
longer exists (so ``resume`` right after ``kill -9`` need not wait it out).
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from swarm_star.errors import ConflictError
from swarm_star.store.base import KVStore

__all__ = ["OWNER_KEY", "OwnerLease"]

OWNER_KEY = "swarm_state_owner"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OwnerLease:
    """Acquire, renew and release the right to write one swarm."""

    def __init__(self, store: KVStore, *, seconds: float = 30.0) -> None:
        self.store = store
        self.seconds = seconds
        self.token = uuid.uuid4().hex
        self._version: str | None = None
        self._renewed = 0.0

    def _record(self) -> dict[str, object]:
        return {
            "token": self.token,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "expires": time.time() + self.seconds,
        }

    def _is_free(self, held: dict[str, object]) -> bool:
        if held.get("released") or float(held.get("expires", 0)) < time.time():  # type: ignore[arg-type]
            return True
        return held.get("host") == socket.gethostname() and not _pid_alive(int(held["pid"]))  # type: ignore[call-overload]

    def acquire(self) -> None:
        """Take the lease or raise ConflictError naming the holder."""
        found = self.store.get_versioned(OWNER_KEY)
        if found is not None:
            held, version = found
            if not self._is_free(held):
                raise ConflictError(
                    f"swarm is being run by another process (pid {held.get('pid')} on {held.get('host')})"
                )
        else:
            version = None
        self._version = self.store.compare_and_set(OWNER_KEY, version, self._record())
        self._renewed = time.monotonic()

    def renew_if_due(self) -> None:
        """Extend the lease when a third of it has passed; cheap to call often."""
        if self._version is None or time.monotonic() - self._renewed < self.seconds / 3:
            return
        try:
            self._version = self.store.compare_and_set(OWNER_KEY, self._version, self._record())
        except ConflictError as exc:
            raise ConflictError("lost the swarm's owner lease to another process") from exc
        self._renewed = time.monotonic()

    def release(self) -> None:
        if self._version is None:
            return
        try:
            self.store.compare_and_set(OWNER_KEY, self._version, {"released": True})
        except ConflictError:
            pass  # someone else already holds it: nothing of ours to release
        self._version = None
