"""Reads at 10,000 nodes and CLI start-up: the code before issue 25 vs now, side by side.

Each command runs as a fresh process (``python -m swarm_star``), the old code
(``git archive`` of :data:`~benchmarks.base_code.ISSUE25_BASE`) and the new one
alternating, median of ``repeats`` runs; CPU is the process's user + system
time, memory its peak RSS. The swarm is the scale benchmark's (11,170 nodes),
grown once against the zero-latency scripted server (or given with
``--space DIR --swarm ID``). Both versions must print the same tree.
``--help`` is timed (wall) against ``python -c "from pydantic import BaseModel"``
with bytecode compiled and ``PYTHONDONTWRITEBYTECODE`` unset.
Run: ``python -m benchmarks.read_bench [--space DIR --swarm ID]``.
"""

from __future__ import annotations

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


def run(space: Path | None = None, swarm_id: str | None = None, repeats: int = 3, help_repeats: int = 9) -> dict:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old = export(ISSUE25_BASE, work / "old")
        if old is None:
            print(f"skipped: needs git and commit {ISSUE25_BASE} (a full clone)")
            return results
        new = ROOT
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(new / "swarm_star")], env=env_for(new))
        if space is None or swarm_id is None:
            space = work / "space"
            swarm_id = _grow(space)
        meta = json.loads(_run(new, ["--space", str(space), "list", "--json"], work)[3])
        row = next(r for r in meta if r["swarm_id"] == swarm_id)
        last = row["frames"] - 1
        print(f"swarm {swarm_id}: {row['nodes']:,} nodes, {row['frames']:,} frames")
        commands = {
            "tree ID": ["tree", swarm_id],
            "tree ID --json": ["tree", swarm_id, "--json"],
            f"tree ID --frame {last}": ["tree", swarm_id, "--frame", str(last)],
            "list": ["list"],
            "questions ID": ["questions", swarm_id],
        }
        # a store written by this code may be one the old code refuses (storage schema 4, issue 25):
        # then only the new code's figures are measured (the goals are absolute: tree <= 0.5 s, 80 MiB)
        versions = [("old", old), ("new", new)]
        if _run(old, ["--space", str(space), "tree", swarm_id], work, check=False)[0] < 0:
            print(f"the code of {ISSUE25_BASE} cannot read this store (a newer storage schema): new code only")
            versions = [("new", new)]
        print(f"{'command':<24} {'old CPU s':>9} {'new CPU s':>9} {'new÷old':>8}   {'old MiB':>8} {'new MiB':>8}")
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
                f"{name:<24} {old_cpu:>9.2f} {cpu['new']:>9.2f} {cpu['new'] / old_cpu:>8.2f}   "
                f"{old_rss:>8.0f} {rss['new']:>8.0f}"
            )
            key = name.split(" --frame")[0].replace(" ", "_") + ("_frame" if "--frame" in name else "")
            results.update({f"{key}_cpu_{label}": cpu[label] for label, _ in versions})
            results.update({f"{key}_rss_{label}": rss[label] for label, _ in versions})

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
            print(f"{label:<12} {medians[label]:.3f} s = {ratio:.2f} × python + pydantic ({medians['pydantic']:.3f} s)")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    return results


if __name__ == "__main__":
    args = sys.argv[1:]
    given = dict(zip(args[::2], args[1::2], strict=False))
    run(Path(given["--space"]) if "--space" in given else None, given.get("--swarm"))
