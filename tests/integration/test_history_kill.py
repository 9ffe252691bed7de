"""kill -9 a frame writer at random moments: no frame lost, none half-written."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swarm_star.state.history import SwarmLog
from swarm_star.store import SqliteStore
from tests.helpers.paths import ROOT


def _run_and_kill(db: Path, seconds: float) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.frame_writer", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # wait until it is really writing
    assert first.strip().isdigit(), first
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    out = proc.communicate()[0].split()
    proc.wait()
    return int(out[-1]) if out else int(first)


@pytest.mark.slow
def test_kill_nine_loses_no_frame_and_projection_equals_replay(tmp_path: Path) -> None:
    db = tmp_path / "swarm_default_kv_store.db"
    rng = random.Random(7)
    last_reported = 0
    for _ in range(8):
        reported = _run_and_kill(db, rng.uniform(0.05, 0.4))
        with SqliteStore(db) as store:
            log = SwarmLog(store)
            frames = list(log.frames())
            numbers = [f.frame for f in frames]
            assert numbers == list(range(len(frames))), "frames must be contiguous from 0"
            # Everything the writer saw committed (it printed after commit) is there.
            assert len(frames) >= reported >= last_reported
            meta = log.read_meta()
            assert meta is not None and meta["frame_count"] == len(frames)
            replayed = log.replay()
            stored = log.nodes()
            assert stored == replayed.nodes
            last_reported = len(frames)
    assert last_reported > 50
