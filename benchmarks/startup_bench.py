"""CLI start-up: wall time of a command as a fresh process vs Python itself + pydantic.

The baseline is what any pydantic-based CLI pays before doing anything:
``python -c "from pydantic import BaseModel"``. Measured side by side, the
variants alternating, median of ``repeats`` runs each. ``tree`` and ``history``
read the small committed store in tests/data/store_v1 (copied to a temp dir).
Run: ``python -m benchmarks.startup_bench``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "store_v1"


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(repeats: int = 7) -> dict[str, float]:
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        space = Path(tmp) / "space"
        shutil.copytree(FIXTURE, space)
        script = Path(py).parent / "swarm-star"  # the installed console script, as a user runs it
        cli = [str(script), "--space", str(space)]
        variants = {
            "python -c pass": [py, "-c", "pass"],
            "python + pydantic (baseline)": [py, "-c", "from pydantic import BaseModel"],
            "swarm-star --help": [*cli, "--help"],
            "swarm-star list": [*cli, "list"],
            "swarm-star tree ID": [*cli, "tree", "v1swarm"],
            "swarm-star history ID": [*cli, "history", "v1swarm"],
            "import openai (for scale)": [py, "-c", "import openai"],
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(repeats):
            for name, argv in variants.items():
                times[name].append(_wall(argv))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["python + pydantic (baseline)"]
    print(f"{'command':<32} {'median s':>9} {'÷ baseline':>11}   (median of {repeats}, alternating)")
    for name, value in medians.items():
        print(f"{name:<32} {value:>9.3f} {value / base:>11.2f}")
    return medians


if __name__ == "__main__":
    run()
