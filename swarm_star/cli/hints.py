"""Hints the user can paste: the program as it was invoked, with the global flags
that reach the same swarm, and the commands to continue, raise a limit or read the report."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from swarm_star.cli.flags import flag_for

if TYPE_CHECKING:
    from swarm_star.api import Swarm

__all__ = [
    "answer_hint",
    "command_prefix",
    "prefix_for",
    "program",
    "raise_hint",
    "run_only_flags",
    "where_to_look",
]


def answer_hint(prefix: str, swarm_id: str, question_ids: list[str]) -> str:
    """How to answer: with the one pending question's own id, ``QUESTION_ID`` when there are several."""
    which = question_ids[0] if len(question_ids) == 1 else "QUESTION_ID"
    return f'Answer with: {prefix} answer {swarm_id} {which} "TEXT"'


def program() -> str:
    """How to invoke this same command again: ``swarm-star`` when that is what PATH finds,
    else the path it was started by (e.g. ``.venv/bin/swarm-star``), or ``python -m swarm_star``."""
    argv0 = sys.argv[0] if sys.argv else ""
    name = os.path.basename(argv0)
    if name == "__main__.py" and os.path.basename(os.path.dirname(argv0)) == "swarm_star":
        return f"{shlex.quote(sys.executable)} -m swarm_star"
    if not name.startswith("swarm-star"):
        return "swarm-star"  # called as a library (tests): the documented name
    found = shutil.which(name)
    with contextlib.suppress(OSError):
        if found and os.path.samefile(found, argv0):
            return name
    return shlex.quote(argv0 if os.sep in argv0 else os.path.abspath(argv0))


def command_prefix(args: argparse.Namespace) -> str:
    """The program plus the global flags of this invocation, for hints the user can paste."""
    return prefix_for(getattr(args, "space", None), getattr(args, "store", "sqlite"), getattr(args, "user", "local"))


def prefix_for(space: str | Path | None = None, store: str = "sqlite", user: str = "local") -> str:
    """The program plus the global flags that reach a swarm in ``space`` on ``store`` for ``user``."""
    from swarm_star.api import resolve_space

    parts = [program()]
    if space:
        parts += ["--space", shlex.quote(str(resolve_space(space)))]
    if store != "sqlite":
        parts += ["--store", store]
    if user != "local":
        parts += ["--user", shlex.quote(user)]
    return " ".join(parts)


def run_only_flags(args: argparse.Namespace) -> str:
    """`` --model M --role-model R=M --base-url URL`` as given to ``resume``/``retry``: they apply
    to that run only (the swarm keeps its stored models), so a hint to resume must repeat them."""
    parts = []
    for flag, dest in (("--model", "model"), ("--base-url", "base_url")):
        value = getattr(args, dest, None)
        if value:
            parts += [flag, shlex.quote(str(value))]
    for spec in getattr(args, "role_model", None) or []:
        parts += ["--role-model", shlex.quote(str(spec))]
    return "".join(f" {part}" for part in parts)


def raise_hint(swarm: Swarm, prefix: str, again: str = "") -> str:
    """``resume ID --max-X N`` with the limit that stopped the run, raised (``again``:
    the run-only model flags to repeat)."""
    limits = swarm.state.limits
    name = None
    last = swarm.frame(swarm.state.frame_count - 1) if swarm.state.frame_count else None
    if last is not None and last.op.kind == "stop":
        name = getattr(last.op, "limit", None)
    flag = flag_for(name or "")
    current = getattr(limits, name, None) if name else None
    if not name or current is None:
        return f"{prefix} resume {swarm.id}{again} --max-calls N (raise the limit that stopped it)"
    # Double what is already used, not only the limit: a resume may have lowered the
    # limit below the usage, and a hint under the usage would stop again at once.
    usage = swarm.state.usage
    used = {
        "max_calls": usage.calls,
        "max_tokens": usage.tokens,
        "max_cost": usage.cost,
        "max_nodes": len(swarm.state.nodes),
    }.get(name, 0)
    base = max(current, used)
    raised = base * 2 if isinstance(current, int) else round(float(base) * 2, 2)
    return f"{prefix} resume {swarm.id}{again} --{flag} {raised:g}"


def where_to_look(swarm: Swarm, prefix: str = "swarm-star") -> str:
    """The closing lines of ``run``/``resume``: where the report and the workspace are
    (``prefix``: the command and global flags that reach this swarm, so the hint can be pasted)."""
    lines = [f"\nReport:    {prefix} report {swarm.id} -o {swarm.id}-report.md   (also .html or .pdf)\n"]
    workspace = swarm.workspace
    if workspace.exists():
        lines.append(f"Workspace: {workspace}\n")
    return "".join(lines)
