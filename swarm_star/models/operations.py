"""Operations: the only way state changes. Each executed one becomes a frame.

A discriminated union on ``kind`` keeps the JSON self-describing, so a frame
read back years later still says what it was.

An action activation ends with exactly one *settling* operation
(:class:`Terminate`, :class:`Fail`, :class:`AskUser` or :class:`AwaitChildren`);
the projection counts activations from those, which is what lets a re-run of
an interrupted activation find its recorded model calls again.

Their validators are built on first use (``defer_build``), not when the module is
imported: ``tree``, ``questions`` and ``list`` read node records and never a frame,
and building these 16 models' schemas was ~30 ms of their start (issue 25).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from swarm_star.models.config import Limits
from swarm_star.models.node import NodeRole, Usage

DEFERRED = ConfigDict(defer_build=True)
"""The models of frames: validators built when a frame is first validated or dumped."""


class Spawn(BaseModel):
    """Create a node under ``parent_id`` (None only for the root)."""

    model_config = DEFERRED

    kind: Literal["spawn"] = "spawn"
    node_id: str
    parent_id: str | None
    role: NodeRole
    action_id: str
    directive: str
    context: dict[str, Any] = Field(default_factory=dict)


class RunAction(BaseModel):
    """The engine starts (or restarts) activation ``activation`` of a node."""

    model_config = DEFERRED

    kind: Literal["run_action"] = "run_action"
    node_id: str
    activation: int
    reason: Literal["start", "children_done", "answered", "resumed", "retry"] = "start"


class HttpAttempt(BaseModel):
    """One request of a call as the server answered it (or did not).

    ``status`` is the HTTP status (None when no response came: refused,
    timed out); ``error`` the error class and a short, redacted reason.
    """

    model_config = DEFERRED

    status: int | None = None
    error: str | None = None
    mode: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMCall(BaseModel):
    """A model call, with enough to replay it without the model.

    ``request`` holds the messages actually sent in the final attempt (schema
    prompt and repair turn included); ``digest`` is the digest of what the
    action asked (messages + schema), so a re-run that asks something else
    under the same key is recognised as a divergence, not given this reply.
    A call that failed after the server answered is recorded too (``error``
    set, ``response`` empty) so its usage counts; it is never replayed as a reply.
    ``model`` is the reference as configured (``provider:model``, or a bare name for
    the default endpoint).
    Every field added later has a default, so older frames still load.
    """

    model_config = DEFERRED

    kind: Literal["llm_call"] = "llm_call"
    node_id: str
    call_key: str = Field(description="'{activation}:{seq}' within the node")
    model: str
    purpose: str
    request: list[dict[str, str]] = Field(description="the messages sent in the final attempt (no secrets)")
    response: str
    usage: Usage
    attempts: int = 1
    latency_s: float = 0.0
    mode: str | None = Field(None, description="response format of the final attempt")
    max_tokens: int | None = None
    finish_reason: str | None = None
    attempt_log: list[HttpAttempt] = Field(default_factory=list)
    digest: str | None = None
    error: str | None = Field(None, description="why the call failed (usage-only record)")
    replaces: str | None = Field(None, description="digest of a recorded reply to a different request (divergence)")
    route: str | None = Field(
        None, description="why this model was chosen among its role's (the routing policy and its figures)"
    )


class ToolCall(BaseModel):
    """A tool call (an MCP server's tool or a built-in web tool), journaled like a model call.

    ``call_key`` shares the node's sequence with its model calls; ``digest`` is the
    digest of the tool and its arguments, so a re-run activation gets this result
    only for the same call (a committed call is never made twice). ``result`` is the
    tool's text, cut at the swarm's ``tools.result_cap`` (``result_chars`` is its
    whole length); ``is_error`` says the tool itself reported an error. ``error`` says
    the call did not happen or did not finish: the server crashed, hung or answered
    garbage, or a policy or the user denied it (``denied``). ``policy`` names what
    allowed or denied it (``allow: readOnlyHint``, ``ask: approved by the user``, ...).
    """

    model_config = DEFERRED

    kind: Literal["tool_call"] = "tool_call"
    node_id: str
    call_key: str = Field(description="'{activation}:{seq}' within the node, shared with its model calls")
    tool: str = Field(description="the tool's path, e.g. 'tools/time/get_current_time'")
    arguments: dict[str, Any] = Field(default_factory=dict)
    digest: str
    result: str = ""
    result_chars: int = 0
    is_error: bool = False
    error: str | None = None
    denied: bool = False
    policy: str | None = None
    latency_s: float = 0.0
    replaces: str | None = Field(None, description="digest of a recorded call to a different request (divergence)")


class AskUser(BaseModel):
    """Park the node until the user answers ``question``. Settling."""

    model_config = DEFERRED

    kind: Literal["ask_user"] = "ask_user"
    node_id: str
    question_id: str
    question: str


class UserAnswer(BaseModel):
    """The user's answer to a pending question; the node becomes runnable."""

    model_config = DEFERRED

    kind: Literal["user_answer"] = "user_answer"
    node_id: str
    question_id: str
    answer: str


class AwaitChildren(BaseModel):
    """The node spawned children and waits for them all to finish. Settling."""

    model_config = DEFERRED

    kind: Literal["await_children"] = "await_children"
    node_id: str


class Terminate(BaseModel):
    """The node is done and reports upward. Settling."""

    model_config = DEFERRED

    kind: Literal["terminate"] = "terminate"
    node_id: str
    report: str
    artifacts: list[str] = Field(
        default_factory=list, description="what the node wrote, e.g. 'workspace:pkg/a.py@1a2b3c4d5e'"
    )
    partial: str | None = Field(
        None, description="why the result falls short, e.g. '1 of 3 parts failed' (None: complete)"
    )


class Fail(BaseModel):
    """The node failed; ``error`` says why in one line. Settling."""

    model_config = DEFERRED

    kind: Literal["fail"] = "fail"
    node_id: str
    error: str


class SaveMemory(BaseModel):
    """Add an entry to the memory space (user context or a swarm result)."""

    model_config = DEFERRED

    kind: Literal["save_memory"] = "save_memory"
    node_id: str
    entry_id: str
    folder: str
    title: str
    content: str
    artifacts: list[str] = Field(default_factory=list, description="paths or commits the entry is about")


class RetryNode(BaseModel):
    """Re-open a failed node (``swarm-star retry``): a leaf runs again, a node with
    children re-reviews them; finished or failed managers above it re-open to
    re-review once it is done."""

    model_config = DEFERRED

    kind: Literal["retry"] = "retry"
    node_id: str


class Verdict(BaseModel):
    """A verifier's judgement of a node's result against its directive.

    ``stage`` says which attempt was judged: ``first`` (the role's primary
    model), ``repair`` (redone with the verifier's notes) or ``fallback``
    (the next model of the role). ``model`` is None for the primary.
    """

    model_config = DEFERRED

    kind: Literal["verdict"] = "verdict"
    node_id: str
    stage: Literal["first", "repair", "fallback"]
    model: str | None = None
    ok: bool
    reasons: list[str] = Field(default_factory=list)


class ActionCreated(BaseModel):
    """The swarm added a validated action to its own action space (routable for it only)."""

    model_config = DEFERRED

    kind: Literal["action_created"] = "action_created"
    node_id: str
    action_id: str = Field(description="id in this swarm's action space, e.g. 'own.slugify'")
    path: str = Field(description="file, relative to the swarm's directory")
    sha256: str


class StopSwarm(BaseModel):
    """The run stopped before the root finished (limit, interrupt, questions)."""

    model_config = DEFERRED

    kind: Literal["stop"] = "stop"
    reason: str
    limit: str | None = None


class ResumeSwarm(BaseModel):
    """A stopped swarm continues, possibly with new limits."""

    model_config = DEFERRED

    kind: Literal["resume"] = "resume"
    limits: Limits


Operation = Annotated[
    Spawn
    | RunAction
    | LLMCall
    | ToolCall
    | AskUser
    | UserAnswer
    | AwaitChildren
    | Terminate
    | Fail
    | SaveMemory
    | RetryNode
    | Verdict
    | ActionCreated
    | StopSwarm
    | ResumeSwarm,
    Field(discriminator="kind"),
]

SETTLING_KINDS = frozenset({"terminate", "fail", "ask_user", "await_children"})
