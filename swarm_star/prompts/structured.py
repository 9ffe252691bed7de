"""What the model client adds to a request for structured output (``llm/client.py``).

When a server cannot take the schema as a response format, the schema goes into
the system prompt after :data:`~swarm_star.prompts.labels.SCHEMA_MARKER`; a reply
that does not validate is answered once with :data:`REPAIR`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from swarm_star.prompts.labels import SCHEMA_MARKER

__all__ = ["REPAIR", "SCHEMA_PROMPT", "Reply"]

SCHEMA_PROMPT = "Reply with only a JSON object (no prose, no code fences) that " + SCHEMA_MARKER
"""Followed by the schema as compact JSON."""
REPAIR = "That reply was invalid ({error}). Reply again with only the JSON object."


def _untitled(schema: dict[str, Any]) -> None:
    """Drop the fields' titles ("Directive Met" for ``directive_met``): they say what the name
    says, and the schema is sent with every structured call. The reply's own title stays (it
    names the schema when the schema goes into the prompt)."""
    for field in schema.get("properties", {}).values():
        field.pop("title", None)


class Reply(BaseModel):
    """The base of every reply schema in this package (sent lean: see :func:`_untitled`)."""

    model_config = ConfigDict(json_schema_extra=_untitled)
