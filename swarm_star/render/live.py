"""The live terminal tree: ``rich``'s Live display, redrawn in place.

Why a tree and not a log: past ~50 nodes a line-per-event log scrolls away
from what matters. The live tree shows the swarm's shape with running and
waiting counts, per-node status and cost, finished subtrees collapsed to one
line, the newest events at the bottom, and it fits the terminal's height.

:class:`LiveTree` has the same small interface as the CLI's line view
(``on_event(event)``, ``on_question(node, question)``, a ``source`` of the
live state such as the run's handle), so ``run``/``resume`` pick one or the other by whether stdout is a
terminal. :func:`follow` drives it (or a line log, off a terminal) from the
store for ``swarm-star watch``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TextIO

from swarm_star.models import NodeStatus, Question, SwarmEvent, SwarmNode, SwarmStatus, Usage
from swarm_star.render.text import duration, short, summary, usage_line
from swarm_star.state.projection import SwarmState

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from swarm_star.state.history import SwarmLog

__all__ = ["FollowedSwarm", "LiveTree", "StateSource", "event_summary", "follow", "tree_lines"]

STATUS_STYLE = {
    NodeStatus.PENDING: ("·", "dim"),
    NodeStatus.RUNNING: ("▶", "bold cyan"),
    NodeStatus.WAITING_CHILDREN: ("◔", "blue"),
    NodeStatus.WAITING_USER: ("?", "bold yellow"),
    NodeStatus.TERMINATED: ("✓", "green"),
    NodeStatus.FAILED: ("✗", "bold red"),
}
EVENT_LINES = 6
REFRESH_SECONDS = 0.2


class FollowedSwarm(Protocol):
    """What :func:`follow` reads of a swarm (an ``api.Swarm``): its id and its history.
    A protocol, so the renderers sit below the API and never import it."""

    @property
    def id(self) -> str: ...

    @property
    def log(self) -> SwarmLog: ...


class StateSource(Protocol):
    """Whatever holds the live state of a run (``api.RunHandle``): None until it is loaded."""

    @property
    def state(self) -> SwarmState | None: ...


def event_summary(event: SwarmEvent) -> str:
    """One line for a frame, for the events pane and the ``watch`` log (the words of ``history``)."""
    node = getattr(event.op, "node_id", "-")
    return f"[{event.frame:>5}] {node:<10} {summary(event)}"


class Rolled(NamedTuple):
    """A node's subtree: usage, node count, whether all of it is done, failures in it."""

    usage: Usage
    size: int
    done: bool
    failed: int


def _rollup(state: SwarmState) -> dict[str, Rolled]:
    out: dict[str, Rolled] = {}
    for node in sorted(state.nodes.values(), key=lambda n: -n.depth):
        used, count, done = node.usage, 1, node.status.done
        failed = int(node.status == NodeStatus.FAILED)
        for child in node.children:
            below = out[child]
            used, count = used.plus(below.usage), count + below.size
            done, failed = done and below.done, failed + below.failed
        out[node.id] = Rolled(used, count, done, failed)
    return out


def tree_lines(state: SwarmState, width: int = 100, max_lines: int | None = None) -> list[tuple[str, str]]:
    """(text, style) lines of the tree.

    A finished subtree folds to one line unless a failure is in it (failures
    are never folded out of sight). A tree taller than ``max_lines`` keeps
    the lines that matter (running, asking, failed, then waiting nodes, then
    the top of the tree) *with all their ancestors*, so every shown node sits
    under its true parent; each run of hidden siblings becomes one marked
    line (``… 3 more (12 nodes)``) in its place, and the connectors are drawn
    for what is shown.
    """
    root = state.root
    if root is None:
        return [("(empty)", "dim")]
    rolled = _rollup(state)

    def kids(node_id: str) -> list[str]:
        node, below = state.nodes[node_id], rolled[node_id]
        folded = below.done and not below.failed and node.parent_id is not None
        return [] if folded else node.children

    order: list[str] = []  # the unfolded tree, depth first
    stack = [root.id]
    while stack:
        node_id = stack.pop()
        order.append(node_id)
        stack.extend(reversed(kids(node_id)))
    keep = set(order)
    if max_lines is not None and len(order) > max_lines:
        keep = _chosen(state, order, kids, max(max_lines, 1))

    lines: list[tuple[str, str]] = []
    walk: list[tuple[str, str, bool, bool]] = [(root.id, "", True, True)]
    while walk:
        node_id, prefix, last, top = walk.pop()
        branch = "" if top else ("└─ " if last else "├─ ")
        if node_id.startswith("…"):  # a run of hidden siblings
            lines.append((f"{prefix}{branch}{node_id}", "dim"))
            continue
        node, below = state.nodes[node_id], rolled[node_id]
        mark, style = STATUS_STYLE[node.status]
        extra = f" (+{below.size - 1} nodes)" if node.children and not kids(node_id) else ""
        extra += f" ({below.failed} failed below)" if below.failed > (node.status == NodeStatus.FAILED) else ""
        head = f"{prefix}{branch}{mark} {node.id} {node.role.value}:{node.action_id.split('.')[-1]}"
        stats = f" ${below.usage.cost:.4f} {below.usage.calls}c{extra} — "
        lines.append((head + stats + short(node.directive, max(width - len(head) - len(stats), 10)), style))
        entries = _entries(kids(node_id), keep, rolled)
        child_prefix = prefix + ("" if top else ("   " if last else "│  "))
        for i in range(len(entries) - 1, -1, -1):
            walk.append((entries[i], child_prefix, i == len(entries) - 1, False))
    return lines


