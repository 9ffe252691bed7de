"""Plain-text rendering of a swarm: tree lines, one-line event summaries, usage lines.

The terminal (``swarm-star tree``, ``history``, the live view of ``run``), the
HTTP server and the exported reports all describe a swarm with these same
functions, so a node or a frame reads the same wherever it is shown. Nothing
here prints: every function returns strings, and the caller decides where they
go and how wide they may be (``terminal_width``).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # `tree` draws plain records (state/tree_view.py) and imports no model
    from swarm_star.models import SwarmEvent, SwarmNode, Usage
    from swarm_star.state.projection import SwarmState
    from swarm_star.state.tree_view import NodeView, TreeView

__all__ = [
    "age",
    "duration",
    "event_line",
    "fit",
    "node_label",
    "render_tree",
    "short",
    "summary",
    "terminal_width",
    "usage_by_model",
    "usage_by_model_lines",
    "usage_line",
]

MIN_WIDTH = 40


def terminal_width(stream: TextIO) -> int | None:
    """How wide lines written to ``stream`` may be, or ``None`` for "no limit".

    A terminal gets its real width; a pipe or file gets whole lines (so
    ``grep`` sees everything) unless ``$COLUMNS`` asks for a width.
    """
    try:
        is_tty = stream.isatty()
    except (AttributeError, ValueError):
        is_tty = False
    if is_tty:
        return max(MIN_WIDTH, shutil.get_terminal_size().columns)
    raw = os.environ.get("COLUMNS", "")
    return max(MIN_WIDTH, int(raw)) if raw.isdigit() else None


def short(text: str | None, width: int = 70) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    if width <= 0:
        return ""
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def fit(line: str, width: int | None) -> str:
    """``line`` cut to ``width`` characters (unchanged when ``width`` is None)."""
    if width is None or len(line) <= width:
        return line
    return line[: max(width - 1, 0)] + "…"


def usage_line(state: SwarmState | TreeView, now: float | None = None) -> str:
    """Nodes, calls, tokens, cost and time run (``now``: the clock of a swarm running here)."""
    u = state.usage
    took = duration(state.clock.elapsed(now))
    cached = f" ({u.cached_tokens} cached)" if u.cached_tokens else ""
    return f"{len(state.nodes)} nodes · {u.calls} calls · {u.tokens} tokens{cached} · {u.cost_text()} · {took}"


def duration(seconds: float) -> str:
    """Time run, as every view shows it: ``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def usage_by_model(usage: dict[str, Usage], providers: set[str] | None = None) -> list[tuple[str, str, Usage]]:
    """``(provider, model, usage)`` per model reference, by provider (``default``: a bare name,
    the swarm's default endpoint); ``providers`` are the names a reference may start with."""
    from swarm_star.llm.providers import PROFILES, split_ref  # the model layer only when usage is split by model

    names = set(PROFILES) | (providers or set())
    rows = []
    for ref, used in usage.items():
        provider, model = split_ref(ref, names)
        rows.append((provider or "default", model, used))
    return sorted(rows, key=lambda row: (row[0], row[1]))


def usage_by_model_lines(state: SwarmState) -> list[str]:
    """One line per provider and model, when the swarm used more than one (the end of ``run``)."""
    rows = usage_by_model(state.endpoints.usage, set(state.record.settings.models.providers))
    if len(rows) < 2:
        return []
    return [
        f"  {provider} · {model} · {u.calls} calls · {u.tokens} tokens"
        + (f" ({u.cached_tokens} cached)" if u.cached_tokens else "")
        + f" · {u.cost_text()}"
        for provider, model, u in rows
    ]


def node_label(node: SwarmNode | NodeView) -> str:
    return f"{node.id} {node.role.value}:{node.action_id.rpartition('.')[2]}"


def checks_mark(node: SwarmNode | NodeView) -> str:
    """' ✓verified', ' ✗unverified' (with the number of verdicts), or nothing if never checked."""
    if not node.checks:
        return ""
    tries = f"({len(node.checks)})" if len(node.checks) > 1 else ""
    return f" ✓verified{tries}" if node.checks[-1].ok else f" ✗unverified{tries}"


def _subtree_spend(state: SwarmState | TreeView, root_id: str) -> dict[str, tuple[float, int]]:
    """Each node's subtree cost and calls (as :meth:`SwarmState.subtree_usage` adds them up),
    for the whole tree in one pass, children before parents: asking each node for its own
    walked every subtree again, most of ``tree``'s time at 10,000 nodes."""
    nodes = state.nodes
    order, stack = [], [root_id]
    while stack:
        node_id = stack.pop()
        order.append(node_id)
        stack.extend(nodes[node_id].children)
    totals: dict[str, tuple[float, int]] = {}
    for node_id in reversed(order):
        node = nodes[node_id]
        cost, calls = node.usage.cost, node.usage.calls
        if cost:
            cost = round(cost, 10)
        for child in node.children:
            child_cost, child_calls = totals[child]
            calls += child_calls
            if child_cost:  # adding 0.0 to a rounded sum leaves it as it is (round is idempotent)
                cost = round(cost + child_cost, 10)  # as Usage.plus does
        totals[node_id] = cost, calls
    return totals


