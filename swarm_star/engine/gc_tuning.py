"""Garbage-collector settings for the length of a run, restored afterwards.

Why: a swarm keeps tens of thousands of long-lived objects (action modules,
the node projection, pydantic models) and makes short-lived ones on every
model call. With CPython's default generation-0 threshold (700 allocations)
the collector runs constantly and, as the tree grows, its older generations
re-scan everything that is alive: it was a third of the engine's CPU at
10,000 nodes. During a run we (1) move what is alive at the start (modules,
loaded spaces, the replayed state) into the permanent generation with
:func:`gc.freeze`, so no collection scans it again, and (2) raise the
generation-0 threshold, so short-lived garbage is collected in fewer, larger
passes, and (3) after every full (generation-2) collection, freeze what
survived it too: the tree grows for the whole run (nodes, call records,
memory), and without this each full collection re-scans all of it, so the
collector's share of CPU grew with the tree (1.9 % at 1,000 nodes, 12.9 % at
10,000). A full collection now scans only what was made since the last one.
Reference counting still frees almost everything at once; the collector only
exists for cycles, which are rare on this path (a cycle that dies after it
was frozen waits for the end of the run, when everything is unfrozen).

At the end of the run, what the run made and still holds is moved to the
oldest generation before the thresholds go back to CPython's: a run makes
fewer than 20 young collections per 10,000 nodes, so the full (gen2) pass
that would freeze their survivors never comes, and the first young collection
after the defaults return re-scanned all of them as generation 1 (160 ms of
CPU after a 10,000-node run, in whatever the process did next).

The collector is process-wide state, so the bookkeeping here is too: nested
or concurrent runs in one process (``serve`` runs several swarms) share one
tuning, applied by the first run to start and undone by the last to end. A
process that had already frozen objects itself keeps its freeze untouched.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["RUN_THRESHOLDS", "tuned_gc"]

RUN_THRESHOLDS = (50_000, 20, 20)
"""Generation thresholds during a run (CPython's defaults are 700, 10, 10)."""


class _Tuning:
    """Who changed the collector, and what to put back (one per process, like the collector)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: tuple[int, ...] = ()
        self.froze = False


_TUNING = _Tuning()


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """A ``gc.callbacks`` hook: after a full collection, what survived it leaves the collector's view."""
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


@contextlib.contextmanager
def tuned_gc(enabled: bool = True) -> Iterator[None]:
    """Freeze what is alive and raise the thresholds for the block; restore both after."""
    if not enabled:
        yield
        return
    with _TUNING.lock:
        if _TUNING.depth == 0:
            _TUNING.saved = gc.get_threshold()
            _TUNING.froze = gc.get_freeze_count() == 0
            if _TUNING.froze:
                # No gc.collect() first: on a process that has imported the SDK it costs ~0.2 s of
                # wall time per run; cyclic garbage frozen now is freed after the run instead.
                gc.freeze()
                gc.callbacks.append(_freeze_survivors)
            gc.set_threshold(*RUN_THRESHOLDS)
        _TUNING.depth += 1
    try:
        yield
    finally:
        with _TUNING.lock:
            _TUNING.depth -= 1
            if _TUNING.depth == 0:
                if _TUNING.froze:
                    gc.callbacks.remove(_freeze_survivors)
                    gc.freeze()  # the run's survivors too, then all of it into the oldest generation:
                    gc.unfreeze()  # no scan now, none by the next young collection either
                gc.set_threshold(*_TUNING.saved)
                _TUNING.froze = False
