"""Every exception Swarm Star raises on purpose lives here.

Dependency errors (sqlite3, azure-cosmos, openai, aiohttp) are translated at
the boundary where they happen (``raise StoreError(...) from exc``) so callers
only ever need to know this tree::

    SwarmStarError
    ├── ConfigError            bad settings, limits, missing model endpoint
    ├── InputError             a user mistake: empty directive, unreadable file
    │   └── HostfileError      a malformed hostfile line (names file and line)
    ├── SwarmNotFound          unknown swarm id
    ├── QuestionNotFound       answer to a question that is not pending
    ├── StoreError             the kv-store failed
    │   ├── StoreLocked        another process holds the store
    │   ├── StoreCorrupt       the store file is not a readable database
    │   ├── StoreUnavailable   the backend cannot be reached / rejected credentials
    │   └── ConflictError      a compare-and-set or create lost a race
    │       ├── LeaseHeld      another live process runs the swarm (holds its owner lease)
    │       └── LeaseLost      another process took over the swarm; this one may not write
    ├── ModelError             the model endpoint failed after retries
    │   ├── ModelOutputError   the model answered, but not in the asked shape
    │   └── ModelUnreachable   refused, DNS, timed out: the swarm pauses (resumable)
    ├── ExecutorUnreachable    the Ray cluster running activations is gone: the swarm pauses
    ├── SpaceError             an action/util/memory space is malformed
    ├── WorkspaceError         a path outside the workspace, or exec not allowed
    └── LimitReached           a budget (calls, tokens, cost, time, nodes, depth) ran out

Every message is one line fit to show a user as-is.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConflictError",
    "ExecutorUnreachable",
    "HostfileError",
    "InputError",
    "LeaseHeld",
    "LeaseLost",
    "LimitReached",
    "ModelError",
    "ModelOutputError",
    "ModelUnreachable",
    "QuestionNotFound",
    "SpaceError",
    "StoreCorrupt",
    "StoreError",
    "StoreLocked",
    "StoreUnavailable",
    "SwarmNotFound",
    "SwarmStarError",
    "WorkspaceError",
]


class SwarmStarError(Exception):
    """Base of every error Swarm Star raises deliberately."""


class ConfigError(SwarmStarError):
    """Settings are invalid or incomplete (limits, model endpoint, store choice)."""


class InputError(SwarmStarError):
    """The user gave something unusable (empty directive, unreadable context file)."""


class HostfileError(InputError):
    """A hostfile line could not be parsed; the message names file and line number."""


class SwarmNotFound(SwarmStarError):
    """No swarm with that id exists in the swarm space."""


class QuestionNotFound(SwarmStarError):
    """The question id is unknown or already answered."""


class StoreError(SwarmStarError):
    """The kv-store failed; the swarm's data is unchanged by the failed call."""


class StoreLocked(StoreError):
    """Another process holds a lock on the store for longer than we wait."""


class StoreCorrupt(StoreError):
    """The store file exists but is not a database we can read."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached or rejected our credentials."""


class ConflictError(StoreError):
    """A compare-and-set or create-if-absent lost to another writer."""


class LeaseHeld(ConflictError):
    """Another live process holds the swarm's owner lease, so this one may not run it."""


class LeaseLost(ConflictError):
    """This process no longer holds the swarm's owner lease, so its commits are refused."""


class ModelError(SwarmStarError):
    """The model endpoint kept failing (HTTP errors, timeouts) after retries."""


class ModelOutputError(ModelError):
    """The model answered but the answer did not fit the requested schema."""


class ModelUnreachable(ModelError):
    """The endpoint could not be reached (refused, DNS, timed out) after retries.

    Not the tree's fault: the engine stops the swarm as resumable ``stopped``
    instead of failing the node that happened to be calling.
    """


class ExecutorUnreachable(SwarmStarError):
    """The cluster that runs activations (Ray) is gone, not merely one of its workers.

    Lost infrastructure is an outage, not the tree's failure: like
    :class:`ModelUnreachable`, the engine stops the swarm as resumable ``stopped``.
    """


class SpaceError(SwarmStarError):
    """An action, util or memory space tree is malformed."""


class WorkspaceError(SwarmStarError):
    """A file path escapes the swarm workspace, or execution was not opted in."""


class LimitReached(SwarmStarError):
    """A run budget ran out; ``limit`` names which one (e.g. ``max_calls``)."""

    def __init__(self, limit: str, detail: str = "") -> None:
        self.limit = limit
        super().__init__(f"limit reached: {limit}" + (f" ({detail})" if detail else ""))
