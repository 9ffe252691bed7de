"""The bubblewrap command line that contains one command, and whether bubblewrap works here.

Why bubblewrap: it is the small, maintained setuid-free tool Flatpak and
several coding agents use to build a throw-away set of Linux namespaces for
one process; nothing runs as a daemon, nothing is installed per swarm, and
when its first process dies the kernel kills everything in the PID namespace.
Docker or a VM would contain more but need a daemon or an image; cgroups
need a delegated hierarchy that most desktops and containers do not give.

What the command line builds (``bwrap_argv``):

- namespaces: user (with further user namespaces disabled), PID (a ``/proc``
  of its own: no view of the orchestrator or its environment), network (only
  a loopback of its own: no connection leaves), IPC, UTS, cgroup;
  ``--die-with-parent``, ``--new-session`` (no terminal injection), every
  capability dropped;
- files: the root file system read-only; ``/tmp`` a small private tmpfs;
  ``/run``, the home folders and the swarm space (stores, other swarms)
  hidden behind empty tmpfs; a few secret files masked; the Python
  installation, the package and any extra paths read-only; the workspace the
  only writable bind, and its ``.git`` read-only again on top;
- environment: cleared, then a minimal ``PATH``/``HOME``/``LANG``. bwrap itself
  is started with that same minimal environment, since its own process (PID 1
  inside) is readable through ``/proc/1/environ``.

Paths are mounted shallow to deep, so a read-only path inside a hidden one
(the venv inside the home folder) is bound again on top of the tmpfs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NAMESPACES", "SandboxSpec", "bwrap_argv", "find_bwrap", "unusable"]

NAMESPACES = [
    "--unshare-user",
    "--disable-userns",
    "--unshare-pid",
    "--unshare-net",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
]
TMP_BYTES = 64 * 1024 * 1024  # the sandbox's own /tmp (in memory)
HIDDEN = ("/run", "/var/run", "/var/tmp", "/home", "/root", "/etc/ssh", "/media", "/mnt")
MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-")
_RANK = {"tmpfs": 0, "mask": 1, "ro": 2, "rw": 3, "ro-again": 4}


@dataclass(frozen=True)
class SandboxSpec:
    """What one sandboxed command may see: its workspace (writable), extra read-only
    paths (e.g. a swarm's own action module), the swarm space to hide, its environment."""

    workspace: Path
    readable: Sequence[Path] = ()
    hidden: Sequence[Path] = ()
    env: Mapping[str, str] = field(default_factory=dict)


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def unusable(bwrap: str | None, env: Mapping[str, str]) -> str | None:
    """Why bubblewrap cannot contain a command on this machine (None: it can).

    Tried, not guessed: a container without user namespaces, or a kernel that
    forbids them to this user, fails here with bwrap's own one-line reason.
    """
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux namespaces (this is {sys.platform})"
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed; on Debian/Ubuntu: apt-get install bubblewrap"
    probe = [bwrap, *NAMESPACES, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20, env=dict(env), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return f"bwrap cannot create its namespaces here ({why[:200]}); user namespaces may be disabled"
    return None


def _python_paths() -> list[Path]:
    """What a Python command needs to read: the interpreter, its prefixes, this package."""
    package_root = Path(__file__).resolve().parents[2]
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.executable).resolve().parent}
    paths.add(package_root / "swarm_star")
    return sorted(p.resolve() for p in paths)


def bwrap_argv(bwrap: str, spec: SandboxSpec, argv: Sequence[str]) -> list[str]:
    """The whole ``bwrap ... -- argv`` command line for ``spec``."""
    workspace = spec.workspace.resolve()
    mounts: list[tuple[Path, str]] = [(Path("/tmp"), "tmpfs")]
    mounts += [(Path(p), "tmpfs") for p in HIDDEN if Path(p).is_dir() and not Path(p).is_symlink()]
    mounts += [(Path(p), "mask") for p in MASKED_FILES if Path(p).is_file()]
    home = Path.home().resolve()
    if home != Path("/") and home.is_dir():
        mounts.append((home, "tmpfs"))
    mounts += [(p.resolve(), "tmpfs") for p in spec.hidden if p.resolve().is_dir() and p.resolve() != Path("/")]
    mounts += [(p, "ro") for p in [*_python_paths(), *(r.resolve() for r in spec.readable)] if p.exists()]
    mounts.append((workspace, "rw"))
    if (workspace / ".git").exists():
        mounts.append((workspace / ".git", "ro-again"))
    args = [bwrap, *NAMESPACES, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path, kind in sorted(mounts, key=lambda m: (len(m[0].parts), _RANK[m[1]], str(m[0]))):
        if kind == "tmpfs":
            size = ["--size", str(TMP_BYTES)] if path == Path("/tmp") else ["--size", "1048576"]
            args += [*size, "--tmpfs", str(path)]
        elif kind == "mask":
            args += ["--ro-bind", "/dev/null", str(path)]
        elif kind == "rw":
            args += ["--bind", str(path), str(path)]
        else:
            args += ["--ro-bind", str(path), str(path)]
    args += ["--clearenv"]
    for key, value in sorted(spec.env.items()):
        args += ["--setenv", key, value]
    args += ["--chdir", str(workspace), "--", *argv]
    return args
