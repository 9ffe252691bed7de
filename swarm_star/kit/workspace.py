"""A swarm's workspace: a git repository that only the swarm writes into.

Why git: every change is one commit with a meaningful message, so what the
swarm wrote can be read, diffed and undone with ordinary tools, and HEAD is
the truth about the workspace. Anything in the working tree that differs from
HEAD is debris of a change interrupted by a crash; a change is always computed
from HEAD, which is what makes write + commit idempotent across a crash (a
re-run of the same change commits the staged leftover, or finds its commit).

Paths are checked *before* anything touches the disk: relative POSIX paths
only (no absolute paths, ``..``, backslashes, drive letters or colons, nothing
under ``.git/``), and the resolved path must stay inside the workspace
(symlinks included). A change that fails part-way is rolled back, so it leaves
no stray file. Nothing is executed unless the user opted in (``allow_exec``);
then commands run in the sandbox (``swarm_star.sandbox``) with the workspace
as working directory, from an argument list (never a shell), with a timeout
and a cap on the output kept.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git

from swarm_star import eventloop
from swarm_star.errors import WorkspaceError
from swarm_star.sandbox import ExecLimits, run_sandboxed
from swarm_star.sandbox.safe_git import configure, harden, open_workspace

__all__ = ["Change", "CommandResult", "Workspace", "apply_edits", "check_path", "fork_workspace"]

MAX_READ_CHARS = 20_000
MAX_LISTED_FILES = 500
MAX_DIFF_LINES = 80
DEFAULT_OUTPUT_CAP = 4_000
TRAILER = "Swarm-Change"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_path(relative: str) -> str:
    """The normalized relative path, or WorkspaceError naming what is wrong with it.

    A purely textual check, done before anything touches the disk.
    """
    if not isinstance(relative, str) or not relative:
        raise WorkspaceError("invalid workspace path: it is empty")
    shown = repr(relative[:120])
    if relative.strip() != relative or _CONTROL.search(relative):
        raise WorkspaceError(f"invalid workspace path {shown}: surrounding blanks or control characters")
    if "\\" in relative:
        raise WorkspaceError(f"invalid workspace path {shown}: backslashes are not allowed (use '/')")
    if re.match(r"^[A-Za-z]:", relative) or ":" in relative:
        raise WorkspaceError(f"invalid workspace path {shown}: drive letters and ':' are not allowed")
    if relative.startswith(("/", "~")):
        raise WorkspaceError(f"path {shown} is outside the swarm workspace (absolute paths are refused)")
    parts = [p for p in PurePosixPath(relative).parts if p != "."]
    if not parts:
        raise WorkspaceError(f"invalid workspace path {shown}: it names the workspace itself")
    if ".." in parts:
        raise WorkspaceError(f"path {shown} is outside the swarm workspace ('..' is refused)")
    if any(p.lower() == ".git" for p in parts):
        raise WorkspaceError(f"path {shown} points into the workspace's .git")
    return "/".join(parts)


def apply_edits(text: str, edits: Sequence[tuple[str, str]]) -> str:
    """Apply search/replace edits in order; each ``old`` must occur exactly once."""
    for number, (old, new) in enumerate(edits, 1):
        if not old:
            raise WorkspaceError(f"edit {number}: the text to replace is empty")
        count = text.count(old)
        if count != 1:
            found = "not found" if count == 0 else f"found {count} times (must be unique)"
            raise WorkspaceError(f"edit {number}: the text to replace was {found}")
        text = text.replace(old, new, 1)
    return text


@dataclass(frozen=True)
class Change:
    """What one write or edit did. ``sha`` is None when the content was already there."""

    path: str
    sha: str | None
    message: str
    created: bool
    added: int
    removed: int
    diff: str

    def summary(self) -> str:
        """One line for a report: path, size of the change, commit."""
        if self.sha is None:
            return f"{self.path}: unchanged (already committed)"
        verb = "created" if self.created else "changed"
        return f"{self.path}: {verb} (+{self.added} -{self.removed}), commit {self.sha[:10]}: {self.message}"


@dataclass(frozen=True)
class CommandResult:
    """How a command ended: exit code (None on timeout) and the tail of its output."""

    argv: list[str]
    exit_code: int | None
    output: str
    timed_out: bool = False
    sandbox: str | None = None  # which sandbox ran it (None: a result journaled before sandboxes)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def summary(self, limit: int | None = None) -> str:
        """The command, how it ended, and its output; with ``limit``, at most about that many
        characters: the output loses its beginning, never the command or the exit line (a report
        kept only the tail of a long output and lost "exit 0 (sandbox: …)" with it)."""
        status = "timed out" if self.timed_out else f"exit {self.exit_code}"
        if self.sandbox is not None:
            status += f" (sandbox: {self.sandbox})"
        head = f"$ {' '.join(self.argv)}\n{status}\n"
        output = self.output.rstrip()
        if limit is not None and len(head) + len(output) > limit:
            keep = max(0, limit - len(head) - 40)
            output = f"[… {len(output) - keep} characters of output cut]\n{output[len(output) - keep :]}"
        return (head + output).rstrip()


class Workspace:
    """The git repository at ``swarm_space/<swarm_id>/workspace``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.repo = open_workspace(self.root)  # made if missing; no hooks, no configured programs

    # paths and reading

    def resolve(self, relative: str) -> Path:
        """The absolute path for ``relative``, or WorkspaceError if it is refused or escapes."""
        clean = check_path(relative)
        target = (self.root / clean).resolve()
        if target == self.root or self.root not in target.parents:
            raise WorkspaceError(f"path {relative!r} is outside the swarm workspace")
        if ".git" in target.relative_to(self.root).parts:
            raise WorkspaceError(f"path {relative!r} points into the workspace's .git")
        return target

    def files(self) -> list[str]:
        """Relative paths of the workspace's files (``.git`` and caches excluded), sorted."""
        out = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if path.is_file() and not {".git", "__pycache__", ".pytest_cache"} & set(rel.parts):
                out.append(rel.as_posix())
        return out[:MAX_LISTED_FILES]

    def read(self, relative: str, limit: int = MAX_READ_CHARS) -> str:
        """A file's text (at most ``limit`` characters)."""
        target = self.resolve(relative)
        if not target.is_file():
            raise WorkspaceError(f"no file {relative!r} in the workspace")
        try:
            return target.read_text(encoding="utf-8")[:limit]
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{relative!r} is not UTF-8 text") from exc

    def head(self) -> str | None:
        """The commit HEAD names, or None before the first commit."""
        return self.repo.head.commit.hexsha if self.repo.head.is_valid() else None

    def files_at(self, sha: str | None) -> list[str]:
        """Relative paths of the regular files of commit ``sha`` (None: none yet), sorted."""
        if sha is None:
            return []
        out = [
            str(item.path)
            for item in self.repo.commit(sha).tree.traverse()
            if isinstance(item, git.Blob) and item.mode != git.Blob.link_mode
        ]
        return sorted(out)[:MAX_LISTED_FILES]

    def read_at(self, sha: str | None, relative: str, limit: int | None = MAX_READ_CHARS) -> str:
        """A file's text as commit ``sha`` has it (at most ``limit`` characters; None: all)."""
        clean = check_path(relative)
        try:
            blob = self.repo.commit(sha).tree / clean if sha is not None else None
        except KeyError:
            blob = None
        if not isinstance(blob, git.Blob) or blob.mode == git.Blob.link_mode:
            raise WorkspaceError(f"no file {relative!r} in the workspace at {str(sha)[:10]}")
        try:
            return bytes(blob.data_stream.read()).decode("utf-8")[:limit]
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{relative!r} is not UTF-8 text") from exc

    def committed(self, relative: str) -> str | None:
        """The file's text at HEAD, or None if HEAD does not have it."""
        clean = check_path(relative)
        if not self.repo.head.is_valid():
            return None
        try:
            blob = self.repo.head.commit.tree / clean
        except KeyError:
            return None
        return blob.data_stream.read().decode("utf-8", errors="replace")

    # changing

    def write(self, relative: str, content: str, message: str, *, change_id: str | None = None) -> Change:
        """Write ``relative`` whole and commit it as one change.

        Idempotent across a crash: if the same change was staged but not
        committed, it is committed now; if it was committed, that commit is
        reported again instead of "unchanged". ``change_id`` (recorded as a
        ``Swarm-Change:`` trailer) finds a change committed before later ones
        touched the same file, so a re-run never reverts and redoes them.
        """
        clean = check_path(relative)
        target = self.resolve(clean)
        message = _one_line(message) or f"Write {clean}"
        done = self._find_change(clean, change_id)
        if done is not None:
            return done
        base = self.committed(clean)
        if base == content:
            self._restore(clean, target, base)  # drop any uncommitted debris at this path
            return self._already(clean, message)
        return self._commit_change(clean, target, base, content, _with_trailer(message, change_id))

    def edit(
        self, relative: str, edits: Sequence[tuple[str, str]], message: str, *, change_id: str | None = None
    ) -> Change:
        """Apply search/replace ``edits`` to the committed file and commit the result."""
        clean = check_path(relative)
        target = self.resolve(clean)
        message = _one_line(message) or f"Edit {clean}"
        done = self._find_change(clean, change_id)
        if done is not None:
            return done
        base = self.committed(clean)
        if base is None:
            raise WorkspaceError(f"cannot edit {clean!r}: no such file in the workspace (write it whole)")
        try:
            content = apply_edits(base, edits)
        except WorkspaceError:
            done = self._edit_already_committed(clean, edits, message)
            if done is None:
                raise
            return done
        if content == base:
            return Change(clean, None, message, False, 0, 0, "")
        return self._commit_change(clean, target, base, content, _with_trailer(message, change_id))

    def _commit_change(self, clean: str, target: Path, base: str | None, content: str, message: str) -> Change:
        made_dirs = _missing_parents(target, self.root)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, content)
            self._stage(clean)
            sha = self._commit(clean, message)
        except (OSError, git.GitCommandError, ValueError) as exc:
            self._restore(clean, target, base)
            for folder in reversed(made_dirs):
                _rmdir_quietly(folder)
            raise WorkspaceError(f"could not commit {clean!r}: {_short(exc)}") from exc
        added, removed, diff = _diff(clean, base, content)
        return Change(clean, sha, message.split("\n", 1)[0], base is None, added, removed, diff)

    def _stage(self, clean: str) -> None:
        self.repo.git.add("--", clean)

    def _commit(self, clean: str, message: str) -> str:
        """Commit only ``clean`` (whatever else is staged stays out of this commit)."""
        self.repo.git.commit("-q", "--no-verify", "-m", message, "--", clean)
        return self.repo.head.commit.hexsha

    def _restore(self, clean: str, target: Path, base: str | None) -> None:
        """Put ``clean`` back as HEAD has it, in the index and the working tree."""
        try:
            if self.repo.head.is_valid():
                self.repo.git.reset("-q", "HEAD", "--", clean)
            else:
                self.repo.git.rm("--cached", "-q", "--ignore-unmatch", "--", clean)
        except git.GitCommandError:
            pass
        if base is None:
            target.unlink(missing_ok=True)
        elif not target.is_file() or target.read_text(encoding="utf-8", errors="replace") != base:
            _atomic_write(target, base)

    def _last_commit(self, clean: str) -> git.Commit | None:
        if not self.repo.head.is_valid():
            return None
        return next(iter(self.repo.iter_commits(paths=clean, max_count=1)), None)

    def _find_change(self, clean: str, change_id: str | None) -> Change | None:
        """The commit that made change ``change_id`` to ``clean``, if there is one."""
        if not change_id or not self.repo.head.is_valid():
            return None
        line = f"{TRAILER}: {change_id}"
        found = self.repo.git.log("--format=%H", "-E", f"--grep=^{re.escape(line)}$", "--", clean)
        for sha in found.split():
            commit = self.repo.commit(sha)
            if line in str(commit.message).splitlines():
                return _change_of(commit, clean)
        return None

    def _already(self, clean: str, message: str) -> Change:
        """The content is at HEAD: report the commit that made it, if it was this very change."""
        last = self._last_commit(clean)
        if last is None or _one_line(str(last.summary)) != message:
            return Change(clean, None, message, False, 0, 0, "")
        return _change_of(last, clean)

    def _edit_already_committed(self, clean: str, edits: Sequence[tuple[str, str]], message: str) -> Change | None:
        """A re-run of an edit whose commit was made: the edits turn the commit's parent into HEAD."""
        last = self._last_commit(clean)
        if last is None or not last.parents or _one_line(str(last.summary)) != message:
            return None
        before = _blob_text(last.parents[0], clean)
        try:
            redone = apply_edits(before, edits) if before is not None else None
        except WorkspaceError:
            return None
        if redone is None or redone != self.committed(clean):
            return None
        return self._already(clean, message)

    # running (opt-in only)

    def run(
        self,
        argv: Sequence[str],
        *,
        allowed: bool,
        timeout: float = 60.0,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        sandbox: str = "bwrap",
    ) -> CommandResult:
        """Run ``argv`` (no shell) in the workspace, contained by ``sandbox``; keep the last
        ``output_cap`` characters. For synchronous callers (it runs its own event loop);
        actions use the journaled, cancellable ``kit.run_command``."""
        if not allowed:
            raise WorkspaceError("executing swarm-written code is off (opt in with --allow-exec)")
        if not argv:
            raise WorkspaceError("no command to run")
        limits = ExecLimits(timeout=timeout, output_cap=output_cap)
        done = eventloop.run(
            run_sandboxed(argv, sandbox=sandbox, workspace=self.root, limits=limits, hidden=[self.root.parent])
        )
        return CommandResult(done.argv, done.exit_code, done.output, done.timed_out, done.sandbox)


