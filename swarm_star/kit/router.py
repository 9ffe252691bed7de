"""Walk a space to a leaf, letting the model choose among the options of a folder.

A menu that fits (at most :data:`FLAT_MENU` options) is shown in one call:
folders are opened in place (``core/answer``), so a route through the
installed actions costs one model call instead of one per level. A larger
space (an MCP server's 1,000 tools) is walked a level at a time, which keeps
each prompt small however big the space grows. A folder picked from a menu is
entered and its own menu shown. "none" marks the folder unviable and
backtracks to its parent; backtracks are bounded.

A walk may start from a choice made earlier (``planned``: a manager's plan
names each part's action from the same menu, :func:`menu`): a usable leaf is
taken without a call, a folder is walked from there.

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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from swarm_star.errors import SwarmStarError
from swarm_star.models import SpaceFolder, SpaceLeaf
from swarm_star.prompts import planning
from swarm_star.prompts import routing as prompts
from swarm_star.prompts.purpose import Purpose
from swarm_star.spaces.loader import ROOT_FOLDER_ID, Space
from swarm_star.spaces.needs import met_needs

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext

__all__ = ["FLAT_MENU", "PLANNED_ACTION", "RouteResult", "action_menu", "menu", "menu_text", "route"]

FLAT_MENU = 24
"""The most options one routing call shows; folders are opened in place while the menu stays within it."""
PLANNED_ACTION = "planned_action"
"""A part's spawn context: the menu option its manager's plan named (its router starts there)."""


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


def menu(
    space: Space,
    folder_id: str,
    met: frozenset[str],
    exclude: frozenset[str] = frozenset(),
    unviable: frozenset[str] | set[str] = frozenset(),
    limit: int | None = None,
) -> dict[str, SpaceFolder | SpaceLeaf]:
    """The options offered in ``folder_id`` by name: its usable children, with folders opened in
    place (``folder/child``) as long as the menu stays within ``limit`` options (default
    :data:`FLAT_MENU`; 1 walks one level at a time). A folder whose contents are not listed yet
    (an MCP server) stays closed."""

    def usable(parent: str, prefix: str) -> list[tuple[str, SpaceFolder | SpaceLeaf]]:
        return [
            (f"{prefix}{c.name}", c)
            for c in space.children(parent)
            if c.id not in unviable and _usable(space, c.id, met, exclude)
        ]

    limit = FLAT_MENU if limit is None else limit
    options = usable(folder_id, "")
    opened = True
    while opened:
        opened = False
        for i, (name, entry) in enumerate(options):
            if isinstance(entry, SpaceFolder) and entry.id not in space.expanders:
                inner = usable(entry.id, f"{name}/")
                if len(options) - 1 + len(inner) <= limit:
                    options[i : i + 1] = inner
                    opened = True
                    break
    return dict(options)


def action_menu(ctx: ActionContext) -> dict[str, SpaceFolder | SpaceLeaf]:
    """The action space's menu at its root, as a router of this swarm would first see it."""
    return menu(ctx.actions, ROOT_FOLDER_ID, met_needs(ctx.settings, ctx.swarm_dir))


def menu_text(options: dict[str, SpaceFolder | SpaceLeaf], *, short: bool = False) -> str:
    """The menu as the model reads it: one line per option (a folder's name ends with ``/``);
    ``short`` is the planner's form (descriptions without their asides)."""
    line = planning.menu_line if short else prompts.menu_line
    return "\n".join(
        line(name, entry.description, folder=isinstance(entry, SpaceFolder)) for name, entry in options.items()
    )


async def route(
    ctx: ActionContext,
    space: Space,
    directive: str,
    *,
    purpose: Purpose | str,
    max_backtracks: int,
    context: str | Callable[[], Awaitable[str]] = "",
    exclude: frozenset[str] = frozenset(),
    planned: str = "",
) -> RouteResult:
    """Descend from the root (or the ``planned`` entry) to a usable leaf fitting ``directive``, or give up.

    ``context`` may be a coroutine function: it is awaited once, before the first model call (a
    planned leaf needs none, so its briefing is never built)."""
    met = met_needs(ctx.settings, ctx.swarm_dir)
    unviable: set[str] = set()
    path = [ROOT_FOLDER_ID]
    trail: list[str] = []
    backtracks = 0
    start = menu(space, ROOT_FOLDER_ID, met, exclude).get(planned) if planned else None
    if isinstance(start, SpaceLeaf):
        return RouteResult(leaf=start, trail=[f"{planned} (planned)"])
    if start is not None:
        trail.append(f"{planned} (planned)")
        path.append(start.id)
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
        options = menu(space, folder.id, met, exclude, unviable)
        picked, name = None, ""
        if options:
            if not isinstance(context, str):
                context = await context()
            answer = await ctx.ask_model(
                prompts.route_messages(space.kind, directive, context, folder.name, menu_text(options)),
                purpose=purpose,
                role="router",
                schema=prompts.choice_schema(tuple(options)),
            )
            name = str(answer.choice)  # type: ignore[attr-defined]
            picked = options.get(name)
        if picked is None:
            trail.append(f"nothing fits in {folder.name}")
            if folder.id == ROOT_FOLDER_ID or backtracks >= max_backtracks:
                return RouteResult(leaf=None, trail=trail)
            unviable.add(folder.id)
            path.pop()
            backtracks += 1
            continue
        trail.append(name)
        if isinstance(picked, SpaceLeaf):
            return RouteResult(leaf=picked, trail=trail)
        path.append(picked.id)
