"""Reads at 10,000 nodes and CLI start-up: the code before issue 25 vs now, side by side.

Each command runs as a fresh process (``python -m swarm_star``), the old code
(``git archive`` of :data:`~benchmarks.base_code.ISSUE25_BASE`) and the new one
alternating, median of ``repeats`` runs; CPU is the process's user + system
time, memory its peak RSS. The swarm is the scale benchmark's (11,170 nodes),
grown once against the zero-latency scripted server (or given with
``--space DIR --swarm ID``). Both versions must print the same tree.
``--help`` is timed (wall) against ``python -c "from pydantic import BaseModel"``
with bytecode compiled and ``PYTHONDONTWRITEBYTECODE`` unset.
Run: ``python -m benchmarks.read_bench [--space DIR --swarm ID] [--before REF|DIR]`` (``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.base_code import ISSUE25_BASE, ROOT, env_for, export


def _run(code: Path, argv: list[str], cwd: Path, check: bool = True) -> tuple[float, float, float, bytes]:
    """(CPU s, peak RSS MiB, wall s, stdout) of ``python -m swarm_star ARGV`` on ``code``
    (``check=False``: a failed command gives CPU ``-1``)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm_star", *argv], cwd=cwd, env=env_for(code), stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        assert not check, argv
        return -1.0, 0.0, wall, out
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, wall, out