def fork_workspace(source: Path, dest: Path, known: Callable[[str], bool]) -> str | None:
    """Copy the workspace at ``source`` to ``dest`` as it was when the swarm knew only the
    changes ``known`` accepts (by the ``Swarm-Change:`` id its commits carry); the commit
    ``dest`` is at, or None (nothing copied) when no change was known yet.

    Why a prefix of the history: commits are made one after another, and a change is
    known once the model call that asked for it is recorded (its id is ``node@call``). The
    copy stops at the first commit of a change not known (parallel parts may commit in
    another order than their calls were recorded): a fork's activation that re-runs that
    change finds no commit for it and makes it again, so the fork never holds work of a
    frame it does not have. A fresh clone, without hard links (a command run in the fork
    can never reach the original's objects) and without the original as a remote.
    """
    if not (source / ".git").exists():
        return None
    original = Workspace(source)
    if original.head() is None:
        return None
    keep = None
    for sha in original.repo.git.rev_list("--reverse", "--first-parent", "HEAD").split():
        message = str(original.repo.commit(sha).message)
        ids = [line.split(":", 1)[1].strip() for line in message.splitlines() if line.startswith(TRAILER + ":")]
        if not ids or not known(ids[-1]):
            break
        keep = sha
    if keep is None:
        return None
    original.repo.git.clone("-q", "--no-hardlinks", "--no-checkout", str(original.root), str(dest))
    repo = harden(git.Repo(dest))
    repo.git.remote("remove", "origin")
    repo.git.reset("-q", "--hard", keep)
    configure(repo, dest)
    Workspace(dest)  # the checks every opened workspace gets
    return keep


