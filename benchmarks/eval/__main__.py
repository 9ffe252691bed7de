"""``python -m benchmarks.eval``: measure how often full swarms get checkable tasks right.

Examples::

    # your endpoint (OPENAI_API_KEY / OPENROUTER_API_KEY / OPENAI_BASE_URL, or --base-url)
    python -m benchmarks.eval --suite reasoning --count 10
    python -m benchmarks.eval --suite humaneval --count 5 --allow-exec --base-url http://127.0.0.1:8080/v1
    # no model at all: a scripted model answering from the answer key (checks the checkers)
    python -m benchmarks.eval --scripted mixed

Prints, per suite: pass rate, model calls, tokens, cost, wall time and failures
by cause. Exit 0 when the run completed (whatever the pass rate), 2 on a
usage error, 1 if a suite could not run. Needs the eval extra:
``pip install -e '.[eval]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.eval.runner import SuiteResult, TaskResult, format_results, run_suite
from benchmarks.eval.tasks import DEFAULT_DATASETS, Task, humaneval_tasks, reasoning_tasks
from swarm_star.errors import SwarmStarError
from swarm_star.llm import LLMClient, resolve_endpoint
from swarm_star.models import Limits, ModelSettings

SUITES = ("reasoning", "humaneval")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.eval", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    p.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    p.add_argument("--count", type=int, default=5, help="tasks per suite (default 5)")
    p.add_argument("--seed", type=int, default=1234, help="task selection / generation seed")
    p.add_argument("--datasets", default=",".join(DEFAULT_DATASETS), help="reasoning-gym datasets, comma-separated")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint")
    p.add_argument("--model", help="model for every role")
    p.add_argument("--scripted", choices=["good", "bad", "mixed"], help="use the local answer-key model")
    p.add_argument("--allow-exec", action="store_true", help="run generated code (HumanEval) in the workspace")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per code check")
    p.add_argument("--max-calls", type=int, default=40, help="model calls per task (default 40)")
    p.add_argument("--parallel", type=int, default=4, help="tasks at a time (default 4)")
    p.add_argument("--space", help="swarm space for the task swarms (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    args = p.parse_args(argv)
    if args.count < 1 or args.parallel < 1 or args.max_calls < 1:
        p.error("--count, --parallel and --max-calls must be at least 1")
    return args


def load_tasks(suite: str, args: argparse.Namespace) -> list[Task]:
    if suite == "humaneval":
        return humaneval_tasks(args.count, args.seed)
    names = tuple(n.strip() for n in args.datasets.split(",") if n.strip())
    return reasoning_tasks(args.count, args.seed, names)


def answer_key(tasks: list[Task], mode: str) -> dict[str, str]:
    """Good answers, bad ones, or alternating (the first good), for the scripted model."""
    key = {}
    for index, task in enumerate(tasks):
        good = mode == "good" or (mode == "mixed" and index % 2 == 0)
        key[task.id] = task.good if good else bad_answer(task)
    return key


def bad_answer(task: Task) -> str:
    if task.suite == "humaneval":
        entry = task.data["entry_point"]
        return f"```python\ndef {entry}(*args, **kwargs):\n    return None\n```"
    return "ANSWER: -987654321"


async def evaluate(args: argparse.Namespace, space: Path) -> list[SuiteResult]:
    suites = SUITES if args.suite == "all" else (args.suite,)
    loaded = {suite: load_tasks(suite, args) for suite in suites}
    server = None
    if args.scripted:
        from swarm_star.testing import LocalOpenAIServer
        from tests.helpers.answer_key import AnswerKeyModel

        key: dict[str, str] = {}
        for tasks in loaded.values():
            key.update(answer_key(tasks, args.scripted))
        server = LocalOpenAIServer(AnswerKeyModel(answers=key))
        server.start()
        settings = ModelSettings(base_url=server.base_url, default_model="scripted")
    else:
        settings = ModelSettings(base_url=args.base_url, **({"default_model": args.model} if args.model else {}))
    llm = LLMClient(resolve_endpoint(settings), settings)
    results = []
    try:
        for suite, tasks in loaded.items():
            progress = None if args.json else _progress(suite)
            results.append(
                await run_suite(
                    suite,
                    tasks,
                    llm,
                    space,
                    allow_exec=args.allow_exec,
                    limits=Limits(max_calls=args.max_calls),
                    parallel=args.parallel,
                    timeout=args.timeout,
                    on_task=progress,
                )
            )
    finally:
        await llm.aclose()
        if server is not None:
            server.stop()
    return results


def _progress(suite: str) -> Any:
    def show(done: TaskResult) -> None:
        mark = "pass" if done.score >= 1 else f"fail ({done.cause})"
        print(f"  {suite} {done.task_id}: {mark} · {done.calls} calls · {done.seconds:.1f} s", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.space:
            results = asyncio.run(evaluate(args, Path(args.space)))
        else:
            with tempfile.TemporaryDirectory(prefix="swarm-eval-") as tmp:
                results = asyncio.run(evaluate(args, Path(tmp)))
    except ImportError as exc:
        print(f"error: {exc.name} is not installed (pip install -e '.[eval]')", file=sys.stderr)
        return 1
    except SwarmStarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        doc = {
            "results": [r.totals() for r in results],
            "tasks": {r.suite: [vars(t) for t in r.tasks] for r in results},
        }
        print(json.dumps(doc, indent=2))
    else:
        print(format_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
