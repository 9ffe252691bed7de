"""The model layer: endpoint resolution and the async chat client.

Names are imported on first use (module ``__getattr__``): the store imports
:mod:`swarm_star.llm.redact` (the redaction boundary of every record), and
that must not load the chat client (asyncio, ssl, the SDKs' helpers) into
``tree`` or ``list`` (issue 25).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from swarm_star.lazy import export

if TYPE_CHECKING:
    from swarm_star.llm.client import ChatResult, LLMClient, parse_structured, schema_prompt
    from swarm_star.llm.endpoint import NO_ENDPOINT_MESSAGE, Endpoint, resolve_endpoint

__all__ = [
    "NO_ENDPOINT_MESSAGE",
    "ChatResult",
    "Endpoint",
    "LLMClient",
    "parse_structured",
    "resolve_endpoint",
    "schema_prompt",
]

_HOME = {
    "NO_ENDPOINT_MESSAGE": "swarm_star.llm.endpoint",
    "ChatResult": "swarm_star.llm.client",
    "Endpoint": "swarm_star.llm.endpoint",
    "LLMClient": "swarm_star.llm.client",
    "parse_structured": "swarm_star.llm.client",
    "resolve_endpoint": "swarm_star.llm.endpoint",
    "schema_prompt": "swarm_star.llm.client",
}


def __getattr__(name: str) -> Any:
    return export(__name__, _HOME, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
