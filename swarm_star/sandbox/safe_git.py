"""Git on a workspace that sandboxed code could write: no hooks, no configured programs.

Code run with ``--sandbox none`` (or anything else with write access) can put a
hook into ``.git/hooks`` or a program into ``.git/config`` (``core.fsmonitor``,
a filter, a diff driver); git would run it on the engine's next commit, or
even on a ``git diff`` behind a report. So every git command Swarm Star runs on
a workspace goes through :func:`safe_repo`: ``-c`` overrides on each command
(``-c`` wins over every config file) switch off what has a fixed name, and
:func:`check_config` refuses a workspace whose own config names a program
under a name no override can reach. (In the bwrap sandbox ``.git`` is
read-only, so sandboxed code cannot write either.)
"""

from __future__ import annotations

import re
from pathlib import Path

import git

from swarm_star.errors import WorkspaceError

__all__ = ["SAFE_GIT", "check_config", "configure", "harden", "open_workspace", "safe_repo"]

SAFE_GIT = (
    "core.hooksPath=/dev/null",  # no hook can exist under it: a planted .git/hooks/* never runs
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.editor=true",
    "sequence.editor=true",
    "core.askPass=",
    "core.sshCommand=false",
    "diff.external=",
    "gpg.program=false",
    "commit.gpgSign=false",
)
"""``-c`` overrides on every git command run on a workspace: settings that name a program."""

_UNSAFE_CONFIG = re.compile(
    r"^(filter\..+|diff\..+\.(command|textconv)|merge\..+\.driver|include\.path|includeif\..+|core\.worktree)$"
)


def harden(repo: git.Repo) -> git.Repo:
    """Put the :data:`SAFE_GIT` overrides on every later command of ``repo``."""
    repo.git.set_persistent_git_options(c=list(SAFE_GIT))
    return repo


def check_config(repo: git.Repo, config: Path) -> None:
    """WorkspaceError if the workspace's own config names a program git would run for us
    (a filter, a diff or merge driver, an include, another work tree). Read as a plain
    file: includes are not followed."""
    if not config.is_file():
        return
    try:
        names = repo.git.config("--file", str(config), "--list", "--name-only").split()
    except git.GitCommandError as exc:
        raise WorkspaceError(f"the workspace's .git/config cannot be read: {' '.join(str(exc).split())[:200]}") from exc
    unsafe = sorted({n for n in names if _UNSAFE_CONFIG.match(n.lower())})
    if unsafe:
        raise WorkspaceError(
            f"the workspace's .git/config sets {', '.join(unsafe)[:200]}, which could run a program "
            "on the next commit; remove it (git config --unset) to use this workspace"
        )


def safe_repo(path: Path) -> git.Repo:
    """The repository at ``path``, opened for Swarm Star's own git commands (see above)."""
    repo = harden(git.Repo(path))
    check_config(repo, Path(repo.git_dir) / "config")
    return repo


IGNORED = "__pycache__/\n*.pyc\n.pytest_cache/\n"
"""What a workspace repository never commits (its ``.git/info/exclude``)."""


def open_workspace(root: Path) -> git.Repo:
    """The workspace repository at ``root``, made (empty) if there is none yet, hardened and checked.

    Here, below the kit, because a swarm's own action runs in its workspace and a
    swarm resumed in another folder (its store moved, its workspace did not) gets a
    new, empty one when it first needs it.
    """
    root.mkdir(parents=True, exist_ok=True)
    if (root / ".git").exists():
        repo = git.Repo(root)
    else:
        repo = git.Repo.init(root)
        configure(repo, root)
    harden(repo)  # no hooks, no configured programs
    check_config(repo, root / ".git" / "config")
    return repo


def configure(repo: git.Repo, root: Path) -> None:
    """Who commits, no signing, and what git ignores: a new workspace's repository settings
    (a fresh one, and a fork's clone)."""
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Swarm Star")
        cfg.set_value("user", "email", "swarm@localhost")
        cfg.set_value("commit", "gpgsign", "false")
    exclude = root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text(IGNORED, encoding="utf-8")
