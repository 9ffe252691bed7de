"""Every exception Swarm Star raises on purpose lives here, with its exit code and HTTP status.

Dependency errors (sqlite3, azure-cosmos, openai, aiohttp) are translated at
the boundary where they happen (``raise StoreError(...) from exc``) so callers
only ever need to know this tree (exit code for the CLI, status for HTTP)::

    SwarmStarError                  1  500
    ├── ConfigError                 2  400  bad settings, limits, missing model endpoint
    │   └── SandboxUnavailable      2  400  --allow-exec, but no sandbox works here (and no --sandbox none)
    ├── InputError                  2  400  a user mistake: empty directive, unreadable file
    │   └── HostfileError           2  400  a malformed hostfile line (names file and line)
    ├── SwarmNotFound               2  404  unknown swarm id
    ├── SwarmExists                 2  409  create with an id a swarm already has
    ├── NodeNotFound                2  404  unknown node id in a known swarm
    ├── QuestionNotFound            2  404  answer to a question that is not pending
    ├── StatusConflict              2  409  the swarm's status does not allow this now
    │   ├── AlreadyRunning          6  409  a live process (or this server) runs the swarm (holds its lease)
    │   ├── NotRunning              2  409  stop of a swarm nobody runs here
    │   ├── AlreadyFinished         0  409  resume of a finished swarm: it stays finished
    │   └── AlreadyFailed           1  409  resume of a failed swarm: `retry` re-runs failed nodes
    ├── StoreError                  1  500  the kv-store failed
    │   ├── StoreLocked             1  503  another process holds the store
    │   ├── StoreCorrupt            1  500  the store file is not a readable database
    │   ├── StoreUnavailable        1  503  the backend cannot be reached / rejected credentials
    │   └── ConflictError           2  409  a compare-and-set or create lost a race
    │       └── LeaseLost           6  409  another process took over the swarm; this one may not write
    ├── ModelError                  1  500  the model endpoint failed after retries
    │   ├── ModelOutputError        1  500  the model answered, but not in the asked shape
    │   └── ModelUnreachable        5  500  refused, DNS, timed out: the swarm pauses (resumable)
    ├── ExecutorUnreachable         5  503  the Ray cluster running activations is gone: the swarm pauses
    ├── SpaceError                  1  500  an action/util/memory space is malformed
    ├── ToolError                   1  502  a tool call failed: its server crashed, hung or answered garbage
    ├── WorkspaceError              1  500  a path outside the workspace, or exec not allowed
    └── LimitReached                4  500  a budget (calls, tokens, cost, time, nodes, depth) ran out

The exit codes are :class:`ExitCode`; a run's outcome maps to the same codes
(finished 0, failed 1, questions 3, limit 4, unreachable 5, finished but partial 7:
some parts failed or the reviewer judged the directive not met); 6 says another
process runs the swarm (its lease was still held after ``resume`` waited one
lease for it, or it took the lease over during this run). The CLI prints
``swarm-star: error: <message>`` and exits with ``exit_code``; the HTTP server
answers ``{"error": <message>, "status": http_status}``. ``AlreadyFinished``
exits 0: asking to resume a finished swarm is not a failure, nothing is done.

Every message is one line fit to show a user as-is.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

__all__ = [
    "AlreadyFailed",
    "AlreadyFinished",
    "AlreadyRunning",
    "ConfigError",
    "ConflictError",
    "ExecutorUnreachable",
    "ExitCode",
    "HostfileError",
    "InputError",
    "LeaseLost",
    "LimitReached",
    "ModelError",
    "ModelOutputError",
    "ModelUnreachable",
    "NodeNotFound",
    "NotRunning",
    "QuestionNotFound",
    "SandboxUnavailable",
    "SpaceError",
    "StatusConflict",
    "StoreCorrupt",
    "StoreError",
    "StoreLocked",
    "StoreUnavailable",
    "SwarmExists",
    "SwarmNotFound",
    "SwarmStarError",
    "ToolError",
    "WorkspaceError",
]


class ExitCode(IntEnum):
    """The command's exit codes (stable, documented in the README)."""

    OK = 0  # the swarm finished; a read command worked; output cut by a closed pipe
    FAILURE = 1  # the swarm failed, or the store or model failed
    USAGE = 2  # bad arguments or input, unknown swarm, node or question, a state that forbids the command
    QUESTIONS = 3  # questions pending: answer them, then resume
    LIMIT = 4  # a limit was reached: resume with a raised limit
    UNREACHABLE = 5  # the model endpoint or the Ray cluster cannot be reached: the swarm is paused, resume later
    HELD = 6  # another process runs the swarm (holds or took over its owner lease)
    PARTIAL = 7  # the swarm finished short of its directive: parts failed or the reviewer judged it not met
    INTERRUPTED = 130  # Ctrl-C: state saved, resume continues


