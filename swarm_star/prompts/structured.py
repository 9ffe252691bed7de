"""What the model client adds to a request for structured output (``llm/client.py``).

When a server cannot take the schema as a response format, the schema goes into
the system prompt after :data:`~swarm_star.prompts.labels.SCHEMA_MARKER`; a reply
that does not validate is answered once with :data:`REPAIR`.
"""

from __future__ import annotations

from swarm_star.prompts.labels import SCHEMA_MARKER

__all__ = ["REPAIR", "SCHEMA_PROMPT"]

SCHEMA_PROMPT = "Reply with only a JSON object (no prose, no code fences) that " + SCHEMA_MARKER
"""Followed by the schema as compact JSON."""
REPAIR = "That reply was invalid ({error}). Reply again with only the JSON object."
