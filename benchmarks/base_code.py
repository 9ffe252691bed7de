"""The code before a change, next to the code now: for benchmarks that compare the two side by side.

``export(ref, into)`` writes the package as it was at git ``ref`` into a folder; a
benchmark then runs the same command with ``PYTHONPATH`` at that folder (old) and
at the repository root (new), alternating.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

__all__ = ["ISSUE25_BASE", "ROOT", "env_for", "export"]

ROOT = Path(__file__).resolve().parent.parent
ISSUE25_BASE = "29e5f28"
"""The commit issue 25's read side started from (its figures were measured on it)."""


def export(ref: str, into: Path) -> Path | None:
    """The package, actions and utils as of ``ref`` under ``into`` (None without git or that commit)."""
    try:
        archive = subprocess.run(
            ["git", "archive", ref, "swarm_star", "actions", "utils_space"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(into / "swarm_star")], check=False, env=env_for(into))
    return into


def env_for(code: Path) -> dict[str, str]:
    """The environment that runs ``code``'s package, with bytecode written and read as a user's would."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(code)
    return env
