"""A few directives against a real model: SmolLM2-135M-Instruct on ``llama_cpp.server``.

``python -m benchmarks.smollm2_bench`` (needs ``.venv-model``, built by ``.ci/run``).
Each directive runs as a user would (``swarm-star run``, in-process) through a
counting proxy, with small caps: ``--max-call-tokens 160 --max-calls 20
--max-time 150``. Per directive it prints the outcome, wall time, model calls
(swarm vs requests the server answered), tokens (swarm vs the server's own
usage), and structured-output success per purpose (calls that parsed / calls).
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
from tests.helpers.llama_server import MODEL_ALIAS, model_python, running_llama_server

DIRECTIVES = (
    "Write a haiku about the sea",
    "List three uses of a paperclip",
    "Write a Python function that reverses a string",
)
FLAGS = ("--max-call-tokens", "160", "--max-calls", "20", "--max-time", "150", "--no-input", "--json")


def run_one(upstream: str, directive: str, space: Path) -> dict[str, object]:
    proxy = CountingProxy(upstream)
    proxy.start()
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    try:
        code = cli_main(
            ["--space", str(space), "run", directive, "--base-url", proxy.base_url, "--model", MODEL_ALIAS, *FLAGS],
            out,
            err,
        )
    finally:
        proxy.stop()
    wall = time.monotonic() - started
    result = json.loads(out.getvalue())
    ok: Counter[str] = Counter()
    total: Counter[str] = Counter()
    with Swarm.open(result["swarm_id"], space=space) as swarm:
        for event in swarm.history():
            op = event.op
            if op.kind == "llm_call" and op.mode not in (None, "text"):
                total[op.purpose] += 1
                ok[op.purpose] += op.error is None
    usage = result["usage"]
    return {
        "directive": directive,
        "exit": code,
        "status": result["status"],
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
    with tempfile.TemporaryDirectory() as tmp, running_llama_server(python, Path(tmp) / "server.log") as url:
        for directive in DIRECTIVES:
            row = run_one(url, directive, Path(tmp) / "space")
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
