"""What a request brings: the JSON bodies (pydantic models) and the query parameters.

A body is parsed here, once, for every handler: valid JSON, an object, at
most :data:`MAX_BODY_DEPTH` levels deep, then the model (extra fields are
refused). Every failure is an InputError with one line that names the field.

Both are declared once and serve twice: a handler reads its parameters
through the objects it declares (:class:`IntParam`, :class:`FlagParam`,
:class:`TextParam`) and validates its body with its model, and the OpenAPI
document (:mod:`.openapi`) is generated from the same objects and models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

from swarm_star.errors import InputError
from swarm_star.models import Limits, ModelSettings

__all__ = [
    "MAX_BODY_DEPTH",
    "AnswerBody",
    "CreateBody",
    "FlagParam",
    "IntParam",
    "Param",
    "ResumeBody",
    "RetryBody",
    "TextParam",
    "flag_param",
    "int_param",
    "read_body",
    "validation_message",
]

MAX_BODY_DEPTH = 32  # nesting of a JSON body; the deepest valid body is a few levels


# request bodies


class CreateBody(BaseModel):
    """A swarm to create, started in the server unless ``start`` is false. No API keys or key
    variables: ``models.base_url`` picks one of the endpoints the server was started with."""

    model_config = ConfigDict(extra="forbid")

    directive: str = Field(max_length=100_000, description="what the swarm should do")
    context: dict[str, str] = Field(default_factory=dict, description="file name -> UTF-8 text")
    limits: Limits = Field(default_factory=Limits)
    models: ModelSettings = Field(
        default_factory=ModelSettings,
        description=(
            "base_url must be one of the endpoints the server was started with (serve --base-url, and the "
            "environment's OPENAI_*/OPENROUTER_* endpoint; default: the first), which come with their keys; "
            "key_env is refused (400)"
        ),
    )
    swarm_id: str | None = Field(default=None, description="the new swarm's id (default: a fresh one)")
    start: bool = Field(default=True, description="start running it at once")
    pattern: dict[str, Any] | None = Field(
        default=None,
        description=(
            'an orchestration pattern instead of the planning manager: {"name": "cascade|swarm|sequential|'
            'conditional|iterative", "options": {...}} (tiers, domains, steps, condition/if_true/if_false, '
            "max_iterations/criteria)"
        ),
    )


class AnswerBody(BaseModel):
    """The answer to a pending question."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=100_000)


class ResumeBody(BaseModel):
    """Resume, optionally with limits raised over the stored ones."""

    model_config = ConfigDict(extra="forbid")

    limits: dict[str, Any] | None = Field(
        default=None,
        description=(
            "any Limits field: max_depth, max_nodes, max_calls, max_tokens, max_cost, max_time, max_rounds, concurrency"
        ),
    )


class RetryBody(BaseModel):
    """Which failed nodes to re-run: those of ``node``'s subtree (default: the whole tree)."""

    model_config = ConfigDict(extra="forbid")

    node: str | None = None


# query parameters (and headers)

_FLAG_VALUES = ["0", "1", "true", "false", "yes", "no"]


@dataclass(frozen=True)
class IntParam:
    """A whole-number query parameter, at least ``lo`` (and at most ``hi``)."""

    name: str
    description: str
    default: int | None = None
    lo: int = 0
    hi: int | None = None
    where: Literal["query", "header"] = "query"

    def read(self, request: Request) -> int | None:
        return int_param(request, self.name, self.default, self.lo, self.hi)

    def schema(self) -> dict[str, Any]:
        bounds = {"minimum": self.lo} if self.hi is None else {"minimum": self.lo, "maximum": self.hi}
        return {"type": "integer", **bounds}


@dataclass(frozen=True)
class FlagParam:
    """A yes/no query parameter (see :func:`flag_param`)."""

    name: str
    description: str
    default: bool
    where: Literal["query", "header"] = "query"

    def read(self, request: Request) -> bool:
        return flag_param(request, self.name, self.default)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": _FLAG_VALUES}


@dataclass(frozen=True)
class TextParam:
    """A text query parameter or header, passed through as sent (None when absent or empty);
    ``choices`` documents the values its handler accepts."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    where: Literal["query", "header"] = "query"

    def read(self, request: Request) -> str | None:
        source = request.query_params if self.where == "query" else request.headers
        return source.get(self.name) or None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)} if self.choices else {"type": "string"}


Param = IntParam | FlagParam | TextParam


# parsing


def validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return f"invalid request: {where}: {first.get('msg', 'invalid')}"


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_BODY_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


async def read_body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    too_deep = InputError(f"the request body is nested too deeply (more than {MAX_BODY_DEPTH} levels)")
    try:
        data = json.loads(raw or b"{}")
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InputError("the request body must be a JSON object")
    if _depth(data) > MAX_BODY_DEPTH:
        raise too_deep
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_message(exc)) from exc


def flag_param(request: Request, name: str, default: bool) -> bool:
    """A yes/no query parameter: 1/true/yes or 0/false/no (empty: the default)."""
    raw = (request.query_params.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise InputError(f"query parameter {name} must be 1 or 0 (true/false), got {raw!r}")


def int_param(request: Request, name: str, default: int | None, lo: int = 0, hi: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InputError(f"query parameter {name} must be an integer, got {raw!r}") from exc
    if value < lo or (hi is not None and value > hi):
        bounds = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        raise InputError(f"query parameter {name} must be {bounds}")
    return value
