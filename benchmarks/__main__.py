"""Run every benchmark: ``python -m benchmarks [--cosmos] [--skip-scale]``.

The LangGraph comparison needs the bench extra (``pip install -e '.[bench]'``),
the executor comparison the ray extra; without them those sections say so and
the others still run.
"""

from __future__ import annotations

import importlib.util
import sys

from benchmarks import (
    fanout_bench,
    makespan_bench,
    read_bench,
    scale_bench,
    sse_bench,
    sse_clients_bench,
    startup_bench,
    store_bench,
)


def main() -> None:
    cosmos = "--cosmos" in sys.argv
    print("== start-up: CLI commands as fresh processes ==")
    startup_bench.run()
    print("== store: frames per second ==")
    if cosmos:
        from benchmarks.cosmos_server import running_cosmos_server

        with running_cosmos_server() as env:
            store_bench.run(2000, env)
    else:
        store_bench.run(2000)
    print("\n== engine: makespan vs critical path, CPU per node ==")
    makespan_bench.run()
    print("\n== primitives: hostfile scatter vs plain aiohttp, fan-out synthesis ==")
    fanout_bench.run()
    print("\n== orchestration overhead: Swarm Star vs LangGraph ==")
    if importlib.util.find_spec("langgraph") is None:
        print("skipped: LangGraph is not installed (pip install -e '.[bench]')")
    else:
        from benchmarks import engine_bench, langgraph_bench

        langgraph_bench.run()
        print("\n== engine and store vs LangGraph: 226 calls, ~1,000 and ~10,000 nodes ==")
        engine_bench.run(big="--skip-scale" not in sys.argv)
    print("\n== executors: in-process vs Ray ==")
    if importlib.util.find_spec("ray") is None:
        print("skipped: Ray is not installed (pip install -e '.[ray]')")
    else:
        from benchmarks import ray_bench

        ray_bench.run()
    if "--skip-scale" not in sys.argv:
        print("\n== scale: 10,000+ nodes ==")
        scale_bench.run()
        print("\n== scale: the same swarm followed over the server's event stream ==")
        sse_bench.run()
        sse_bench.run(elsewhere=True)
        print("\n== reads at 10,000 nodes and --help: before issue 25 vs now ==")
        read_bench.run()
    print("\n== the event stream with 0, 1, 10 and 50 clients ==")
    sse_clients_bench.run()


if __name__ == "__main__":
    main()
