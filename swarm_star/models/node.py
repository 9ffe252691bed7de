"""A node of the swarm tree, its questions and its spend."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swarm_star.models.basics import (
    AFTER_KEY,
    ROOT_NODE_ID,
    STATUS_WORDS,
    NodeRole,
    NodeStatus,
    SwarmStatus,
    UsageText,
)

__all__ = [
    "AFTER_KEY",
    "ROOT_NODE_ID",
    "STATUS_WORDS",
    "Check",
    "NodeRole",
    "NodeStatus",
    "Question",
    "SwarmNode",
    "SwarmStatus",
    "Usage",
]


class Usage(BaseModel, UsageText):
    """Model spend: calls, tokens and cost in USD. ``prompt_tokens`` counts every prompt
    token; ``cached_tokens`` and ``cache_write_tokens`` say how many of them a provider's
    prompt cache served or stored (priced differently)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    unpriced_calls: int = Field(0, description="calls whose model has no known price (cost undercounted)")
    cached_tokens: int = Field(0, description="prompt tokens read from the provider's cache")
    cache_write_tokens: int = Field(0, description="prompt tokens written to the provider's cache (Anthropic)")

    def plus(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost=round(self.cost + other.cost, 10),
            unpriced_calls=self.unpriced_calls + other.unpriced_calls,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class Question(BaseModel):
    """A question a node put to the user; ``answer`` is None until answered."""

    id: str
    text: str
    answer: str | None = None


class Check(BaseModel):
    """One verdict on a node's result, as the tree shows it."""

    stage: str
    model: str | None = None
    ok: bool
    reasons: list[str] = Field(default_factory=list)


class SwarmNode(BaseModel):
    """One node of the tree. Its fields are a projection of the history frames."""

    schema_version: int = 1
    id: str
    parent_id: str | None = None
    children: list[str] = Field(default_factory=list)
    role: NodeRole
    action_id: str
    directive: str
    context: dict[str, Any] = Field(default_factory=dict)
    status: NodeStatus = NodeStatus.PENDING
    report: str | None = None
    error: str | None = None
    partial: str | None = Field(
        None, description="a terminated node whose result falls short says why ('1 of 3 parts failed')"
    )
    depth: int = 0
    created_at: float
    updated_at: float
    memory_mark: int | None = Field(
        None, description="memory entries that existed when the node was spawned (what its briefing may show)"
    )
    usage: Usage = Field(default_factory=Usage)
    activations: int = 0
    questions: list[Question] = Field(default_factory=list)
    calls: list[str] = Field(default_factory=list, description="ids of LLM call frames")
    checks: list[Check] = Field(default_factory=list, description="verifier verdicts on this node's result")

    def pending_question(self) -> Question | None:
        return next((q for q in self.questions if q.answer is None), None)