def _entries(children: list[str], keep: set[str], rolled: dict[str, Rolled]) -> list[str]:
    """A node's shown children in order, each run of hidden ones as one ``… N more`` entry."""
    out: list[str] = []
    hidden: list[str] = []
    for child in [*children, ""]:
        if child and child not in keep:
            hidden.append(child)
            continue
        if hidden:
            nodes = sum(rolled[h].size for h in hidden)
            more = f"{len(hidden)} more" + (f" ({nodes} nodes)" if nodes > len(hidden) else "")
            out.append(f"… {more}")
            hidden = []
        if child:
            out.append(child)
    return out


def _chosen(state: SwarmState, order: list[str], kids: Callable[[str], list[str]], max_lines: int) -> set[str]:
    """The nodes to show when the tree is taller than ``max_lines``: by urgency, each with
    its ancestors, as many as fit with the ``… N more`` lines their hidden siblings need."""
    rank = {NodeStatus.RUNNING: 0, NodeStatus.WAITING_USER: 0, NodeStatus.FAILED: 0, NodeStatus.WAITING_CHILDREN: 1}
    wanted = sorted(range(len(order)), key=lambda i: (i > 0, rank.get(state.nodes[order[i]].status, 2), i))

    def closure(count: int) -> set[str]:
        keep: set[str] = set()
        for i in wanted[:count]:
            node: str | None = order[i]
            while node is not None and node not in keep:
                keep.add(node)
                node = state.nodes[node].parent_id
        return keep

    def rows(keep: set[str]) -> int:
        markers = 0
        for node_id in keep:
            run = False
            for child in kids(node_id):
                markers += int(child not in keep and not run)
                run = child not in keep
        return len(keep) + markers

    low, high = 1, len(wanted)  # rows(closure(k)) grows with k: the largest k that fits
    while low < high:
        mid = (low + high + 1) // 2
        if rows(closure(mid)) <= max_lines:
            low = mid
        else:
            high = mid - 1
    return closure(low)


def _counts(state: SwarmState) -> str:
    tally: dict[NodeStatus, int] = {}
    for node in state.nodes.values():
        tally[node.status] = tally.get(node.status, 0) + 1
    u = state.usage
    shown = (
        NodeStatus.RUNNING,
        NodeStatus.WAITING_USER,
        NodeStatus.WAITING_CHILDREN,
        NodeStatus.TERMINATED,
        NodeStatus.FAILED,
    )
    counts = " · ".join(f"{tally.get(status, 0)} {status.word}" for status in shown)
    return f"{len(state.nodes)} nodes · {counts} — {u.calls} calls · {u.tokens} tokens · ${u.cost:.4f}"