def render_tree(state: SwarmState | TreeView, *, width: int | None = None, depth: int | None = None) -> list[str]:
    """One line per node, children indented under their parent.

    A failed node shows its error; the directive fills what is left of
    ``width``. With ``depth``, nodes deeper than it are folded into a
    "(N more below)" note on their nearest shown ancestor.
    """
    root = state.root
    if root is None:
        return ["(empty)"]
    lines: list[str] = []
    nodes = state.nodes
    totals = _subtree_spend(state, root.id)
    # depth first, children in order, with a stack of its own: a recursive inner function holds
    # itself and the state in a reference cycle, so a 10,000-node tree outlived the command
    # until the garbage collector's next full pass (issue 25)
    stack: list[tuple[str, str, bool, bool, int]] = [(root.id, "", True, True, 0)]
    while stack:
        node_id, prefix, last, top, level = stack.pop()
        node = nodes[node_id]
        cost, calls = totals[node_id]
        branch = "" if top else ("└─ " if last else "├─ ")
        status = node.status.word
        if node.error:
            status = f"{status}: {short(node.error, 60)}"
        hidden = _count_below(nodes, node_id) if depth is not None and level >= depth and node.children else 0
        more = f" ({hidden} more below)" if hidden else ""
        head = f"{prefix}{branch}{node_label(node)} [{status}] ${cost:.4f} {calls}c{checks_mark(node)}{more} — "
        room = 60 if width is None else max(width - len(head), 0)
        directive = short(node.directive, min(room, 60) if width is None else room)
        line = head + directive if directive else head.rstrip(" —")
        lines.append(line if width is None else fit(line, width))
        children = node.children
        if hidden or not children:
            continue
        child_prefix = prefix + ("" if top else ("   " if last else "│  "))
        stack.append((children[-1], child_prefix, True, False, level + 1))  # popped last: the └─ child
        stack.extend([(child, child_prefix, False, False, level + 1) for child in children[-2::-1]])
    return lines


def _count_below(nodes: Mapping[str, SwarmNode | NodeView], node_id: str) -> int:
    """How many nodes ``node_id``'s subtree holds below it."""
    count, stack = 0, list(nodes[node_id].children)
    while stack:
        count += 1
        stack.extend(nodes[stack.pop()].children)
    return count


def summary(event: SwarmEvent) -> str:
    """What one frame did, in a few words."""
    op = event.op
    if op.kind == "spawn":
        notes = op.context.get("plan_notes")  # what the manager's plan check changed about this part
        said = f" — {short('; '.join(map(str, notes)), 80)}" if isinstance(notes, list) and notes else ""
        return f"{op.role.value} {op.action_id}: {short(op.directive, 60)}{said}"
    if op.kind == "llm_call":
        text = f"{op.purpose} via {op.model} ({op.usage.tokens} tokens, {op.attempts} attempt(s))"
        if op.replaces:
            text += " — asked again: the recorded reply answered a different request"
        if op.route:
            text += f" — routed: {short(op.route, 90)}"
        return text + (f" — failed: {short(op.error, 60)}" if op.error else "")
    if op.kind == "tool_call":
        if op.error:
            return f"{op.tool} — {'denied' if op.denied else 'failed'}: {short(op.error, 60)}"
        return f"{op.tool} ({op.latency_s:.2f} s){' — tool error' if op.is_error else ''}: {short(op.result, 50)}"
    if op.kind == "ask_user":
        return f"asks [{op.question_id}]: {short(op.question, 60)}"
    if op.kind == "user_answer":
        return f"answer [{op.question_id}]: {short(op.answer, 60)}"
    if op.kind == "terminate":
        return f"report: {short(op.report, 60)}"
    if op.kind == "fail":
        return f"error: {short(op.error, 60)}"
    if op.kind == "run_action":
        return f"activation {op.activation} ({op.reason})"
    if op.kind == "stop":
        return f"stopped: {op.reason}"
    if op.kind == "resume":
        return "resumed"
    if op.kind == "save_memory":
        return f"memory {op.folder}: {short(op.title, 50)}"
    if op.kind == "verdict":
        who = f" ({op.model})" if op.model else ""
        reasons = f": {short('; '.join(op.reasons), 50)}" if op.reasons else ""
        return f"{op.stage}{who} {'passed' if op.ok else 'failed'}{reasons}"
    if op.kind == "action_created":
        return f"new action {op.action_id} ({op.path})"
    if op.kind == "retry":
        return "retry: re-opened"
    return str(event.op.kind)


def event_line(event: SwarmEvent, width: int | None = None) -> str:
    """One ``history`` line: frame, local time, kind, node, summary."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    node = getattr(event.op, "node_id", "-")
    return fit(f"{event.frame:>6}  {stamp}  {event.op.kind:<14} {node:<12} {summary(event)}", width)


def age(seconds: float) -> str:
    """``seconds`` as the largest whole unit: ``3d``, ``5h``, ``12m``, ``40s``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