def _wall(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _grow_here(space: Path) -> str:
    from benchmarks.model_process import model_process
    from benchmarks.scale_bench import grow, script

    with model_process(script(), 0.0) as url:
        swarm, _, _ = asyncio.run(grow(url, space))
    swarm.close()
    return swarm.id


def _grow(space: Path) -> str:
    """Grow the swarm in a process of its own: the commands measured are forked from this one, and
    Linux counts the memory a process had when forked in the child's peak RSS (grown here, this
    process held ~200 MB, and every command's peak read at least that)."""
    code = "import sys, pathlib; from benchmarks.read_bench import _grow_here as g; print(g(pathlib.Path(sys.argv[1])))"
    argv = [sys.executable, "-c", code, str(space)]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()[-1]


GOALS = {"tree ID": (0.5, 80.0), "tree ID --frame LAST": (None, 120.0)}
"""Issue 25's goals per command: (CPU s, peak RSS MiB), None where it sets none."""


def _code(before: str, work: Path) -> Path | None:
    """The code to compare with: a folder holding ``swarm_star`` as it is, or a git ref exported."""
    given = Path(before)
    return given if (given / "swarm_star").is_dir() else export(before, work / "old")


def _goal(name: str, cpu: float, rss: float) -> str:
    limits = GOALS.get(name.replace(name.rsplit(" ", 1)[-1], "LAST") if "--frame" in name else name)
    if limits is None:
        return ""
    parts = []
    if limits[0] is not None:
        parts.append(f"<= {limits[0]} s {'met' if cpu <= limits[0] else 'NOT met'}")
    if limits[1] is not None:
        parts.append(f"<= {limits[1]:.0f} MiB {'met' if rss <= limits[1] else 'NOT met'}")
    return ", ".join(parts)


def run(
    space: Path | None = None,
    swarm_id: str | None = None,
    repeats: int = 3,
    help_repeats: int = 9,
    before: str = ISSUE25_BASE,
    only: set[str] | None = None,
) -> dict:
    """Measure, print the table, return the medians (``only``: a subset of the commands' names)."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old = _code(before, work)
        if old is None:
            print(f"skipped: needs git and commit {before} (a full clone)")
            return results
        new = ROOT
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(new / "swarm_star")], env=env_for(new))
        if space is None or swarm_id is None:
            space = work / "space"
            swarm_id = _grow(space)
        meta = json.loads(_run(new, ["--space", str(space), "list", "--json"], work)[3])
        row = next(r for r in meta if r["swarm_id"] == swarm_id)
        last = row["frames"] - 1
        print(f"swarm {swarm_id}: {row['nodes']:,} nodes, {row['frames']:,} frames; before = {before}")
        commands = {
            "tree ID": ["tree", swarm_id],
            "tree ID --json": ["tree", swarm_id, "--json"],
            f"tree ID --frame {last}": ["tree", swarm_id, "--frame", str(last)],
            "list": ["list"],
            "questions ID": ["questions", swarm_id],
        }
        if only:
            commands = {k: v for k, v in commands.items() if k.replace(str(last), "LAST") in only or k in only}
        # a store written by this code may be one the old code refuses (storage schema 4, issue 25):
        # then only the new code's figures are measured (the goals are absolute: tree <= 0.5 s, 80 MiB)
        versions = [("old", old), ("new", new)]
        if _run(old, ["--space", str(space), "tree", swarm_id], work, check=False)[0] < 0:
            print(f"the code of {before} cannot read this store (a newer storage schema): new code only")
            versions = [("new", new)]
        # `tree ID` reads the stored projection; a replay of every frame must draw the same tree
        replayed = _run(new, ["--space", str(space), "tree", swarm_id, "--frame", str(last)], work)[3]
        drawn = _run(new, ["--space", str(space), "tree", swarm_id], work)[3]
        assert drawn == replayed, "tree ID and its replay at the last frame print different things"
        print(f"median of {repeats}, old and new alternating; CPU = user + system, RSS = peak")
        print("| command | CPU old | CPU new | new ÷ old | RSS old | RSS new | goal (new) |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for name, argv in commands.items():
            figures: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in versions}
            outputs = {}
            for _ in range(repeats):
                for label, code in versions:
                    spent, peak, _, out = _run(code, ["--space", str(space), *argv], work)
                    figures[label].append((spent, peak))
                    outputs[label] = out
            if "old" in outputs:
                assert outputs["old"] == outputs["new"], f"{name}: old and new print different things"
            cpu = {k: statistics.median(c for c, _ in v) for k, v in figures.items()}
            rss = {k: statistics.median(r for _, r in v) for k, v in figures.items()}
            old_cpu, old_rss = cpu.get("old", float("nan")), rss.get("old", float("nan"))
            print(
                f"| `{name}` | {old_cpu:.2f} s | {cpu['new']:.2f} s | {cpu['new'] / old_cpu:.2f} | "
                f"{old_rss:.0f} MiB | {rss['new']:.0f} MiB | {_goal(name, cpu['new'], rss['new'])} |"
            )
            key = name.split(" --frame")[0].replace(" ", "_") + ("_frame" if "--frame" in name else "")
            results.update({f"{key}_cpu_{label}": cpu[label] for label, _ in versions})
            results.update({f"{key}_rss_{label}": rss[label] for label, _ in versions})

        if help_repeats:
            base = [sys.executable, "-c", "from pydantic import BaseModel"]
            helps: dict[str, list[float]] = {"pydantic": [], "old --help": [], "new --help": []}
            for _ in range(help_repeats):
                helps["pydantic"].append(_wall(base, env_for(new), work))
                for label, code in (("old --help", old), ("new --help", new)):
                    helps[label].append(_wall([sys.executable, "-m", "swarm_star", "--help"], env_for(code), work))
            medians = {k: statistics.median(v) for k, v in helps.items()}
            for label in ("old --help", "new --help"):
                ratio = medians[label] / medians["pydantic"]
                results[label.replace(" --", "_") + "_vs_pydantic"] = ratio
                pydantic = medians["pydantic"]
                print(f"{label:<12} {medians[label]:.3f} s = {ratio:.2f} × python + pydantic ({pydantic:.3f} s)")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.read_bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--space", type=Path, help="a space holding the swarm to read (default: grow one)")
    parser.add_argument("--swarm", help="the swarm's id in --space")
    parser.add_argument(
        "--before",
        default=ISSUE25_BASE,
        help=f"the code to compare with: a git ref (exported with git archive) or a folder holding swarm_star "
        f"(default {ISSUE25_BASE}, issue 25's starting point)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command per version (median)")
    parser.add_argument("--help-repeats", type=int, default=9, help="runs of --help per version (0: skip)")
    parser.add_argument(
        "--only",
        help="comma-separated commands to measure: 'tree ID', 'tree ID --json', 'tree ID --frame LAST', "
        "'list', 'questions ID' (default: all)",
    )
    args = parser.parse_args(argv)
    if (args.space is None) != (args.swarm is None):
        parser.error("--space and --swarm go together")
    only = {part.strip() for part in args.only.split(",")} if args.only else None
    run(args.space, args.swarm, args.repeats, args.help_repeats, args.before, only)


if __name__ == "__main__":
    main()
