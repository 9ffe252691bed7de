"""The figures a comparison needs: a pass rate's confidence interval, and a paired difference.

Wilson's score interval (95 %) rather than the normal approximation: it stays
inside [0, 1] and is honest at 0/n and n/n, which small evaluations hit.
Strategies run on the *same* tasks, so they are compared pairwise: the tasks
one solved and the other did not (``gained``, ``lost``), the difference of
the pass rates with its interval, and McNemar's exact two-sided p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Z95", "Paired", "paired", "wilson"]

Z95 = 1.959964


def wilson(passed: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The 95 % Wilson score interval of ``passed``/``total`` ((0, 1) when there is nothing)."""
    if total <= 0:
        return 0.0, 1.0
    rate = passed / total
    denominator = 1 + z * z / total
    centre = (rate + z * z / (2 * total)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Paired:
    """A strategy against the baseline on the same tasks."""

    tasks: int
    gained: int  # solved by the strategy, not by the baseline
    lost: int  # solved by the baseline, not by the strategy
    difference: float
    low: float
    high: float
    p_value: float


def paired(strategy: Sequence[bool], baseline: Sequence[bool], z: float = Z95) -> Paired:
    """``strategy`` and ``baseline`` are pass/fail per task, in the same task order."""
    n = len(strategy)
    gained = sum(1 for s, b in zip(strategy, baseline, strict=True) if s and not b)
    lost = sum(1 for s, b in zip(strategy, baseline, strict=True) if b and not s)
    if n == 0:
        return Paired(0, 0, 0, 0.0, -1.0, 1.0, 1.0)
    difference = (gained - lost) / n
    # the variance of a paired difference of proportions: (b + c - (b - c)² / n) / n²
    half = z * math.sqrt(max(0.0, gained + lost - (gained - lost) ** 2 / n)) / n
    return Paired(
        n, gained, lost, difference, max(-1.0, difference - half), min(1.0, difference + half), _mcnemar(gained, lost)
    )


def _mcnemar(gained: int, lost: int) -> float:
    """Exact two-sided McNemar p-value: the discordant tasks as a fair coin's tosses."""
    k, n = min(gained, lost), gained + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)
