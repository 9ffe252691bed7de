"""The model layer: endpoint resolution and the async chat client."""

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
