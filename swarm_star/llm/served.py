"""Which model to name when the user named none: the one a local server serves.

A local server (llama.cpp's ``llama-server``, Ollama, LM Studio, vLLM,
llama-cpp-python) serves its model under its own name, and some of them reject
a request for any other. The library's fallback name (``gpt-4o-mini``) is right
for OpenAI only: with just ``OPENAI_BASE_URL`` set, ``doctor`` probed the
server's model while ``run`` and ``fanout`` sent and recorded ``gpt-4o-mini``
(issue 21). So for a server of the user's own (not OpenAI, not OpenRouter) and
no model given (no ``--model``, no ``OPENAI_MODEL``), the commands ask
``GET /models``: exactly one model is used; several is a usage error that lists
them; an endpoint without a listing keeps the fallback name.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from swarm_star.errors import ConfigError, ModelUnreachable

if TYPE_CHECKING:
    from swarm_star.llm.client import LLMClient
    from swarm_star.llm.endpoint import Endpoint

__all__ = ["MAX_LISTED", "asks_server_for_model", "pick_served_model", "served_models"]

MAX_LISTED = 20  # names shown in the error for a server with several models


def asks_server_for_model(endpoint: Endpoint, given: str | None) -> bool:
    """Whether the model is the server's to say: none given, and a server of the user's own."""
    return not given and not endpoint.default_model and endpoint.provider is None


async def served_models(client: LLMClient) -> list[str] | None:
    """The model ids ``GET /models`` lists, or None when the endpoint has no usable listing
    (404, 401, not JSON). Raises :class:`ModelUnreachable` when it cannot be reached at all."""
    import openai

    from swarm_star.llm.client import _connection_reason, _timed_out

    try:
        listed = await asyncio.wait_for(client._client.models.list(), client.settings.timeout)
    except (TimeoutError, openai.APIConnectionError) as exc:  # aiohttp reports "refused" as a connect timeout
        reason = f"timed out ({client.settings.timeout:g} s)" if _timed_out(exc) else _connection_reason(exc)
        raise ModelUnreachable(f"model endpoint unreachable: {reason} ({client.endpoint.url})") from None
    except (openai.OpenAIError, ValueError, TypeError):
        return None
    names = [str(getattr(m, "id", "") or "") for m in getattr(listed, "data", None) or []]
    return [n for n in dict.fromkeys(names) if n]


def pick_served_model(served: list[str] | None, url: str) -> str | None:
    """The one model ``url`` serves; None when it lists none; several is a :class:`ConfigError`."""
    if not served:
        return None
    if len(served) == 1:
        return served[0]
    shown = ", ".join(served[:MAX_LISTED]) + (
        f" (and {len(served) - MAX_LISTED} more)" if len(served) > MAX_LISTED else ""
    )
    raise ConfigError(f"{url} serves {len(served)} models, name one with --model: {shown}")
