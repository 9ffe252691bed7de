"""Aggregators: turn many replies into one result without another model call.

Each takes replies (``AgentReply`` objects or plain strings) and never raises
on a bad reply: failed replies are skipped, and replies that cannot be used
(invalid JSON, no number) are *counted* in the result, so a caller can see how
much of the swarm was usable.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from swarm_star.llm.client import strip_fence
from swarm_star.primitives.pool import AgentReply

__all__ = [
    "FailureReport",
    "JsonMerge",
    "NumericStats",
    "Vote",
    "best_of",
    "concat",
    "failure_report",
    "majority_vote",
    "merge_json",
    "normalize_answer",
    "numeric_stats",
    "top_k",
]

Item = AgentReply | str
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _texts(items: Iterable[Item]) -> list[str]:
    """The usable texts: strings as given, successful replies' text."""
    return [i if isinstance(i, str) else i.text for i in items if isinstance(i, str) or i.ok]


def normalize_answer(text: str) -> str:
    """Short-answer form used for voting: lower case, no surrounding punctuation or space."""
    return " ".join(text.strip().strip(".!?\"'`").lower().split())


@dataclass
class Vote:
    """The winning answer, its share of the usable votes, and every count."""

    answer: str | None
    votes: int
    total: int
    confidence: float
    counts: dict[str, int]


def majority_vote(items: Iterable[Item], normalize: Callable[[str], str] = normalize_answer) -> Vote:
    """Most common answer after ``normalize``; ties go to the answer seen first."""
    texts = _texts(items)
    keys = [normalize(t) for t in texts]
    counts = Counter(k for k in keys if k)
    if not counts:
        return Vote(None, 0, len(texts), 0.0, {})
    best = max(counts, key=lambda k: (counts[k], -keys.index(k)))
    # report the winner as first written, not in normalized form
    original = texts[keys.index(best)].strip()
    return Vote(original, counts[best], len(texts), round(counts[best] / len(texts), 4), dict(counts))


def concat(items: Iterable[Item], separator: str = "\n\n") -> str:
    return separator.join(t.strip() for t in _texts(items))


def top_k(items: Iterable[Item], score: Callable[[str], float], k: int) -> list[tuple[str, float]]:
    """The ``k`` best texts by ``score`` (highest first); a scorer error scores that text -inf."""
    scored: list[tuple[str, float]] = []
    for text in _texts(items):
        try:
            value = float(score(text))
        except Exception:  # a user-supplied scorer must not sink the aggregation
            value = float("-inf")
        scored.append((text, value))
    scored.sort(key=lambda pair: pair[1], reverse=True)
    return scored[: max(k, 0)]


def best_of(items: Iterable[Item], score: Callable[[str], float]) -> str | None:
    best = top_k(items, score, 1)
    return best[0][0] if best else None


@dataclass
class JsonMerge:
    """Merged object, how many replies were merged, which were invalid, and scalar conflicts."""

    merged: dict[str, Any]
    valid: int
    invalid: int
    conflicts: dict[str, list[Any]] = field(default_factory=dict)


def merge_json(items: Iterable[Item]) -> JsonMerge:
    """Merge JSON-object replies: lists are concatenated without duplicates,
    objects merged recursively, and differing scalars settled by majority (the
    alternatives are listed under ``conflicts``). Invalid JSON is counted."""
    objects: list[dict[str, Any]] = []
    invalid = 0
    for text in _texts(items):
        try:
            value = json.loads(strip_fence(text))
        except ValueError:
            invalid += 1
            continue
        if isinstance(value, dict):
            objects.append(value)
        else:
            invalid += 1
    conflicts: dict[str, list[Any]] = {}
    return JsonMerge(_merge(objects, "", conflicts), len(objects), invalid, conflicts)


def _merge(objects: Sequence[dict[str, Any]], prefix: str, conflicts: dict[str, list[Any]]) -> dict[str, Any]:
    keys: list[str] = []
    for obj in objects:
        keys.extend(k for k in obj if k not in keys)
    merged: dict[str, Any] = {}
    for key in keys:
        values = [obj[key] for obj in objects if key in obj]
        path = f"{prefix}{key}"
        if all(isinstance(v, dict) for v in values):
            merged[key] = _merge(values, path + ".", conflicts)
        elif all(isinstance(v, list) for v in values):
            out: list[Any] = []
            for v in values:
                out.extend(x for x in v if x not in out)
            merged[key] = out
        else:
            counts = Counter(json.dumps(v, sort_keys=True) for v in values)
            winner = max(counts, key=lambda s: counts[s])
            merged[key] = json.loads(winner)
            if len(counts) > 1:
                conflicts[path] = [json.loads(s) for s in counts]
    return merged


@dataclass
class NumericStats:
    """Statistics over the first number in each reply; ``invalid`` had none."""

    count: int
    invalid: int
    mean: float | None = None
    median: float | None = None
    stdev: float | None = None
    minimum: float | None = None
    maximum: float | None = None


def numeric_stats(items: Iterable[Item]) -> NumericStats:
    values: list[float] = []
    invalid = 0
    for text in _texts(items):
        match = _NUMBER.search(text)
        if match is None:
            invalid += 1
            continue
        values.append(float(match.group(0)))
    if not values:
        return NumericStats(0, invalid)
    return NumericStats(
        count=len(values),
        invalid=invalid,
        mean=statistics.fmean(values),
        median=statistics.median(values),
        stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        minimum=min(values),
        maximum=max(values),
    )


@dataclass
class FailureReport:
    """How many replies failed, grouped by error, and which agents failed."""

    total: int
    failed: int
    by_error: dict[str, int]
    agents: list[str]

    def summary(self) -> str:
        if not self.failed:
            return f"all {self.total} replies succeeded"
        top = ", ".join(f"{n}× {e}" for e, n in sorted(self.by_error.items(), key=lambda p: -p[1])[:3])
        return f"{self.failed} of {self.total} replies failed ({top})"


def failure_report(replies: Iterable[AgentReply]) -> FailureReport:
    replies = list(replies)
    failed = [r for r in replies if not r.ok]
    by_error = Counter(_error_kind(r.error or "unknown error") for r in failed)
    return FailureReport(len(replies), len(failed), dict(by_error), sorted({r.agent for r in failed}))


def _error_kind(error: str) -> str:
    """Group errors by their stable prefix (``HTTP 500``, ``timed out``), not their detail."""
    return error.split(":", 1)[0]
