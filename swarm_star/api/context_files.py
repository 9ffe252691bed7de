"""``--context`` ingestion: files, folders and git repositories read into the root's memory.

Everything is read before the swarm is created (an unreadable file is an
InputError and nothing is written); all of it rides in the root's spawn frame,
so the total is kept to one store item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from swarm_star.errors import InputError

__all__ = [
    "MAX_CONTEXT_BYTES",
    "MAX_CONTEXT_FILES",
    "MAX_CONTEXT_TOTAL",
    "MAX_FOLDER_FILE_BYTES",
    "NOT_INGESTED",
    "read_context",
]

MAX_CONTEXT_BYTES = 1_000_000
MAX_CONTEXT_TOTAL = 1_500_000  # all context rides in the root's spawn frame: keep it one store item
MAX_CONTEXT_FILES = 200
MAX_FOLDER_FILE_BYTES = 200_000
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "venv", "build", "dist"})
NOT_INGESTED = "(not ingested)"


def _decode(path: Path, data: bytes) -> str | None:
    """UTF-8 text, or None for binary content (NUL bytes or not UTF-8)."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _folder_files(folder: Path) -> Iterator[tuple[str, Callable[[], bytes], int]]:
    """``(relative path, reader, size)`` of a folder's regular files, hidden ones left out."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in rel.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        yield rel.as_posix(), path.read_bytes, path.stat().st_size


def _repo_files(folder: Path) -> tuple[str, list[tuple[str, Callable[[], bytes], int]]]:
    """The files of a git repository's HEAD commit, read through gitpython (tracked files only)."""
    import git  # only for a repository given as context: keeps the import off other paths

    try:
        repo = git.Repo(folder)
        commit = repo.head.commit
    except (git.GitError, ValueError) as exc:  # ValueError: a repository without commits
        raise InputError(f"cannot read git repository {folder}: {exc}") from exc
    files = [
        (str(blob.path), lambda blob=blob: blob.data_stream.read(), int(blob.size))
        for blob in commit.tree.traverse()
        if isinstance(blob, git.Blob)
    ]
    return commit.hexsha[:10], sorted(files, key=lambda f: f[0])


def read_context(paths: Sequence[str | Path]) -> dict[str, str]:
    """Read ``--context`` paths into ``{name: text}``, each file its own memory entry later.

    A file is read whole (UTF-8, at most ``MAX_CONTEXT_BYTES``; anything else
    is an InputError). A folder is read file by file, hidden and build folders
    left out; a git repository (a folder with ``.git``) is read from its HEAD
    commit with gitpython, so only tracked files count. Inside folders,
    binary files and files over ``MAX_FOLDER_FILE_BYTES`` are skipped, and
    reading stops at ``MAX_CONTEXT_FILES`` files or ``MAX_CONTEXT_TOTAL``
    bytes; what was skipped is listed in one more entry, ``(not ingested)``,
    so nothing is dropped silently. Names are the file name for a file and
    ``folder/relative/path`` inside a folder; a clash keeps both.
    """
    out: dict[str, str] = {}
    skipped: list[str] = []
    total = 0

    def add(name: str, text: str, where: Path) -> None:
        nonlocal total
        key = name if name not in out else str(where)
        out[key] = text
        total += len(text.encode("utf-8"))

    for given in paths:
        path = Path(given)
        if path.is_dir():
            if (path / ".git").exists():
                sha, files = _repo_files(path)
                label = f"{path.resolve().name}@{sha}"
            else:
                files, label = list(_folder_files(path)), path.resolve().name
            for rel, read, size in files:
                where = f"{label}/{rel}"
                if len(out) >= MAX_CONTEXT_FILES or total + size > MAX_CONTEXT_TOTAL:
                    skipped.append(f"{where} (context limit of {MAX_CONTEXT_FILES} files / {MAX_CONTEXT_TOTAL} bytes)")
                    continue
                if size > MAX_FOLDER_FILE_BYTES:
                    skipped.append(f"{where} (larger than {MAX_FOLDER_FILE_BYTES} bytes)")
                    continue
                try:
                    text = _decode(path / rel, read())
                except OSError as exc:
                    skipped.append(f"{where} (unreadable: {exc.strerror or exc})")
                    continue
                if text is None:
                    skipped.append(f"{where} (binary)")
                    continue
                add(f"{path.resolve().name}/{rel}", text, path / rel)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read context file {path}: {exc.strerror or exc}") from exc
        if len(data) > MAX_CONTEXT_BYTES:
            raise InputError(f"context file {path} is larger than {MAX_CONTEXT_BYTES} bytes")
        if total + len(data) > MAX_CONTEXT_TOTAL:
            raise InputError(f"context is larger than {MAX_CONTEXT_TOTAL} bytes in all (at {path})")
        text = _decode(path, data)
        if text is None:
            raise InputError(f"context file {path} is not UTF-8 text")
        add(path.name, text, path)
    if skipped:
        out[NOT_INGESTED] = "Not ingested from the context folders:\n" + "\n".join(f"- {s}" for s in skipped)
    return out
