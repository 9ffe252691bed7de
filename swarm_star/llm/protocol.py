"""What the engine needs of a model client: :class:`ModelClient`.

Two classes have this surface: :class:`~swarm_star.llm.client.LLMClient` (one
OpenAI-compatible endpoint: tests and scripts pass one in) and
:class:`~swarm_star.llm.routing.ModelRouter` (every provider a swarm's roles
name, with a routing policy per role: what a swarm builds for itself).
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from swarm_star.llm.client import ChatResult, Gate
from swarm_star.llm.endpoint import Endpoint
from swarm_star.models import ModelSettings
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.tools import NativeTools

__all__ = ["ModelClient", "Prices"]


class Prices(Protocol):
    def cost(self, model: str, prompt: int, completion: int) -> float | None: ...

    def known(self, model: str) -> bool: ...

    def source(self, model: str) -> str: ...


class ModelClient(Protocol):
    """A model client as the engine, the API and the CLI's doctor use it."""

    settings: ModelSettings

    @property
    def endpoint(self) -> Endpoint: ...

    @property
    def prices(self) -> Prices: ...

    def models_for(self, role: str) -> list[str]: ...

    def route(self, role: str) -> list[tuple[str, str | None]]:
        """The role's models in the order to try them, each with why (None: no choice was made)."""
        ...

    def remember_mode(self, model: str, mode: str) -> None: ...

    def saturated(self) -> bool:
        """Every request slot is taken: a call made now would wait for one."""
        ...

    def redact(self, text: str) -> str: ...

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        role: str = "worker",
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        model: str | None = None,
        purpose: Purpose | str | None = None,
        gate: Gate | None = None,
        native: NativeTools | None = None,
    ) -> ChatResult: ...

    async def aclose(self) -> None: ...
