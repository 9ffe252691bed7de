"""The summary of an evaluation: per suite and strategy, as JSON, a Markdown table and a plot.

Per strategy: tasks, passed, pass rate with its 95 % interval, calls,
prompt/completion tokens, cost (USD, from the price table; ``unpriced_calls``
says how many calls had no price), the summed wall time of its trials and
the failures by cause; for every strategy but the baseline, the paired
difference against ``single`` on the same tasks (``stats.paired``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from swarm_star.evaluation.runner import Trial
from swarm_star.evaluation.stats import paired, wilson

__all__ = ["BASELINE", "markdown", "plot", "summarize", "write_reports"]

BASELINE = "single"


def _totals(trials: Sequence[Trial]) -> dict[str, Any]:
    passed = sum(t.passed for t in trials)
    low, high = wilson(passed, len(trials))
    n = max(1, len(trials))
    return {
        "tasks": len(trials),
        "passed": passed,
        "pass_rate": round(passed / n, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "calls": sum(t.calls for t in trials),
        "prompt_tokens": sum(t.prompt_tokens for t in trials),
        "completion_tokens": sum(t.completion_tokens for t in trials),
        "cost": round(sum(t.cost for t in trials), 6),
        "unpriced_calls": sum(t.unpriced_calls for t in trials),
        "wall_s": round(sum(t.seconds for t in trials), 2),
        "calls_per_task": round(sum(t.calls for t in trials) / n, 2),
        "tokens_per_task": round(sum(t.prompt_tokens + t.completion_tokens for t in trials) / n, 1),
        "failures": dict(Counter(t.cause for t in trials if t.cause).most_common()),
    }


def summarize(trials: Sequence[Trial], strategies: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """suite -> strategy -> totals (and ``vs_single``, on the tasks both have)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for suite in dict.fromkeys(t.suite for t in trials):
        mine = [t for t in trials if t.suite == suite]
        by = {s: {t.task: t for t in mine if t.strategy == s} for s in strategies}
        out[suite] = {}
        for strategy in strategies:
            if not by[strategy]:
                continue
            row = _totals(list(by[strategy].values()))
            if strategy != BASELINE and by.get(BASELINE):
                both = [task for task in by[strategy] if task in by[BASELINE]]
                diff = paired([by[strategy][k].passed for k in both], [by[BASELINE][k].passed for k in both])
                row["vs_single"] = {
                    "tasks": diff.tasks,
                    "gained": diff.gained,
                    "lost": diff.lost,
                    "difference": round(diff.difference, 4),
                    "ci95": [round(diff.low, 4), round(diff.high, 4)],
                    "p_value": round(diff.p_value, 4),
                }
            out[suite][strategy] = row
    return out


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def markdown(summary: dict[str, dict[str, dict[str, Any]]], title: str = "") -> str:
    lines = [f"# {title}", ""] if title else []
    for suite, rows in summary.items():
        lines += [
            f"## {suite}",
            "",
            "| strategy | pass | rate (95 % CI) | vs single: +gained −lost, Δ (95 % CI) | calls | prompt tok "
            "| completion tok | cost $ | wall s | failures |",
            "|---|---:|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for strategy, r in rows.items():
            vs = r.get("vs_single")
            versus = "–"
            if vs:
                lo, hi = vs["ci95"]
                points = f"{vs['difference'] * 100:+.0f} pts ({lo * 100:+.0f}, {hi * 100:+.0f})"
                versus = f"+{vs['gained']} −{vs['lost']}, {points}"
            failures = ", ".join(f"{k} ×{v}" for k, v in r["failures"].items()) or "–"
            cost = f"{r['cost']:.4f}" + (" (unpriced)" if r["unpriced_calls"] else "")
            lo, hi = r["ci95"]
            lines.append(
                f"| {strategy} | {r['passed']}/{r['tasks']} | {_pct(r['pass_rate'])} ({_pct(lo)}–{_pct(hi)}) "
                f"| {versus} | {r['calls']:,} | {r['prompt_tokens']:,} | {r['completion_tokens']:,} | {cost} "
                f"| {r['wall_s']:.1f} | {failures} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(summary: dict[str, dict[str, dict[str, Any]]], path: Path) -> Path | None:
    """Pass rate (with its interval) against cost per task, one point per strategy and suite.

    Cost is in USD when every call was priced, else in tokens per task (a local
    model has no price). None when matplotlib (the ``eval`` extra) is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [r for rows in summary.values() for r in rows.values()]
    priced = bool(rows) and all(r["unpriced_calls"] == 0 and r["cost"] > 0 for r in rows)
    figure, axes = plt.subplots(figsize=(7, 4.5))
    markers = "osD^v<>"
    for index, (suite, strategies) in enumerate(summary.items()):
        for strategy, r in strategies.items():
            x = r["cost"] / max(1, r["tasks"]) if priced else r["tokens_per_task"]
            lo, hi = r["ci95"]
            axes.errorbar(
                x,
                r["pass_rate"],
                yerr=[[r["pass_rate"] - lo], [hi - r["pass_rate"]]],
                fmt=markers[index % 7],
                capsize=3,
                label=f"{suite}: {strategy}",
            )
    axes.set_xlabel("cost per task (USD)" if priced else "tokens per task (prompt + completion)")
    axes.set_ylabel("pass rate (95 % CI)")
    axes.set_ylim(-0.05, 1.05)
    axes.set_xscale("log")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="best")
    axes.set_title("Pass rate against cost, per strategy")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def write_reports(
    space: Path, summary: dict[str, Any], trials: Sequence[Trial], config: dict[str, Any]
) -> dict[str, Any]:
    """``report.json``, ``report.md`` and ``report.svg`` in ``space``; returns the JSON document."""
    doc = {"space": str(space), "config": config, "suites": summary, "trials": [vars(t) for t in trials]}
    (space / "report.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (space / "report.md").write_text(markdown(summary, "Evaluation") + "\n", encoding="utf-8")
    drawn = plot(summary, space / "report.svg")
    doc["files"] = {
        "json": str(space / "report.json"),
        "markdown": str(space / "report.md"),
        "plot": str(drawn) if drawn else None,
    }
    return doc
