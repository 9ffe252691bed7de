"""The owner lease: one process at a time writes a given swarm, and only while it holds it.

A lease is a record at ``swarm_state_owner`` taken with compare-and-set, so it
works the same on SQLite and Cosmos DB. Three rules make it a *fence*, not
just a convention:

* **Renewed on a timer.** A thread renews the lease every third of its
  lifetime, whatever the run is doing, so a model call longer than the lease
  (a reasoning model, a hostfile broadcast) does not let it lapse while its
  holder is alive.
* **Every commit is conditional on it.** :meth:`OwnerLease.fenced` yields a
  :class:`~swarm_star.store.base.Guard` of the lease record's version that
  rides in the same atomic batch as the frames; a writer whose lease was taken
  over cannot write anything, not even one more batch.
* **Liveness by expiry.** A lease is free when absent, released or expired.
  The only shortcut (so ``resume`` right after ``kill -9`` need not wait the
  lease out) is a holder on *this* machine, same boot and same PID namespace,
  whose process is gone or whose pid now belongs to a different process. A
  holder in another container with the same hostname is never judged by a pid
  it cannot see.

:func:`wait_while_held` is how a ``resume`` treats a lease that is still valid:
its holder may have just died elsewhere (or froze), so the lease is waited
out, at most one lease, before it refuses.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from swarm_star.errors import AlreadyRunning, ConflictError, LeaseLost, StoreError
from swarm_star.store.base import Guard, KVStore, StoreOp
from swarm_star.store.identity import holder_gone, process_identity

__all__ = ["OWNER_KEY", "OwnerLease", "OwnerStatus", "holder_alive", "owner_status", "wait_while_held"]

OWNER_KEY = "swarm_state_owner"


def holder_alive(held: dict[str, Any] | None, now: float | None = None) -> bool:
    """Is the lease record ``held`` owned by a live writer?"""
    if not held or held.get("released"):
        return False
    now = time.time() if now is None else now
    if float(held.get("expires", 0)) < now:
        return False
    return not holder_gone(held)


@dataclass(frozen=True)
class OwnerStatus:
    """Is a live writer holding this swarm? Decided by the lease (see :func:`holder_alive`)."""

    alive: bool
    pid: int | None
    host: str | None
    expires: float | None


def owner_status(store: KVStore) -> OwnerStatus:
    """The swarm's owner as its lease record tells it."""
    held = store.get(OWNER_KEY)
    if not isinstance(held, dict) or held.get("released"):
        return OwnerStatus(False, None, None, None)
    pid = held.get("pid")
    expires = held.get("expires")
    return OwnerStatus(
        holder_alive(held),
        pid if isinstance(pid, int) else None,
        str(held["host"]) if held.get("host") else None,
        float(expires) if isinstance(expires, int | float) else None,
    )


def _held_by(held: dict[str, Any]) -> AlreadyRunning:
    until = time.strftime("%H:%M:%S", time.localtime(float(held.get("expires", 0))))
    return AlreadyRunning(
        f"swarm is being run by another process (pid {held.get('pid')} on {held.get('host')}, "
        f"lease renewed until {until})"
    )


def wait_while_held(store: KVStore, limit: float, notify: Callable[[OwnerStatus, float], None]) -> None:
    """Return once no live process holds the swarm's lease; AlreadyRunning if one still does
    after the wait.

    A holder that stopped renewing (died on another machine, or froze) frees it when
    its lease expires: that is waited for, at most ``limit`` seconds (one lease), with
    ``notify(status, seconds)`` called once first. A holder that is alive keeps renewing,
    so it still holds the lease then, and the caller is refused.
    """
    status = owner_status(store)
    if not status.alive:
        return
    seconds = min(max(0.0, (status.expires or 0.0) - time.time()), limit) + 0.5
    notify(status, seconds)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.5, left))
        if not owner_status(store).alive:
            return
    raise _held_by(store.get(OWNER_KEY) or {})


class OwnerLease:
    """Acquire, keep (on a timer), fence commits with, and release the right to write a swarm."""

    def __init__(self, store: KVStore, *, seconds: float = 30.0) -> None:
        self.store = store
        self.seconds = seconds
        self.token = uuid.uuid4().hex
        self._version: str | None = None
        self._lost: str | None = None
        self._lock = threading.RLock()  # one lease operation or fenced commit at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._version is not None and self._lost is None

    def _record(self) -> dict[str, object]:
        return {"token": self.token, **process_identity(), "expires": time.time() + self.seconds}

    def acquire(self) -> None:
        """Take the lease (and start renewing it) or raise AlreadyRunning naming the holder."""
        with self._lock:
            found = self.store.get_versioned(OWNER_KEY)
            version = None
            if found is not None:
                held, version = found
                if holder_alive(held):
                    raise _held_by(held)
            try:
                self._version = self.store.compare_and_set(OWNER_KEY, version, self._record())
            except ConflictError as exc:  # another process took it between our read and write
                raise _held_by(self.store.get(OWNER_KEY) or {}) from exc
            self._lost = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._keep, name="swarm-star-lease", daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        """Renew every third of the lease until released or lost. A store error is
        retried at the next tick: the fence keeps writes safe meanwhile."""
        while not self._stop.wait(self.seconds / 3):
            try:
                self.renew()
            except LeaseLost:
                return
            except StoreError:
                continue

    def renew(self) -> None:
        """Extend the lease now; LeaseLost if another process has taken it."""
        with self._lock:
            if self._version is None:
                return
            if self._lost is not None:
                raise LeaseLost(self._lost)
            try:
                self._version = self.store.compare_and_set(OWNER_KEY, self._version, self._record())
            except ConflictError as exc:
                self._lost = "lost the swarm's owner lease to another process; nothing more was written"
                raise LeaseLost(self._lost) from exc

    @contextlib.contextmanager
    def fenced(self) -> Iterator[Guard]:
        """Yield the guard to add to a batch; the batch commits only while we hold the lease.

        Holding the lock keeps the renewal thread from changing the version
        between the moment the guard is made and the commit that carries it.
        """
        with self._lock:
            if self._lost is not None:
                raise LeaseLost(self._lost)
            if self._version is None:
                raise LeaseLost("this process does not hold the swarm's owner lease")
            try:
                yield Guard(OWNER_KEY, self._version)
            except LeaseLost:
                raise
            except ConflictError as exc:
                held = self.store.get(OWNER_KEY)
                if isinstance(held, dict) and held.get("token") == self.token:
                    raise  # another condition of the batch failed, not the lease
                self._lost = "lost the swarm's owner lease to another process; nothing more was written"
                raise LeaseLost(self._lost) from exc

    def commit(self, ops: Sequence[StoreOp]) -> None:
        """Commit ``ops`` atomically, only if this process still holds the lease."""
        with self.fenced() as check:
            self.store.commit([*ops, check])

    def release(self) -> None:
        """Stop renewing and mark the lease free (if it is still ours)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(5.0, self.seconds))
        with self._lock:
            if self._version is None:
                return
            version, self._version = self._version, None
            if self._lost is not None:
                return
            # ConflictError: someone else holds it already; StoreError: it simply expires.
            with contextlib.suppress(StoreError):
                self.store.compare_and_set(OWNER_KEY, version, {"released": True})
