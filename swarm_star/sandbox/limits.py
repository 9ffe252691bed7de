"""Resource caps for one sandboxed command, and the tiny launcher that applies them.

Why a launcher and not ``preexec_fn``: ``preexec_fn`` runs Python between
``fork`` and ``exec`` in a threaded interpreter (unsafe, and asyncio's
subprocesses would inherit the risk). Instead the command is started as
``python -I -S limits.py <caps as JSON> -- argv...``: this file, run as a
script, imports nothing but the standard library, sets the rlimits with
:mod:`resource` and ``exec``\\ s the command, so the caps hold for it and for
everything it starts. Inside bubblewrap it runs *inside* the sandbox, after
the namespaces are set up.

What rlimits can and cannot do (see the README's "Sandbox" section):

- ``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_FSIZE`` (largest file written),
  ``RLIMIT_AS`` (address space, i.e. memory), ``RLIMIT_NOFILE`` hold for every
  user.
- ``RLIMIT_NPROC`` (processes) is not enforced by the kernel for the real
  root user (uid 0 outside any user namespace mapping): as root, a fork bomb
  is bounded only by the wall-clock timeout and the kill at the end.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ExecLimits", "launcher_argv"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class ExecLimits:
    """Caps for one command: wall time, output kept and allowed, and the rlimits."""

    timeout: float = 120.0  # wall seconds, then the whole process tree is killed
    output_cap: int = 4000  # characters of output kept (the tail)
    output_limit: int = 32 * MIB  # bytes of output read before the command is killed
    cpu_seconds: int = 0  # 0: the timeout, rounded up, plus a margin
    memory_bytes: int = 4096 * MIB  # address space per process
    file_bytes: int = 256 * MIB  # largest file a process may write
    processes: int = 512  # per user (not enforced for real root, see above)
    open_files: int = 1024

    def rlimits(self) -> dict[str, int]:
        """The rlimits by ``resource`` constant name, as the launcher sets them."""
        cpu = self.cpu_seconds or int(self.timeout) + 5
        return {
            "RLIMIT_CPU": cpu,
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_FSIZE": self.file_bytes,
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_NOFILE": self.open_files,
        }

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def launcher_argv(python: str, limits: ExecLimits, argv: list[str]) -> list[str]:
    """``argv`` run under ``limits``' rlimits: ``python -I -S <this file> <rlimits> -- argv``."""
    return [python, "-I", "-S", str(Path(__file__).resolve()), json.dumps(limits.rlimits()), "--", *argv]


def _apply(rlimits: dict[str, int]) -> None:
    for name, value in rlimits.items():
        which = getattr(resource, name, None)
        if which is None:  # a platform without this limit
            continue
        _soft, hard = resource.getrlimit(which)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (cap, cap))


def main(args: list[str]) -> None:
    """The launcher: set the rlimits, then become the command (exit 127 if it cannot start)."""
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write("usage: limits.py RLIMITS_JSON -- ARGV...\n")
        raise SystemExit(2)
    _apply(json.loads(args[0]))
    try:
        os.execvp(args[2], args[2:])
    except OSError as exc:
        sys.stderr.write(f"cannot run {args[2]!r}: {exc.strerror or exc}\n")
        raise SystemExit(127) from None


if __name__ == "__main__":
    main(sys.argv[1:])
