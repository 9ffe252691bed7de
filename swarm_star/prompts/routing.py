"""The router's prompt: pick one option of a space's folder (``kit/router.py``).

The router sees a folder's options (several levels at once when they fit:
``core/answer``), where the task comes from, and the task; it replies with one
option's name or ``none`` (a :func:`choice_schema` class per menu). The order
is the stable text first: the system prompt and the menu (the same for every
router of a swarm at the same folder), then the briefing, then the task, so a
provider's prompt cache can reuse the start of the request.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, create_model

from swarm_star.prompts.labels import OPTIONS_IN, ROUTE_CHOICE, TASK
from swarm_star.prompts.structured import Reply

__all__ = ["NONE", "ROUTER_SYSTEM", "choice_schema", "menu_line", "route_messages"]

ROUTER_SYSTEM = (
    "You route a task through a tree of {kind}. Pick the one option that fits the task best, or 'none' if none fits."
)
NONE = "none"


@functools.lru_cache(maxsize=512)
def choice_schema(names: tuple[str, ...]) -> type[BaseModel]:
    """One pydantic class per menu, reused: building classes and schemas is costly."""
    choice = Literal[(*names, NONE)]  # type: ignore[valid-type]
    # no free-text "reason": a small model fills it to the context limit (#12); the choice is enough
    return create_model(ROUTE_CHOICE, __base__=Reply, choice=(choice, ...))


def menu_line(name: str, description: str, *, folder: bool) -> str:
    """One option of the menu (a folder's name ends with ``/``)."""
    return f"- {name}{'/' if folder else ''}: {description}"


def route_messages(kind: str, directive: str, context: str, folder: str, menu: str) -> list[dict[str, str]]:
    """The request at one folder: ``menu`` is one :func:`menu_line` per option."""
    about = f"{context.strip()}\n\n" if context.strip() else ""
    return [
        {"role": "system", "content": f"{ROUTER_SYSTEM.format(kind=kind)}\n\n{OPTIONS_IN}{folder}:\n{menu}"},
        {"role": "user", "content": f"{about}{TASK}{directive}"},
    ]
