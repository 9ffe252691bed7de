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
from dataclasses import dataclass

from swarm_star.errors import ConflictError
from swarm_star.store.base import KVStore

__all__ = ["OWNER_KEY", "OwnerLease", "OwnerStatus", "owner_status"]

OWNER_KEY = "swarm_state_owner"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class OwnerStatus:
    """Who holds a swarm's owner lease right now, as far as the store can tell.

    ``alive`` is decided by the lease's expiry (renewed by a running owner
    every ten seconds or so), plus a pid check when the holder ran on this
    host, so ``list`` can tell a running swarm from one whose process died.
    """

    alive: bool
    pid: int | None
    host: str | None
    expires: float | None


def owner_status(store: KVStore) -> OwnerStatus:
    """Is a live writer holding this swarm? Read-only: never takes the lease."""
    held = store.get(OWNER_KEY)
    if not held or held.get("released"):
        return OwnerStatus(False, None, None, None)
    pid = held.get("pid")
    host = held.get("host")
    expires = held.get("expires")
    pid = int(pid) if isinstance(pid, int | float | str) and str(pid).isdigit() else None
    host = str(host) if host is not None else None
    expires = float(expires) if isinstance(expires, int | float) else None
    alive = expires is not None and expires >= time.time()
    if alive and pid is not None and host == socket.gethostname() and not _pid_alive(pid):
        alive = False
    return OwnerStatus(alive, pid, host, expires)


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
