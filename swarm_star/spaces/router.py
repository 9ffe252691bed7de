"""Walk a space one level at a time, letting the model choose among siblings.

The model only ever sees the current folder's children (name + description),
which keeps prompts small however big the space grows. "none" at a level marks
that folder unviable and backtracks to its parent; backtracks are bounded.

Only options that can work are shown: a leaf whose declared ``needs`` the
swarm does not meet (no hostfile, execution not allowed, ...) is hidden, and
so is a folder left without a usable leaf. ``exclude`` hides leaves already
tried (a leaf that refused the directive). ``context`` (where the task comes
from, what is known) goes into every prompt of the walk.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, create_model

from swarm_star.models import SpaceFolder, SpaceLeaf
from swarm_star.spaces.loader import ROOT_ID, Space
from swarm_star.spaces.needs import met_needs

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext

__all__ = ["RouteResult", "route"]


class RouteResult(BaseModel):
    """Where a walk ended: a leaf, or None with the trail of what was rejected."""

    leaf: SpaceLeaf | None = None
    trail: list[str] = Field(default_factory=list)


def _usable(space: Space, entry_id: str, met: frozenset[str], exclude: frozenset[str]) -> bool:
    """A leaf that may be offered, or a folder holding at least one."""
    entry = space.entries[entry_id]
    if isinstance(entry, SpaceLeaf):
        return entry.routable and entry.id not in exclude and set(entry.needs) <= met
    return any(_usable(space, c, met, exclude) for c in entry.children)


@functools.lru_cache(maxsize=512)
def _choice_model(names: tuple[str, ...]) -> type[BaseModel]:
    """One pydantic class per menu, reused: building classes and schemas is costly."""
    choice = Literal[(*names, "none")]  # type: ignore[valid-type]
    # no free-text "reason": a small model fills it to the context limit (#12); the choice is enough
    return create_model("RouteChoice", choice=(choice, ...))


async def route(
    ctx: ActionContext,
    space: Space,
    directive: str,
    *,
    purpose: str,
    max_backtracks: int,
    context: str = "",
    exclude: frozenset[str] = frozenset(),
) -> RouteResult:
    """Descend from the root to a usable leaf fitting ``directive``, or give up."""
    met = met_needs(ctx.settings, ctx.swarm_dir)
    about = f"\n\n{context.strip()}" if context.strip() else ""
    unviable: set[str] = set()
    path = [ROOT_ID]
    trail: list[str] = []
    backtracks = 0
    while True:
        folder = space.entries[path[-1]]
        assert isinstance(folder, SpaceFolder)
        options = [c for c in space.children(folder.id) if c.id not in unviable and _usable(space, c.id, met, exclude)]
        picked = None
        if options:
            menu = "\n".join(f"- {c.name}{'/' if isinstance(c, SpaceFolder) else ''}: {c.description}" for c in options)
            schema = _choice_model(tuple(c.name for c in options))
            answer = await ctx.ask_model(
                [
                    {
                        "role": "system",
                        "content": f"You route a task through a tree of {space.kind}. Pick the one "
                        "option that fits the task best, or 'none' if none fits.",
                    },
                    {
                        "role": "user",
                        "content": f"Task: {directive}{about}\n\nOptions in {folder.name}:\n{menu}",
                    },
                ],
                purpose=purpose,
                role="router",
                schema=schema,
            )
            picked = next((c for c in options if c.name == answer.choice), None)  # type: ignore[attr-defined]
        if picked is None:
            trail.append(f"nothing fits in {folder.name}")
            if folder.id == ROOT_ID or backtracks >= max_backtracks:
                return RouteResult(leaf=None, trail=trail)
            unviable.add(folder.id)
            path.pop()
            backtracks += 1
            continue
        trail.append(picked.name)
        if isinstance(picked, SpaceLeaf):
            return RouteResult(leaf=picked, trail=trail)
        path.append(picked.id)
