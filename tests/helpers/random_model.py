"""A model double that answers every structured request with a random valid instance.

Given the JSON schema a request asks for, it builds a random instance (random
counts, enum choices, strings, booleans, numbers). Valid but arbitrary
replies are the best probe for loops and unbounded growth: a swarm must end
within its limits whatever a schema-conforming model says.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from swarm_star.testing.openai_server import request_schema

__all__ = ["RandomModel", "random_instance"]

WORDS = ("alpha", "build", "check", "data", "east", "file", "graph", "help", "index", "join", "key", "list")


def random_instance(schema: dict[str, Any], rng: random.Random, defs: dict[str, Any] | None = None) -> Any:
    """A random value that validates against ``schema`` (the subset pydantic emits)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return random_instance(defs[schema["$ref"].rsplit("/", 1)[-1]], rng, defs)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return random_instance(rng.choice(schema[key]), rng, defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object" or "properties" in schema:
        return {name: random_instance(sub, rng, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", low + 6), low + 6)
        return [random_instance(schema.get("items", {}), rng, defs) for _ in range(rng.randint(low, high))]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        return rng.randint(schema.get("minimum", 0), schema.get("maximum", 20))
    if kind == "number":
        return rng.uniform(schema.get("minimum", 0.0), schema.get("maximum", 20.0))
    if kind == "null":
        return None
    words = rng.randint(max(1, schema.get("minLength", 1)), 6)
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[: schema["maxLength"]] if "maxLength" in schema else text


@dataclass
class RandomModel:
    """Responder for :class:`LocalOpenAIServer`; text requests get random words."""

    seed: int
    calls: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> dict[str, Any] | str:
        _, schema = request_schema(request)
        with self._lock:
            self.calls += 1
            if schema is None:
                return " ".join(self._rng.choice(WORDS) for _ in range(self._rng.randint(1, 12)))
            return random_instance(schema, self._rng)
