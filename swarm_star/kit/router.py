"""Walk a space one level at a time, letting the model choose among siblings.

The model only ever sees the current folder's children (name + description),
which keeps prompts small however big the space grows. "none" at a level marks
that folder unviable and backtracks to its parent; backtracks are bounded.

Only options that can work are shown: a leaf whose declared ``needs`` the
swarm does not meet (no hostfile, execution not allowed, ...) is hidden, and
so is a folder left without a usable leaf. ``exclude`` hides leaves already
tried (a leaf that refused the directive). ``context`` (where the task comes
from, what is known) goes into every prompt of the walk; the words of the
prompt and its reply schema are ``prompts/routing.py``'s.

In the kit, not in ``spaces/``: a walk asks the model through an activation's
:class:`ActionContext`, so it sits above the engine with the other helpers
actions call (``spaces/`` stays below the engine: loading, ids, memory, own actions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from swarm_star.errors import SwarmStarError
from swarm_star.models import SpaceFolder, SpaceLeaf
from swarm_star.prompts import routing as prompts
from swarm_star.prompts.purpose import Purpose
from swarm_star.spaces.loader import ROOT_FOLDER_ID, Space
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
    if entry_id in space.expanders:
        return True  # not listed yet (an MCP server starts only when a router enters it)
    if isinstance(entry, SpaceLeaf):
        return entry.routable and entry.id not in exclude and set(entry.needs) <= met
    return any(_usable(space, c, met, exclude) for c in entry.children)


async def route(
    ctx: ActionContext,
    space: Space,
    directive: str,
    *,
    purpose: Purpose | str,
    max_backtracks: int,
    context: str = "",
    exclude: frozenset[str] = frozenset(),
) -> RouteResult:
    """Descend from the root to a usable leaf fitting ``directive``, or give up."""
    met = met_needs(ctx.settings, ctx.swarm_dir)
    unviable: set[str] = set()
    path = [ROOT_FOLDER_ID]
    trail: list[str] = []
    backtracks = 0
    while True:
        folder = space.entries[path[-1]]
        assert isinstance(folder, SpaceFolder)
        try:
            await space.expand(folder.id)
        except SwarmStarError as exc:  # a tool server that cannot list its tools: try elsewhere
            trail.append(f"{folder.name} unavailable: {exc}")
            unviable.add(folder.id)
            path.pop()
            continue
        options = [c for c in space.children(folder.id) if c.id not in unviable and _usable(space, c.id, met, exclude)]
        picked = None
        if options:
            menu = "\n".join(
                prompts.menu_line(c.name, c.description, folder=isinstance(c, SpaceFolder)) for c in options
            )
            schema = prompts.choice_schema(tuple(c.name for c in options))
            answer = await ctx.ask_model(
                prompts.route_messages(space.kind, directive, context, folder.name, menu),
                purpose=purpose,
                role="router",
                schema=schema,
            )
            picked = next((c for c in options if c.name == answer.choice), None)  # type: ignore[attr-defined]
        if picked is None:
            trail.append(f"nothing fits in {folder.name}")
            if folder.id == ROOT_FOLDER_ID or backtracks >= max_backtracks:
                return RouteResult(leaf=None, trail=trail)
            unviable.add(folder.id)
            path.pop()
            backtracks += 1
            continue
        trail.append(picked.name)
        if isinstance(picked, SpaceLeaf):
            return RouteResult(leaf=picked, trail=trail)
        path.append(picked.id)
