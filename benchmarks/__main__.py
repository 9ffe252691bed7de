"""Run every benchmark: ``python -m benchmarks [--cosmos]``."""

from __future__ import annotations

import sys

from benchmarks import fanout_bench, makespan_bench, store_bench


def main() -> None:
    cosmos = "--cosmos" in sys.argv
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


if __name__ == "__main__":
    main()
