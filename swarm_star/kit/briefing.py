"""What a node is told besides its own directive: where it comes from and what is known.

Every router, worker, planner and reviewer prompt carries a *briefing*:

- the chain of directives from the root to the node (bounded: the root, the
  last few levels, each line shortened), so a sub-directive like "write the
  tests" is read as part of "build a URL shortener in Flask";
- for a dependent part, the reports of the parts it waits for (``after``);
- the relevant memory: the user's context files and the results of parts
  that finished before this node was created. When they fit the budget they
  are all shown; when not, the memory router walks the memory space (a tree,
  like the action space) to the most relevant entry, and the rest of the
  budget is filled by word overlap with the directive chain. The walk is made
  once per plan (:func:`memory_walk`, by the manager before it plans): the
  parts it spawns carry its pick (``memory_pick`` in their spawn context) and
  every node below reuses the nearest one, ranking the rest by words, so
  siblings share one walk instead of paying one each.

Everything here is a pure function of frames already written before the node
was spawned, so a re-run activation (after a crash) builds the same prompt
and finds its recorded model calls again.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from swarm_star.models import AFTER_KEY, NodeStatus, SaveMemory, SwarmNode
from swarm_star.prompts import briefing as prompts
from swarm_star.prompts.purpose import Purpose
from swarm_star.spaces.memory import LAYOUT_FOLDER

if TYPE_CHECKING:
    from swarm_star.engine.context import ActionContext

__all__ = [
    "CHAIN_LEVELS",
    "MEMORY_BUDGET",
    "MEMORY_PICK",
    "brief",
    "directive_chain",
    "memory_walk",
    "prerequisite_reports",
    "prerequisites",
    "relevant_memory",
]

CHAIN_LEVELS = 6
LINE_CHARS = 240
REPORT_CHARS = 1500
ENTRY_CHARS = 600
MEMORY_BUDGET = 3000
CONTEXT_SCAN = 256
"""The first memory entries are the user's context (saved by the root first): looked at for every node."""
RECENT_SCAN = 120
"""Of the entries saved by the swarm before a node was spawned, the newest this many are its candidates:
the cost of a briefing stays flat however large the swarm grows (all of them made it quadratic)."""
SCAN_CHARS = 1500
"""Only the start of a long entry is cut to size or matched against the directive chain."""
MEMORY_PICK = "memory_pick"
"""A part's spawn context: the memory entries its manager's walk picked (ids; empty: words only)."""
_DONE = frozenset((NodeStatus.TERMINATED, NodeStatus.FAILED))


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def directive_chain(ctx: ActionContext) -> list[str]:
    """Directives from the root down to this node, consecutive repeats merged.

    A router, its action and a delegate share one directive; showing it three
    times would waste the budget. Long chains keep the root and the last
    levels, with a marker for what was left out.
    """
    chain: list[str] = []
    for node in [*reversed(ctx.ancestors()), ctx.node]:
        if not chain or chain[-1] != node.directive:
            chain.append(node.directive)
    if len(chain) > CHAIN_LEVELS:
        skipped = len(chain) - CHAIN_LEVELS + 1
        chain = [chain[0], f"({skipped} intermediate levels left out)", *chain[-(CHAIN_LEVELS - 2) :]]
    return [_short(d, LINE_CHARS) for d in chain]


def prerequisites(ctx: ActionContext) -> list[SwarmNode]:
    """The parts this node's branch waits for: ``after`` of the nearest node that has it."""
    for node in [ctx.node, *ctx.ancestors()]:
        after = node.context.get(AFTER_KEY)
        if after:
            return [ctx.get(node_id) for node_id in after if node_id in ctx.nodes]
        if node.role in ("manager", "root"):
            return []  # a manager's own plan starts a new scope
    return []


def prerequisite_reports(ctx: ActionContext) -> str:
    lines = []
    for node in prerequisites(ctx):
        head = f"- [{node.id}] {_short(node.directive, LINE_CHARS)}"
        if node.status == NodeStatus.TERMINATED:
            lines.append(f"{head}\n  report: {_short(node.report or '', REPORT_CHARS)}")
        else:
            lines.append(f"{head}\n  {node.status.value}: {_short(node.error or '', LINE_CHARS)}")
    return "\n".join(lines)


CACHED_ENTRIES = 1024
"""Entries whose words and line are kept for the next node: over twice the most one node looks
at (``CONTEXT_SCAN`` + ``RECENT_SCAN``), and successive nodes' windows overlap."""


def _words(text: str) -> frozenset[str]:
    """Words of 3+ letters."""
    return frozenset(re.findall(r"[^\W_]{3,}", text.lower()))


@functools.lru_cache(maxsize=CACHED_ENTRIES)
def _entry_words(title: str, content: str) -> frozenset[str]:
    """An entry's words, cached by its own strings (whose hashes Python keeps): the same entries
    are ranked for many nodes. (A node's directive chain is its own: its words are not kept; a
    cache of 4,096 chains held ~5 MB at 10,000 nodes for no hit.)"""
    return _words(f"{title} {content[:SCAN_CHARS]}")


def _render(entry: SaveMemory) -> str:
    return _render_text(entry.title, entry.content)


@functools.lru_cache(maxsize=CACHED_ENTRIES)
def _render_text(title: str, content: str) -> str:
    return f"- {title}: {_short(content[:SCAN_CHARS], ENTRY_CHARS)}"


