"""Swarm-level settings: limits, models per role, and the swarm record."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swarm_star.models.providers import ROLE_FALLBACK, ROLES, ProviderSettings, RoutingPolicy, canonical_role


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
    """Where models live and how calls to them are shaped. Never holds an API key:
    keys are read from the environment (``key_env`` names the variable, not the key).

    Models per role are a name or a list ``[primary, *fallbacks]`` (see
    :meth:`models_for`); a name is a reference ``[provider:]model`` (see
    :mod:`swarm_star.models.providers`), and ``providers`` adjusts the providers
    they name. ``routing`` is the policy that orders a role's list on each call
    (``ordered``: as written; ``fastest``, ``cheapest``, ``best``: by the swarm's
    measured figures), ``role_routing`` a policy per role. ``max_tokens`` caps every
    completion (``--max-call-tokens``); without it each purpose gets its own cap
    (route small, code largest), and ``role_max_tokens`` overrides the cap per role.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    default_model: str = "gpt-4o-mini"
    planner: str | list[str] | None = None
    router: str | list[str] | None = None
    worker: str | list[str] | None = None
    reviewer: str | list[str] | None = None
    verifier: str | list[str] | None = None
    coder: str | list[str] | None = None
    synthesizer: str | list[str] | None = None
    providers: dict[str, ProviderSettings] = Field(
        default_factory=dict, description="provider name -> what is set for it (URL, key variable, limit, prices)"
    )
    routing: RoutingPolicy = Field("ordered", description="how a role's models are ordered on each call")
    role_routing: dict[str, RoutingPolicy] = Field(default_factory=dict, description="role -> routing policy")
    max_tokens: int | None = Field(None, ge=1, description="cap on every completion (--max-call-tokens)")
    role_max_tokens: dict[str, int] = Field(default_factory=dict, description="role -> completion cap")
    timeout: float = Field(
        60.0, gt=0, description="longest silence in one request: no reply, or no new token, for this long ends it (s)"
    )
    min_rate: float = Field(
        2.0,
        gt=0,
        description="tokens/s a reply must average: a request may take timeout + max_tokens / min_rate in all",
    )
    max_retries: int = Field(4, ge=0)
    concurrency: int | None = Field(
        None, ge=1, description="requests in flight to the endpoint (default: 1 on loopback, 64 elsewhere)"
    )
    retry_timeouts: bool | None = Field(
        None, description="retry a timed-out request (default: not on loopback, where it only adds load)"
    )
    key_env: str | None = Field(
        None, description="environment variable whose key is sent to base_url (explicit opt-in)"
    )
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="model -> (USD per 1M prompt, per 1M completion); overrides the library"
    )

    def models_for(self, role: str) -> list[str]:
        """``[primary, *fallbacks]`` for ``role``; a newer role with none of its own uses the
        role it grew out of (``ROLE_FALLBACK``); the default model when none is set."""
        return self.own_models_for(role) or [self.default_model]

    def own_models_for(self, role: str) -> list[str] | None:
        """The models set for ``role`` (or the role it falls back to); None: it uses the default."""
        seen: set[str] = set()
        while role not in seen:
            seen.add(role)
            explicit = getattr(self, role, None) if role in ROLES else None
            if isinstance(explicit, str) and explicit:
                return [explicit]
            if isinstance(explicit, list) and explicit:
                return list(explicit)
            role = ROLE_FALLBACK.get(role, role)
        return None

    def policy_for(self, role: str) -> RoutingPolicy:
        """The routing policy of ``role``: its own; for a role that uses another's models (see
        :meth:`models_for`), that role's; else the swarm's."""
        seen: set[str] = set()
        while role not in seen:
            seen.add(role)
            if role in self.role_routing:
                return self.role_routing[role]
            if role in ROLES and getattr(self, role, None):
                break
            role = ROLE_FALLBACK.get(role, role)
        return self.routing

    def model_for(self, role: str) -> str:
        return self.models_for(role)[0]

    @field_validator("planner", "router", "worker", "reviewer", "verifier", "coder", "synthesizer")
    @classmethod
    def _no_empty_model_list(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not all(isinstance(m, str) and m.strip() for m in value):
            raise ValueError("model lists hold non-empty model names")
        return value or None

    @field_validator("role_routing")
    @classmethod
    def _known_roles(cls, value: dict[str, RoutingPolicy]) -> dict[str, RoutingPolicy]:
        unknown = [name for name in value if canonical_role(name) != name]
        if unknown:
            raise ValueError(f"not a role: {', '.join(sorted(unknown))} (roles: {', '.join(ROLES)})")
        return value

    @field_validator("base_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        """Settings are stored with the swarm: ``user:pass@`` and ``?api_key=…`` are stripped
        here, on every path (CLI, HTTP, library); a key goes in a variable (``key_env``)."""
        from swarm_star.llm.redact import strip_url_credentials  # the llm package imports this module

        return strip_url_credentials(value) if value else value


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
    verifier_role: str = Field(
        "verifier", description="model role that judges a result (a verifier with no models is the reviewer)"
    )
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
    sandbox: Literal["bwrap", "none"] = Field(
        "bwrap", description="what contains the code the swarm runs: bubblewrap, or 'none' (explicit opt-out)"
    )


ApprovalPolicy = Literal["allow", "ask", "deny"]


class ToolSettings(BaseModel):
    """Tools (MCP servers and the built-in web tools): where the servers are configured,
    which calls need the user's approval, and how large results and loops may grow.

    ``mcp`` is the path of an ``mcpServers`` JSON file (Claude Desktop / Cursor format);
    only the path is stored, never the keys or headers inside it. ``approvals`` maps a
    pattern of tool or action paths (``tools/filesystem/*``) to ``allow``, ``ask`` or
    ``deny``; these come after the file's own ``approvals`` (the last match wins).
    """

    model_config = ConfigDict(extra="forbid")

    mcp: str | None = Field(None, description="absolute path of the MCP servers file (mcpServers JSON)")
    approvals: dict[str, ApprovalPolicy] = Field(default_factory=dict, description="path pattern -> allow | ask | deny")
    web_private: bool = Field(False, description="web/fetch may reach loopback and private addresses")
    max_steps: int = Field(6, ge=1, le=50, description="tool calls per tool leaf before it must report")
    result_cap: int = Field(100_000, ge=1000, description="characters of a tool result kept in its frame")
    prompt_cap: int = Field(4000, ge=200, description="characters of a tool result shown in a prompt")
    call_timeout: float = Field(60.0, gt=0, description="seconds one tool call may take (a server's own wins)")


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
    tools: ToolSettings = Field(default_factory=ToolSettings)
    extra: dict[str, Any] = Field(default_factory=dict)


class SwarmRecord(BaseModel):
    """The swarm's identity card, stored at ``swarm_state_record``."""

    schema_version: int = 1
    swarm_id: str
    user_id: str = "local"
    directive: str
    created_at: float
    settings: SwarmSettings = Field(default_factory=SwarmSettings)
    forked_from: str | None = Field(None, description="'SWARM@N' for a fork of SWARM at frame N (swarm-star fork)")