def _with_trailer(message: str, change_id: str | None) -> str:
    return f"{message}\n\n{TRAILER}: {change_id}" if change_id else message


def _change_of(commit: git.Commit, clean: str) -> Change:
    parent = commit.parents[0] if commit.parents else None
    before = _blob_text(parent, clean) if parent is not None else None
    added, removed, diff = _diff(clean, before, _blob_text(commit, clean) or "")
    return Change(clean, commit.hexsha, _one_line(str(commit.summary)), before is None, added, removed, diff)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _blob_text(commit: git.Commit, clean: str) -> str | None:
    try:
        return (commit.tree / clean).data_stream.read().decode("utf-8", errors="replace")
    except KeyError:
        return None


def _diff(clean: str, before: str | None, after: str) -> tuple[int, int, str]:
    lines = list(
        difflib.unified_diff(
            (before or "").splitlines(), after.splitlines(), f"a/{clean}", f"b/{clean}", lineterm="", n=2
        )
    )
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    shown = lines[:MAX_DIFF_LINES]
    if len(lines) > MAX_DIFF_LINES:
        shown.append(f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)")
    return added, removed, "\n".join(shown)


def _missing_parents(target: Path, root: Path) -> list[Path]:
    missing, folder = [], target.parent
    while folder != root and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return list(reversed(missing))


def _rmdir_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _atomic_write(target: Path, content: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
