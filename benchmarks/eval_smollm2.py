"""``swarm-star eval`` against SmolLM2-135M-Instruct on both real servers (the figures in benchmarks/README.md).

``python -m benchmarks.eval_smollm2 --kind llama-server --suite reasoning --count 20 --out DIR``
(needs ``.venv-model``, built by ``.ci/run``). Starts the server, then runs the
four strategies exactly as a user would against their own endpoint::

    swarm-star eval --base-url URL/v1 --model smollm2 --suite SUITE --count N --allow-exec \\
        --parallel 1 --max-calls 16 --max-time 600 --max-call-tokens 400 --timeout 300 \\
        --space DIR/KIND-SUITE

and leaves the report (JSON, Markdown, plot) and every task's swarm in that
space. Run it again with the same arguments to continue an interrupted run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from swarm_star.cli import main as cli_main
from tests.helpers.llama_server import KINDS, MODEL_ALIAS, model_python, running_model_server
from tests.helpers.paths import ROOT

CAPS = ("--parallel", "1", "--max-calls", "16", "--max-time", "600", "--max-call-tokens", "400", "--timeout", "300")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.eval_smollm2", description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--suite", choices=("reasoning", "humaneval"), required=True)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    python = model_python(ROOT) or model_python(Path("/work/main"))
    if python is None:
        print("no .venv-model (build it as .ci/run does, or set SWARM_STAR_MODEL_PYTHON)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with running_model_server(args.kind, python, args.out / f"{args.kind}-{args.suite}.log") as server:
        return cli_main(
            [
                "eval",
                "--base-url", f"{server.url}/v1",
                "--model", MODEL_ALIAS,
                "--suite", args.suite,
                "--count", str(args.count),
                "--allow-exec",
                *CAPS,
                "--space", str(args.out / f"{args.kind}-{args.suite}"),
            ]
        )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
