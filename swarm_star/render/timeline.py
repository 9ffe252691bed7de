"""The timeline as text (``swarm-star timeline``): a Gantt chart in plain characters.

One row per node (its activations on one line, in the order they first ran)
and, under it, one row per model call, step or tool call it made. The bar
column spans the swarm's time from its first frame to its last; a bar is at
least one character wide, so a short call is still seen. Slow calls are
marked ``!`` and listed at the end with the busiest moment.
"""

from __future__ import annotations

import math

from swarm_star.render.text import fit, short
from swarm_star.state.timeline import Bar, Timeline

__all__ = ["timeline_lines"]

NODE, CALL, SLOW = "█", "▬", "!"
LABEL_WIDTH = 34
TAIL_WIDTH = 9


def timeline_lines(line: Timeline, *, width: int | None = None, calls: bool = True) -> list[str]:
    """The chart, then a summary: wall time, calls, the most at once, the slowest calls."""
    width = max(60, width or 100)
    cols = width - LABEL_WIDTH - TAIL_WIDTH - 2
    scale = cols / line.seconds if line.seconds > 0 else 0.0
    nodes = [b for b in line.bars if b.kind == "node"]
    made = line.calls()
    out = [f"{'':<{LABEL_WIDTH}}|0 s{_seconds(line.seconds):>{cols - 3}}|"]
    order = list(dict.fromkeys(b.node_id for b in line.bars))
    for node_id in order:
        own = [b for b in nodes if b.node_id == node_id]
        label = f"{node_id} {own[0].label if own else ''}"
        if own:
            out.append(_row(label, own, cols, scale, sum(b.seconds for b in own)))
        if calls:
            for bar in (b for b in made if b.node_id == node_id):
                what = f"· {bar.label}" + (f" {bar.model}" if bar.model else "")
                out.append(_row(what, [bar], cols, scale, bar.seconds, indent=2))
    slow = [b for b in made if b.slow]
    summary = [
        "",
        f"{_seconds(line.seconds)} from the first frame to the last",
        f"{len(nodes)} activations (at most {line.peak('node')} at once) · {len(made)} calls "
        f"(at most {line.peak('call')} at once) · {len(slow)} slow",
    ]
    if made:
        summary.append("slowest calls:")
        for bar in line.slowest():
            mark = f" {SLOW} slow" if bar.slow else ""
            model = f" {bar.model}" if bar.model else ""
            summary.append(
                f"  {_seconds(bar.seconds):>8}  node {bar.node_id} {bar.label}{model} "
                f"(frame {bar.frame}, {bar.outcome}){mark}"
            )
    return out + [fit(text, width) for text in summary]


def _row(label: str, bars: list[Bar], cols: int, scale: float, seconds: float, indent: int = 0) -> str:
    cells = [" "] * cols
    for bar in bars:
        first = min(cols - 1, int(bar.start * scale))
        last = min(cols - 1, max(first, math.ceil(bar.end * scale) - 1))
        char = NODE if bar.kind == "node" else (SLOW if bar.slow else CALL)
        for i in range(first, last + 1):
            cells[i] = char
    opened = "…" if any(b.open for b in bars) else " "
    label = " " * indent + short(label, LABEL_WIDTH - indent)
    return f"{label:<{LABEL_WIDTH}}|{''.join(cells)}|{_seconds(seconds):>{TAIL_WIDTH - 1}}{opened}"


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"
