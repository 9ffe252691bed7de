"""Fork a swarm at any frame: a new swarm whose history is frames 0..N of the original.

Why a copy of the frames and not a pointer to the original: a fork is a swarm
like any other (resumable, answerable, forkable, deletable) and the original
stays untouched whatever the fork does. Its frames 0..N are the original's,
byte for byte in what they say, so its tree at N *is* the original's tree at N
(the same :meth:`SwarmState.apply` replays them); frame N+1, its first own
frame, is a stop whose reason says ``forked from SWARM@N``, so the fork is a
stopped swarm that ``resume`` continues.

What a fork at N does not carry over, each for a reason:

- **frames after N**: model calls recorded after N (also those of calls that
  were already in flight at N), answers, approvals and verdicts given after N.
  A question asked at or before N and answered after it is pending again in
  the fork, so it may take a different answer. Calls recorded at or before N
  are in the fork's frames: a re-run activation gets them again by key and
  digest, never paying for them twice.
- **the answer inbox** (answers queued but not yet taken by a run): they were
  given to the original, after N.
- **the owner lease**: the fork has no writer until it is resumed.
- **workspace commits of changes not known at N**: the fork's workspace is a
  clone of the original's cut at the last change whose model call the fork
  has (:func:`~swarm_star.kit.workspace.fork_workspace`).
- **own actions** created after N: only the modules named by an
  ``action_created`` frame at or before N are copied.

Tool lists recorded from MCP servers are copied (they describe the servers,
not the run).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from swarm_star.api.swarm import Swarm, new_swarm_id
from swarm_star.errors import ConflictError, InputError
from swarm_star.kit.workspace import fork_workspace
from swarm_star.models import StopSwarm, SwarmEvent
from swarm_star.models.operations import SETTLING_KINDS
from swarm_star.state.history import SwarmLog
from swarm_star.state.layout import INSTALLED_SPACE_KEYS, OWN_ACTION_PREFIX, TOOL_LISTING_PREFIX
from swarm_star.state.projection import SwarmState
from swarm_star.store import validate_swarm_id
from swarm_star.store.base import Put

__all__ = ["FORK_REASON", "fork_swarm", "whole_outcomes"]

FORK_REASON = "forked from {swarm}@{frame}"
"""The stop reason of a fork's first own frame (what ``list`` and the page show)."""
OUTCOME_KINDS = frozenset({"spawn", "verdict", "save_memory", "action_created"})
"""Kinds an activation's outcome may carry before its settling operation."""


def fork_swarm(source: Swarm, frame: int, swarm_id: str | None = None) -> Swarm:
    """A new swarm (``swarm_id``, default time-based) whose history is ``source``'s frames
    0..``frame``, stopped and resumable; InputError for a frame that does not exist or an
    id that is taken. ``source`` may be running: only committed frames are read. A frame
    inside an activation's outcome is moved to its end (see :func:`whole_outcomes`); the
    fork's record says where it was cut (``forked_from``: ``SWARM@N``)."""
    count = source.reader.frame_count()
    if not 0 <= frame < count:
        raise InputError(f"frame {frame} does not exist in swarm {source.id} (0..{count - 1})")
    new_id = validate_swarm_id(swarm_id or new_swarm_id())
    events = whole_outcomes(source.reader.frames(), frame)
    frame = events[-1].frame
    original = source.reader.record()
    record = original.model_copy(update={"swarm_id": new_id, "forked_from": f"{source.id}@{frame}"})
    state = SwarmState.new(record)
    for event in events:
        state.apply(event)
    stop = SwarmEvent(
        frame=frame + 1, time=time.time(), op=StopSwarm(reason=FORK_REASON.format(swarm=source.id, frame=frame))
    )
    state.apply(stop)
    events.append(stop)
    own = [Path(e.op.path) for e in events if e.op.kind == "action_created"]
    batch = SwarmLog.batch(events, state, state.nodes, [*SwarmLog.creation(record), *_spaces(source, own)])
    try:
        store = source.locator.create(new_id, batch)
    except ConflictError as exc:
        raise InputError(f"swarm {new_id!r} already exists; choose another id for the fork") from exc
    fork = Swarm(source.locator, new_id, store)
    try:
        _copy_files(source, fork, state, own)
    except BaseException:
        fork.close()
        shutil.rmtree(source.locator.swarm_dir(new_id), ignore_errors=True)
        raise
    fork.state = state
    return fork


def whole_outcomes(frames: Iterable[SwarmEvent], frame: int) -> list[SwarmEvent]:
    """Frames 0..``frame``, and the rest of an activation's outcome that ``frame`` is inside of.

    Why: the operations an activation returns (its spawns, verdicts, created actions,
    then its settling operation, and the memory entry of a report) are committed in one
    batch, so no durable state ever had part of them. Cut inside one, a resumed fork
    would run the activation again (its recorded calls replayed) and emit the whole
    outcome once more: a second set of children. So a fork ends where the outcome does.
    """
    out: list[SwarmEvent] = []
    for event in frames:
        if event.frame > frame and not _continues(out[-1], event):
            break
        out.append(event)
    return out


def _continues(last: SwarmEvent, nxt: SwarmEvent) -> bool:
    """Whether ``nxt`` belongs to the same activation's outcome as ``last``."""
    node = getattr(last.op, "node_id", None)
    if last.op.kind == "terminate":  # its report's memory entry rides with it
        return nxt.op.kind == "save_memory" and nxt.op.node_id == node
    if last.op.kind in SETTLING_KINDS or last.op.kind not in OUTCOME_KINDS:
        return False
    return nxt.op.kind in OUTCOME_KINDS or nxt.op.kind in SETTLING_KINDS


def _spaces(source: Swarm, own: list[Path]) -> list[Put]:
    """The recorded spaces the fork keeps: the installed trees' and the MCP tool lists as
    they are, and only the own actions created by the fork's frame (``own``)."""
    keep = [Put(key, value) for key, value in source.store.scan(TOOL_LISTING_PREFIX)]
    for key in INSTALLED_SPACE_KEYS.values():
        value = source.store.get(key)
        if value is not None:
            keep.append(Put(key, value))
    names = {OWN_ACTION_PREFIX + path.stem for path in own}
    return keep + [Put(key, value) for key, value in source.store.scan(OWN_ACTION_PREFIX) if key in names]


def _copy_files(source: Swarm, fork: Swarm, state: SwarmState, own: list[Path]) -> None:
    """The fork's workspace as it was at the fork's frame, and the own actions (``own``,
    relative to the swarm's folder) created by then."""
    known = {f"{node}@{key}" for node, key in state.calls}
    fork_workspace(source.workspace, fork.workspace, known.__contains__)
    src, dest = source.locator.swarm_dir(source.id), source.locator.swarm_dir(fork.id)
    for path in own:
        if (src / path).is_file():
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / path, dest / path)
