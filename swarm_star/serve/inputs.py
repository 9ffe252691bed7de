"""What a request brings: the JSON bodies (pydantic models) and the query parameters.

A body is parsed here, once, for every handler: valid JSON, an object, at
most :data:`MAX_BODY_DEPTH` levels deep, then the model (extra fields are
refused). Every failure is an InputError with one line that names the field.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

from swarm_star.errors import InputError
from swarm_star.models import Limits, ModelSettings

__all__ = [
    "MAX_BODY_DEPTH",
    "AnswerBody",
    "CreateBody",
    "ResumeBody",
    "RetryBody",
    "flag_param",
    "int_param",
    "read_body",
    "validation_message",
]

MAX_BODY_DEPTH = 32  # nesting of a JSON body; the deepest valid body is a few levels


# request bodies


class CreateBody(BaseModel):
    """POST /api/swarms. No API keys or key variables here: ``models.base_url`` picks one of
    the endpoints the operator listed (:mod:`swarm_star.serve.endpoints`), which come with their keys."""

    model_config = ConfigDict(extra="forbid")

    directive: str = Field(max_length=100_000)
    context: dict[str, str] = Field(default_factory=dict, description="file name -> UTF-8 text")
    limits: Limits = Field(default_factory=Limits)
    models: ModelSettings = Field(default_factory=ModelSettings)
    swarm_id: str | None = None
    start: bool = True


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=100_000)


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: dict[str, Any] | None = None


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str | None = None


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
