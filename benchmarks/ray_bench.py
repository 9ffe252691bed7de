"""In-process vs the Ray executor: the 250-node makespan tree, and a CPU-heavy action mix.

1. The makespan tree of makespan_bench (250 nodes, 354 calls, 500 ms per call):
   makespan ÷ critical-path bound, in-process vs Ray (local instance, 2 CPUs).
   Its actions are I/O-bound (they wait for the model), so Ray can only add cost.
2. A CPU-heavy mix: a manager splits the directive into 8 parts and each part is
   routed to an action of the swarm's own space (``own/burn``) that asks the model
   once and then does ``BURN_S`` seconds of pure-Python work (standing in for
   running a test suite). In-process, the 8 burns share one core (the event loop);
   Ray runs them in its worker processes on both cores.
Each figure is the median of ``repeats`` alternating runs. Needs ``pip install -e '.[ray]'``.
Run: ``python -m benchmarks.ray_bench``.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.makespan_bench import critical_calls
from benchmarks.makespan_bench import script as tree_script
from benchmarks.model_process import model_process
from swarm_star.api import RunOptions, Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from swarm_star.testing.scripted import ScriptedModel

BURN_S = 0.5
PARTS = 8
BURN_ACTION = f'''"""Ask the model once, then burn CPU (a stand-in for running tests)."""
import hashlib
import time

from swarm_star.spaces import LeafSpec

SPEC = LeafSpec(name="burn", description="CPU-heavy work on one part.")


async def run(ctx):
    await ctx.ask_model([{{"role": "user", "content": ctx.node.directive}}], purpose="answer", role="worker")
    end, digest = time.process_time() + {BURN_S}, b""
    while time.process_time() < end:
        digest = hashlib.sha256(digest + b"x" * 256).digest()
    return [ctx.terminate("burned " + digest.hex()[:8])]
'''


def burn_script() -> ScriptedModel:
    return ScriptedModel(plans={"burn": [f"burn part {i}" for i in range(PARTS)]}, routes={"burn part": "own/burn"})


async def _run(url: str, space: Path, directive: str, executor, *, own: bool) -> tuple[float, Swarm]:  # type: ignore[no-untyped-def]
    settings = SwarmSettings(
        limits=Limits(concurrency=512, max_nodes=1000, max_calls=5000, max_depth=12),
        allow_exec=own,
        code={"create_actions": own},
    )
    swarm = Swarm.create(directive, space=space, settings=settings)
    if own:
        folder = swarm.locator.swarm_dir(swarm.id) / "actions"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "README.md").write_text("# own\n\nThis swarm's own actions.\n")
        (folder / "burn.py").write_text(BURN_ACTION)
    llm = LLMClient(Endpoint(url, "none", None), ModelSettings(base_url=url, concurrency=512))
    started = time.perf_counter()
    outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.05, executor=executor))
    wall = time.perf_counter() - started
    await llm.aclose()
    assert outcome.status == "finished", (outcome, [n.error for n in swarm.tree().nodes.values() if n.error])
    return wall, swarm


def run(repeats: int = 3) -> dict[str, float]:
    from swarm_star.engine.ray_executor import RayExecutor

    executor = RayExecutor(num_cpus=2)
    started = time.perf_counter()
    executor.start()
    print(f"local Ray instance up in {time.perf_counter() - started:.1f} s (not counted below)")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        latency = 0.5
        ratios: dict[str, list[float]] = {"local": [], "ray": []}
        with model_process(tree_script(), latency) as url:
            asyncio.run(_run(url, root / "warm", "run the big program", executor, own=False))  # start workers
            for k in range(repeats):
                for name, ex in (("local", None), ("ray", executor)):
                    wall, swarm = asyncio.run(_run(url, root / f"t{name}{k}", "run the big program", ex, own=False))
                    ratios[name].append(wall / (critical_calls(swarm.tree(), "0") * latency))
                    swarm.close()
        for name in ratios:
            results[f"makespan_ratio_{name}"] = statistics.median(ratios[name])
        print(
            f"250-node tree at 500 ms/call, makespan ÷ critical-path bound (median of {repeats}): "
            f"in-process {results['makespan_ratio_local']:.3f}, Ray {results['makespan_ratio_ray']:.3f}"
        )
        walls: dict[str, list[float]] = {"local": [], "ray": []}
        with model_process(burn_script(), 0.1) as url:
            asyncio.run(_run(url, root / "warm2", "burn the parts", executor, own=True))
            for k in range(repeats):
                for name, ex in (("local", None), ("ray", executor)):
                    wall, swarm = asyncio.run(_run(url, root / f"b{name}{k}", "burn the parts", ex, own=True))
                    walls[name].append(wall)
                    swarm.close()
        local, remote = statistics.median(walls["local"]), statistics.median(walls["ray"])
        results.update(cpu_mix_local_s=local, cpu_mix_ray_s=remote)
        print(
            f"CPU-heavy mix ({PARTS} parts × {BURN_S} s of CPU, 100 ms/call; median of {repeats}): "
            f"in-process {local:.2f} s, Ray {remote:.2f} s, Ray ÷ in-process {remote / local:.2f}"
        )
    import ray

    ray.shutdown()
    return results


if __name__ == "__main__":
    run()