class LiveTree:
    """A live, in-place tree on a terminal. Feed it frames with :meth:`on_event`.

    ``state`` is read when drawing: set ``source`` to what holds the live
    state (the run's handle, during a run) or let the tree keep its own by
    applying frames (``watch``). The tree asks nothing itself: with
    ``interactive`` an inline prompt (the CLI's ``InlinePrompt``) asks the
    questions, holding the display through :meth:`hold`; without it, the tree
    says how to answer from elsewhere.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        title: str,
        state: SwarmState | None = None,
        interactive: bool = False,
        console: Console | None = None,
    ) -> None:
        from rich.console import Console

        self.console = console or Console(file=out, force_terminal=None)
        self.title = title
        self.own_state = state
        self.source: StateSource | None = None
        self.interactive = interactive
        self.events: deque[str] = deque(maxlen=EVENT_LINES)
        self.asked: list[Question] = []
        self._live: Live | None = None
        self._last_draw = 0.0

    @property
    def state(self) -> SwarmState | None:
        if self.source is not None:
            return self.source.state
        return self.own_state

    # the CLI view interface

    def on_event(self, event: SwarmEvent) -> None:
        if self.source is None and self.own_state is not None and event.frame == self.own_state.frame_count:
            self.own_state.apply(event)
        op = event.op
        kind = op.kind
        if kind != "run_action":
            self.events.append(event_summary(event))
        if op.kind == "fail" or (op.kind == "terminate" and self._asked(op.node_id)):
            # Milestones stay in the scrollback above the live tree: failures, and
            # what a node made of the user's answers (the redraw would lose them).
            self._print_above(event_summary(event), "red" if kind == "fail" else "yellow")
        self.refresh(force=kind in ("ask_user", "user_answer", "stop"))

    def _asked(self, node_id: str) -> bool:
        state = self.state
        node = state.nodes.get(node_id) if state is not None else None
        return bool(node is not None and node.questions)

    def _print_above(self, text: str, style: str) -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style, overflow="ellipsis", no_wrap=True))

    def on_question(self, node: SwarmNode, question: Question) -> None:
        self.asked.append(question)
        self.refresh(force=True)

    # drawing

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.rule import Rule
        from rich.text import Text

        state = self.state
        width = self.console.size.width
        height = self.console.size.height
        parts: list[Any] = []
        if state is None:
            return Text(self.title)
        status = state.status + (f" ({state.stop_reason})" if state.stop_reason else "")
        took = duration(state.clock.elapsed(time.time() if state.status == SwarmStatus.RUNNING else None))
        parts.append(Text(f"{self.title} [{status}] {took}", style="bold"))
        parts.append(Text(_counts(state), style="dim"))
        room = max(height - EVENT_LINES - 5, 5)
        for text, style in tree_lines(state, width, room):
            parts.append(Text(text, style=style, overflow="ellipsis", no_wrap=True))
        parts.append(Rule(style="dim"))
        for line in self.events:
            parts.append(Text(line, overflow="ellipsis", no_wrap=True, style="dim"))
        waiting = [q for _, q in state.pending_questions()]
        if waiting and not self.interactive:
            parts.append(Text(f"{len(waiting)} question(s) waiting: swarm-star answer … (or the web view)", "yellow"))
        return Group(*parts)

    def hold(self, on: bool) -> None:
        """Stop redrawing (``on``) while something else writes to the terminal, e.g. the
        CLI's inline prompt; ``hold(False)`` draws again below what was written."""
        live = self._live
        if live is None:
            return
        if on and live.is_started:
            live.stop()
        elif not on and not live.is_started:
            self._restart()
            self.refresh(force=True)

    def _restart(self) -> None:
        """Draw again below whatever was written while held. A fresh ``Live``: a stopped
        one, started again, first climbs back over its last drawing's height, which
        erased the lines written meanwhile (the question, the typed answer)."""
        from rich.live import Live

        self._live = Live(self.render(), console=self.console, auto_refresh=False, transient=False)
        self._live.start()

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._live is None or not self._live.is_started or (not force and now - self._last_draw < REFRESH_SECONDS):
            return
        self._last_draw = now
        self._live.update(self.render(), refresh=True)

    def __enter__(self) -> LiveTree:
        from rich.live import Live

        self._live = Live(self.render(), console=self.console, auto_refresh=False, transient=False)
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.stop()
            self._live = None


async def follow(
    swarm: FollowedSwarm,
    out: TextIO,
    *,
    start: int = 0,
    once: bool = False,
    live: bool = False,
    poll: float = 0.3,
    until: Callable[[SwarmState], bool] | None = None,
) -> int:
    """Follow a swarm from its store until it finishes or fails (``watch``).

    On a terminal the live tree, else one line per frame from ``start``. Ends
    at once with ``once``. Exit code: 0 finished, 1 failed, 0 when ``once``.
    """
    state = SwarmState.new(swarm.log.record())
    view = LiveTree(out, title=f"swarm {swarm.id}", state=state) if live else None
    finished = until or (lambda s: s.status in (SwarmStatus.FINISHED, SwarmStatus.FAILED))
    if view is None:
        out.write(f"swarm {swarm.id}: {short(state.record.directive, 80)}\n")
    announced_stop: str | None = None

    def catch_up() -> None:
        for event in swarm.log.frames(state.frame_count):
            if event.frame != state.frame_count:
                break
            if view is not None:
                view.on_event(event)
            else:
                state.apply(event)
                if event.frame >= start:
                    out.write(event_summary(event) + "\n")

    ctx = view if view is not None else _Null()
    with ctx:
        while True:
            await asyncio.to_thread(catch_up)
            if view is None:
                out.flush()
            if once or finished(state):
                break
            if view is None and state.status == SwarmStatus.STOPPED and state.stop_reason != announced_stop:
                announced_stop = state.stop_reason
                out.write(f"(stopped: {state.stop_reason}; still watching for a resume, Ctrl-C to leave)\n")
            await asyncio.sleep(poll)
            if view is not None:
                view.refresh()
    out.write(f"{usage_line(state)} [{state.status}]\n")
    root = state.root
    if root is not None and root.report and state.status == SwarmStatus.FINISHED:
        out.write(f"\nFinal report:\n{root.report}\n")
    return 1 if state.status == SwarmStatus.FAILED else 0


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
