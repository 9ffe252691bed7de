"""Which process holds something, in a form another process can judge.

Leases (the swarm's owner lease, the Cosmos DB journal) record their holder's
pid *and* what makes that pid meaningful: host name, boot id and PID
namespace. Another process may conclude "the holder is dead" from a missing
pid only when all three match its own; otherwise it must wait for the lease
to expire. A pid reused by a new process is told apart by its start time.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["holder_gone", "machine_identity", "process_identity"]


@cache
def machine_identity() -> dict[str, str]:
    """Host name, boot id and PID namespace of this process ('' where unreadable)."""

    def read(how: Callable[[], str]) -> str:
        try:
            return how().strip()
        except OSError:
            return ""

    return {
        "host": socket.gethostname(),
        "boot": read(lambda: Path("/proc/sys/kernel/random/boot_id").read_text()),
        "pidns": read(lambda: os.readlink("/proc/self/ns/pid")),
    }


def _process_start(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot, '' if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def process_identity() -> dict[str, Any]:
    """What a lease records about its holder (this process)."""
    pid = os.getpid()
    return {"pid": pid, "started": _process_start(pid), **machine_identity()}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_gone(holder: Mapping[str, Any]) -> bool:
    """True only when ``holder`` provably no longer runs: same machine, boot and
    PID namespace as us, and its pid is gone or belongs to another process."""
    here = machine_identity()
    if not all(here[k] and holder.get(k) == here[k] for k in ("host", "boot", "pidns")):
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    if not _pid_alive(pid):
        return True
    started = holder.get("started")
    return bool(started) and _process_start(pid) not in ("", started)
