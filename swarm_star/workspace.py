"""A swarm's workspace: a git repository that only the swarm writes into.

Every change is one commit with a meaningful message. Paths are resolved and
must stay inside the workspace (``../`` and absolute paths elsewhere are
refused, symlinks included). Nothing is executed unless the user opted in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import git

from swarm_star.errors import WorkspaceError

__all__ = ["Workspace"]


class Workspace:
    """The git repository at ``swarm_space/<swarm_id>/workspace``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        if (self.root / ".git").exists():
            self.repo = git.Repo(self.root)
        else:
            self.repo = git.Repo.init(self.root)
            with self.repo.config_writer() as cfg:
                cfg.set_value("user", "name", "Swarm Star")
                cfg.set_value("user", "email", "swarm@localhost")

    def resolve(self, relative: str) -> Path:
        """The absolute path for ``relative``, or WorkspaceError if it escapes."""
        if not relative or relative.strip() != relative or "\x00" in relative:
            raise WorkspaceError(f"invalid workspace path {relative!r}")
        target = (self.root / relative).resolve()
        if target == self.root or self.root not in target.parents:
            raise WorkspaceError(f"path {relative!r} is outside the swarm workspace")
        if ".git" in target.relative_to(self.root).parts:
            raise WorkspaceError(f"path {relative!r} points into the workspace's .git")
        return target

    def write(self, relative: str, content: str, message: str) -> str | None:
        """Write and commit one file; returns the commit sha, or None if unchanged.

        Idempotent: a re-run of the same action after a crash commits nothing new.
        """
        target = self.resolve(relative)
        if target.exists() and target.read_text(encoding="utf-8") == content:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        self.repo.index.add([str(target.relative_to(self.root))])
        commit = self.repo.index.commit(message.strip() or f"Write {relative}")
        return commit.hexsha

    def run_python(self, relative: str, *, allowed: bool, timeout: float = 30.0) -> str:
        """Run a workspace file with Python, only if the user opted in (``allow_exec``)."""
        if not allowed:
            raise WorkspaceError("executing swarm-written code is off (opt in with --allow-exec)")
        target = self.resolve(relative)
        proc = subprocess.run(
            [sys.executable, str(target)],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return f"exit {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