class SwarmStarError(Exception):
    """Base of every error Swarm Star raises deliberately.

    A subclass names its exit code and HTTP status where it differs from its
    base's: ``class InputError(SwarmStarError, exit_code=ExitCode.USAGE, http_status=400)``.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE
    http_status: ClassVar[int] = 500

    def __init_subclass__(cls, *, exit_code: ExitCode | None = None, http_status: int | None = None) -> None:
        super().__init_subclass__()
        if exit_code is not None:
            cls.exit_code = exit_code
        if http_status is not None:
            cls.http_status = http_status


class ConfigError(SwarmStarError, exit_code=ExitCode.USAGE, http_status=400):
    """Settings are invalid or incomplete (limits, model endpoint, store choice)."""


class SandboxUnavailable(ConfigError):
    """Execution was asked for, but no sandbox can contain it here (bwrap missing or unusable)."""


class InputError(SwarmStarError, exit_code=ExitCode.USAGE, http_status=400):
    """The user gave something unusable (empty directive, unreadable context file)."""


class HostfileError(InputError):
    """A hostfile line could not be parsed; the message names file and line number."""


class SwarmNotFound(SwarmStarError, exit_code=ExitCode.USAGE, http_status=404):
    """No swarm with that id exists in the swarm space."""


class SwarmExists(SwarmStarError, exit_code=ExitCode.USAGE, http_status=409):
    """A swarm with that id already exists (create with a taken id); nothing was written."""


class NodeNotFound(SwarmStarError, exit_code=ExitCode.USAGE, http_status=404):
    """The swarm has no node with that id."""


class QuestionNotFound(SwarmStarError, exit_code=ExitCode.USAGE, http_status=404):
    """The question id is unknown or already answered."""


class StatusConflict(SwarmStarError, exit_code=ExitCode.USAGE, http_status=409):
    """The swarm's status does not allow this now (running, not running, finished, failed)."""


class AlreadyRunning(StatusConflict, exit_code=ExitCode.HELD):
    """A live process (or this server) runs the swarm; its owner lease is held."""


class NotRunning(StatusConflict):
    """A stop was asked for a swarm that nobody runs here."""


class AlreadyFinished(StatusConflict, exit_code=ExitCode.OK):
    """Resume of a finished swarm: it stays finished, nothing is done (exit 0)."""


class AlreadyFailed(StatusConflict, exit_code=ExitCode.FAILURE):
    """Resume of a failed swarm: resume continues stopped or waiting swarms; ``retry`` re-runs failed nodes."""


class StoreError(SwarmStarError):
    """The kv-store failed; the swarm's data is unchanged by the failed call."""


class StoreLocked(StoreError, http_status=503):
    """Another process holds a lock on the store for longer than we wait."""


class StoreCorrupt(StoreError):
    """The store file exists but is not a database we can read."""


class StoreUnavailable(StoreError, http_status=503):
    """The backend cannot be reached or rejected our credentials."""


class ConflictError(StoreError, exit_code=ExitCode.USAGE, http_status=409):
    """A compare-and-set or create-if-absent lost to another writer."""


class LeaseLost(ConflictError, exit_code=ExitCode.HELD):
    """This process no longer holds the swarm's owner lease, so its commits are refused."""


class ModelError(SwarmStarError):
    """The model endpoint kept failing (HTTP errors, timeouts) after retries."""


class ModelOutputError(ModelError):
    """The model answered but the answer did not fit the requested schema."""


class ModelUnreachable(ModelError, exit_code=ExitCode.UNREACHABLE):
    """The endpoint could not be reached (refused, DNS, timed out) after retries.

    Not the tree's fault: the engine stops the swarm as resumable ``stopped``
    instead of failing the node that happened to be calling.
    """


class ExecutorUnreachable(SwarmStarError, exit_code=ExitCode.UNREACHABLE, http_status=503):
    """The cluster that runs activations (Ray) is gone, not merely one of its workers.

    Lost infrastructure is an outage, not the tree's failure: like
    :class:`ModelUnreachable`, the engine stops the swarm as resumable ``stopped``.
    """


class SpaceError(SwarmStarError):
    """An action, util or memory space tree is malformed."""


class ToolError(SwarmStarError, http_status=502):
    """A tool call failed: its MCP server crashed, hung or answered garbage, or a web fetch failed.

    It fails that one call (the tool loop sees the reason), never the swarm.
    """


class WorkspaceError(SwarmStarError):
    """A file path escapes the swarm workspace, or execution was not opted in."""


class LimitReached(SwarmStarError, exit_code=ExitCode.LIMIT):
    """A run budget ran out; ``limit`` names which one (e.g. ``max_calls``)."""

    def __init__(self, limit: str, detail: str = "") -> None:
        self.limit = limit
        super().__init__(f"limit reached: {limit}" + (f" ({detail})" if detail else ""))