def _pool(ctx: ActionContext) -> list[SaveMemory]:
    """The entries a briefing looks at: the context files, and the newest of the entries that
    existed when this node was spawned (frame order, so a re-run activation sees the same ones)."""
    count = ctx.memory_count()
    mark = ctx.node.memory_mark
    mark = count if mark is None else min(mark, count)  # None: a node from an older release
    start = max(0, mark - RECENT_SCAN)
    head = ctx.memory_in("context", min(CONTEXT_SCAN, start))
    return head + ctx.memory_between(start, mark)


def _candidates(ctx: ActionContext) -> list[SaveMemory]:
    """The entries this node may be shown: the context (but the directive, already in the chain),
    and results written before this node existed by nodes outside its own subtree; never a
    prerequisite's own entries (they have their own section) nor the layout (how memory is
    grouped, not something to tell a node).

    One loop with what it compares looked up once: every node of a large swarm looks at its
    full window of entries, so this runs ~75,000 times per 1,000 nodes there."""
    shown = [p.id for p in prerequisites(ctx)]
    shown_ids, below_shown = set(shown), tuple(s + "." for s in shown)
    me, below_me = ctx.node.id, ctx.node.id + "."
    created, nodes = ctx.node.created_at, ctx.nodes
    out = []
    for entry in _pool(ctx):
        saver_id = entry.node_id
        if entry.folder == "context":
            if entry.title == "Directive":
                continue
        elif entry.folder == LAYOUT_FOLDER:
            continue
        else:
            saver = nodes.get(saver_id)
            if (
                saver is None
                or saver_id == me
                or saver_id.startswith(below_me)
                or saver.status not in _DONE
                or saver.updated_at > created
            ):
                continue
        if saver_id in shown_ids or (below_shown and saver_id.startswith(below_shown)):
            continue
        out.append(entry)
    return out


def _fits(candidates: list[SaveMemory], budget: int) -> bool:
    return sum(len(_render(e)) + 1 for e in candidates) <= budget


def _shared_pick(ctx: ActionContext) -> list[str] | None:
    """The memory pick of the nearest plan above this node (None: no plan walked for it)."""
    for node in [ctx.node, *ctx.ancestors()]:
        pick = node.context.get(MEMORY_PICK)
        if isinstance(pick, list):
            return [str(p) for p in pick]
    return None


async def memory_walk(ctx: ActionContext, *, budget: int = MEMORY_BUDGET) -> list[str]:
    """Walk the memory router once for this node (a manager, before it plans): the ids of the
    entries it picks, empty when everything fits the budget or nothing fits the directive."""
    candidates = _candidates(ctx)
    if _fits(candidates, budget):
        return []
    from swarm_star.kit.router import route
    from swarm_star.spaces.memory import memory_space

    layout = ctx.memory_in(LAYOUT_FOLDER)  # the walk follows the recorded topics
    walk = await route(
        ctx,
        memory_space([*candidates, *layout], ctx.nodes),
        ctx.node.directive,
        purpose=Purpose.MEMORY_FOR_PROMPT,
        max_backtracks=ctx.limits.max_backtracks,
        context=prompts.chain_context(directive_chain(ctx)),
    )
    return [walk.leaf.id] if walk.leaf is not None else []


async def relevant_memory(
    ctx: ActionContext, *, budget: int = MEMORY_BUDGET, use_router: bool = True, pick: list[str] | None = None
) -> str:
    """Memory entries worth showing this node, within ``budget`` characters: ``pick`` (else the
    nearest plan's, else one walk of its own when ``use_router``) first, then by shared words."""
    candidates = _candidates(ctx)
    if not candidates:
        return ""
    lines = {e.entry_id: _render(e) for e in candidates}  # each rendered once (was: to fit, then to fill)
    if sum(len(line) + 1 for line in lines.values()) <= budget:
        return "\n".join(lines.values())
    if pick is None:
        pick = _shared_pick(ctx)
    if pick is None and use_router:
        pick = await memory_walk(ctx, budget=budget)
    return _fill(candidates, lines, set(pick or ()), _words(" ".join(directive_chain(ctx))), budget)


def _fill(
    candidates: list[SaveMemory], lines: dict[str, str], picked: set[str], want: frozenset[str], budget: int
) -> str:
    """The picked entries first, then the rest by the words they share with the directive chain
    (context before results), as many as fit ``budget``."""
    chosen = [e for e in candidates if e.entry_id in picked]
    ranked = sorted(
        (e for e in candidates if e.entry_id not in picked),
        key=lambda e: (e.folder != "context", -len(want & _entry_words(e.title, e.content))),
    )
    out, used = [], 0
    for entry in [*chosen, *ranked]:
        line = lines[entry.entry_id]
        if used + len(line) + 1 > budget:
            continue
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


async def brief(
    ctx: ActionContext, *, memory: bool = True, use_router: bool = True, pick: list[str] | None = None
) -> str:
    """The briefing block for a prompt (empty sections left out; the words are prompts/briefing.py's)."""
    chain, needed = directive_chain(ctx), prerequisite_reports(ctx)  # read before the memory walk awaits
    known = await relevant_memory(ctx, use_router=use_router, pick=pick) if memory else ""
    return prompts.briefing_block(chain, needed, known)
