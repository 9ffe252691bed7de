"""Swarm-level settings: limits, models per role, and the swarm record."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Limits(BaseModel):
    """Budgets for one swarm. ``None`` means unbounded (time and cost only)."""

    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(8, ge=1)
    max_nodes: int = Field(500, ge=1)
    max_calls: int = Field(1000, ge=1)
    max_tokens: int = Field(2_000_000, ge=1)
    max_cost: float | None = Field(None, ge=0)
    max_time: float | None = Field(None, gt=0, description="seconds of wall time per run")
    max_rounds: int = Field(3, ge=1, description="manager review/re-plan rounds")
    max_backtracks: int = Field(3, ge=0, description="router backtracks per routing")
    max_questions: int = Field(3, ge=0, description="questions per node")
    concurrency: int = Field(16, ge=1, description="activations in flight")


class ModelSettings(BaseModel):
    """Where models live. Never holds an API key: keys are read from the environment."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    default_model: str = "gpt-4o-mini"
    planner: str | list[str] | None = Field(None, description="a model, or [primary, *fallbacks]")
    router: str | list[str] | None = None
    worker: str | list[str] | None = None
    reviewer: str | list[str] | None = None
    max_tokens: int | None = None
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0)
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="model -> (USD per 1M prompt, per 1M completion)"
    )

    def model_for(self, role: str) -> str:
        return self.models_for(role)[0]

    def models_for(self, role: str) -> list[str]:
        """``[primary, *fallbacks]`` for ``role`` (the default model when none is set)."""
        value = getattr(self, role, None)
        models = [value] if isinstance(value, str) else [m for m in value or [] if m]
        return models or [self.default_model]

    @field_validator("base_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        if value and "@" in value.split("//", 1)[-1].split("/", 1)[0]:
            raise ValueError("base_url must not embed credentials; use an API key variable")
        return value


class VerifySettings(BaseModel):
    """Which results a verifier call checks, and what happens when one fails.

    A failing verdict gets ``repairs`` repair attempts with the verifier's
    notes, then the next model of the worker role gets a go (up to
    ``fallbacks`` of them). On by default for code only: a check costs a call.
    """

    model_config = ConfigDict(extra="forbid")

    actions: list[str] = Field(
        default_factory=lambda: ["code"], description="action ids or folders (e.g. 'code', 'core.answer')"
    )
    verifier_role: str = Field("reviewer", description="model role that judges a result")
    worker_role: str = Field("worker", description="model role whose list gives the fallbacks")
    repairs: int = Field(1, ge=0, le=3)
    fallbacks: int = Field(1, ge=0, le=5)

    def applies(self, action_id: str) -> bool:
        return any(action_id == a or action_id.startswith(a + ".") for a in self.actions)


class CodeSettings(BaseModel):
    """How coding actions test what they write (only with ``allow_exec``)."""

    model_config = ConfigDict(extra="forbid")

    test_command: list[str] | None = Field(None, description="argv run in the workspace; default: pytest")
    timeout: float = Field(120.0, gt=0, description="seconds per command run")
    output_cap: int = Field(4000, ge=200, description="characters of output kept (the tail)")
    fix_rounds: int = Field(2, ge=0, le=10, description="write → test → fix rounds after the first write")
    create_actions: bool = Field(False, description="opt-in: the swarm may add actions to its own space")


class SwarmSettings(BaseModel):
    """Everything that shapes one swarm's behaviour; persisted with its record."""

    model_config = ConfigDict(extra="forbid")

    limits: Limits = Field(default_factory=Limits)
    models: ModelSettings = Field(default_factory=ModelSettings)
    allow_exec: bool = False
    hostfile: str | None = Field(None, description="absolute path of the agents' hostfile")
    fanout_candidates: int = Field(5, ge=1, le=256)
    agent_model: str = Field("default", description="model name sent to hostfile agents")
    agent_timeout: float = Field(60.0, gt=0, description="seconds per hostfile agent request")
    tree_fan_in: int = Field(4, ge=2, description="answers per summary in tree-reduce")
    verify: VerifySettings = Field(default_factory=VerifySettings)
    code: CodeSettings = Field(default_factory=CodeSettings)
    extra: dict[str, Any] = Field(default_factory=dict)


class SwarmRecord(BaseModel):
    """The swarm's identity card, stored at ``swarm_state_record``."""

    schema_version: int = 1
    swarm_id: str
    user_id: str = "local"
    directive: str
    created_at: float
    settings: SwarmSettings = Field(default_factory=SwarmSettings)
