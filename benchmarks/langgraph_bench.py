"""Orchestration overhead, Swarm Star vs LangGraph, on the same work and the same server.

The work (226 model calls): a manager plans 8 parts; each part is routed
(2 calls) to a nested manager that plans 8 pieces; each piece is routed
(2 calls) and answered (1 call); each nested manager reviews its pieces, and
the top manager reviews the parts.

- Swarm Star: the real engine, its SQLite store (synchronous=FULL: every
  frame durable), the actions in ``actions/``.
- LangGraph: a graph (plan, fan-out with ``Send`` to a part subgraph that
  routes, plans, fans out to pieces and reviews, then a top review) with its
  SQLite checkpointer (``AsyncSqliteSaver``) and ``durability="sync"``.

Both make their model calls with the same ``LLMClient`` (the openai SDK)
against the same scripted server in a separate process, so what differs is
orchestration and persistence. Figures: wall time at zero latency, process
CPU per model call, and bytes of SQLite files per model call, each as
Swarm Star / LangGraph (target: at most 0.5 for time and storage).
Run: ``python -m benchmarks.langgraph_bench`` (needs ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import asyncio
import operator
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel

from benchmarks.model_process import model_process
from swarm_star import prompts
from swarm_star.api import RunOptions, Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from swarm_star.testing.scripted import ScriptedModel

PARTS = PIECES = 8


def script() -> ScriptedModel:
    return ScriptedModel(
        plans={"big job": [f"part {i}" for i in range(PARTS)], "part ": [f"piece {j}" for j in range(PIECES)]},
        routes={"part ": "planning/delegate"},
    )


class RecordingClient(LLMClient):
    """The same client, remembering each request so the client-only cost can be measured."""

    def __init__(self, url: str) -> None:
        super().__init__(Endpoint(url, "none", None), ModelSettings(base_url=url, concurrency=512))
        self.sent: list[tuple[list[dict[str, str]], Any]] = []

    async def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        self.sent.append((messages, kwargs.get("schema")))
        return await super().chat(messages, **kwargs)


def _client(url: str) -> RecordingClient:
    return RecordingClient(url)


async def client_floor(url: str, sent: list[tuple[list[dict[str, str]], Any]]) -> float:
    """CPU seconds for the same requests sent by the client alone, one at a time (no orchestration)."""
    llm = LLMClient(Endpoint(url, "none", None), ModelSettings(base_url=url, concurrency=512))
    gate = asyncio.Semaphore(1)

    async def one(messages: list[dict[str, str]], schema: Any) -> None:
        async with gate:
            await llm.chat(messages, schema=schema)

    await one(*sent[0])
    cpu = time.process_time()
    await asyncio.gather(*(one(m, s) for m, s in sent))
    cpu = time.process_time() - cpu
    await llm.aclose()
    return cpu


def _db_bytes(folder: Path) -> int:
    """Database and WAL files (not SQLite's -shm index, which is shared memory, not storage)."""
    return sum(
        p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".db", ".sqlite", ".db-wal", ".sqlite-wal")
    )


async def swarm_star_run(url: str, folder: Path) -> tuple[float, float, int, int, float]:
    settings = SwarmSettings(limits=Limits(concurrency=64, max_depth=12))
    swarm = Swarm.create("run the big job", space=folder, settings=settings)
    llm = _client(url)
    cpu, wall = time.process_time(), time.perf_counter()
    outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.05))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await llm.aclose()
    assert outcome.status == "finished", outcome
    calls = swarm.tree().usage.calls
    swarm.close()
    return wall, cpu, calls, _db_bytes(folder), await client_floor(url, llm.sent)


class RouteChoice(BaseModel):
    """Same name as the engine's router schema, so the scripted server answers it alike."""

    choice: Literal["core", "planning", "answer", "delegate", "none"]
    reason: str


class TopState(TypedDict, total=False):
    directive: str
    parts: list[str]
    reports: Annotated[list[str], operator.add]
    final: str


class PartState(TypedDict, total=False):
    directive: str
    pieces: list[str]
    answers: Annotated[list[str], operator.add]
    reports: Annotated[list[str], operator.add]


class PartOutput(TypedDict):
    reports: Annotated[list[str], operator.add]


def build_graph(llm: LLMClient, plan_model: type[BaseModel], review_model: type[BaseModel], levels: int = 2) -> Any:
    """The top manager's graph over ``levels`` levels of parts: each part is routed (2 calls);
    a part above the last level plans its own parts, fans out to them (``Send`` into the next
    level's subgraph) and reviews them; a part of the last level answers."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    async def ask(text: str, schema: type[BaseModel] | None = None) -> str:
        return (await llm.chat([{"role": "user", "content": text}], schema=schema)).text

    async def plan(state: dict[str, Any], key: str) -> dict[str, Any]:
        text = f"Directive: {state['directive']}\n\nUser answers:\n(none)"
        return {key: plan_model.model_validate_json(await ask(text, plan_model)).subdirectives}  # type: ignore[attr-defined]

    async def review(state: dict[str, Any], key: str, field: str) -> dict[str, Any]:
        body = "\n".join(f"report: {r}" for r in state[field])
        reply = review_model.model_validate_json(
            await ask(f"Directive: {state['directive']}\n\nReports:\n{body}", review_model)
        )
        return {key: [reply.report] if key == "reports" else reply.report}  # type: ignore[attr-defined]

    async def route(state: dict[str, Any]) -> None:
        for _ in range(2):
            await ask(f"Directive: {state['directive']}\nPick one.", RouteChoice)

    async def piece(state: dict[str, Any]) -> dict[str, Any]:
        await route(state)
        return {"answers": [await ask(f"Task: {state['directive']}")]}

    async def route_part(state: PartState) -> dict[str, Any]:
        await route(state)  # type: ignore[arg-type]
        return await plan(state, "pieces")  # type: ignore[arg-type]

    async def part_review(state: PartState) -> dict[str, Any]:
        return await review(state, "reports", "answers")  # type: ignore[arg-type]

    def manager_piece(graph: Any) -> Any:  # a part of a middle level: the next level's graph, as a subgraph
        async def run_part(state: dict[str, Any]) -> dict[str, Any]:
            return {"answers": (await graph.ainvoke({"directive": state["directive"]}))["reports"]}

        return run_part

    async def top_plan(state: TopState) -> dict[str, Any]:
        return await plan(state, "parts")  # type: ignore[arg-type]

    async def top_review(state: TopState) -> dict[str, Any]:
        return await review(state, "final", "reports")  # type: ignore[arg-type]

    below: Any = None
    for level in range(levels - 1):  # built bottom-up: the last level's parts answer
        part = StateGraph(PartState, output_schema=PartOutput)  # only reports flow back to the parent
        part.add_node("route_and_plan", route_part)
        part.add_node("piece", piece if level == 0 else manager_piece(below))
        part.add_node("review", part_review)
        part.add_edge(START, "route_and_plan")
        part.add_conditional_edges("route_and_plan", lambda s: [Send("piece", {"directive": p}) for p in s["pieces"]])
        part.add_edge("piece", "review")
        part.add_edge("review", END)
        below = part.compile()

    top = StateGraph(TopState)
    top.add_node("plan", top_plan)
    top.add_node("part", below)
    top.add_node("review", top_review)
    top.add_edge(START, "plan")
    top.add_conditional_edges("plan", lambda s: [Send("part", {"directive": p}) for p in s["parts"]])
    top.add_edge("part", "review")
    top.add_edge("review", END)
    return top


async def langgraph_run(url: str, folder: Path, server_calls: Any) -> tuple[float, float, int, int, float]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    plan_model = prompts.planning.Plan
    review_model = prompts.review.Review
    folder.mkdir(parents=True, exist_ok=True)
    llm = _client(url)
    before = server_calls()
    async with AsyncSqliteSaver.from_conn_string(str(folder / "checkpoints.sqlite")) as saver:
        graph = build_graph(llm, plan_model, review_model).compile(checkpointer=saver)
        cpu, wall = time.process_time(), time.perf_counter()
        result = await graph.ainvoke(
            {"directive": "run the big job"}, {"configurable": {"thread_id": "1"}}, durability="sync"
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await llm.aclose()
    assert result["final"].startswith("Done:"), result
    return wall, cpu, server_calls() - before, _db_bytes(folder), await client_floor(url, llm.sent)


def run(rounds: int = 3) -> dict[str, float]:
    import multiprocessing as mp

    counter = mp.get_context("fork").Value("i", 0)
    ours: list[tuple[float, float, int, int, float]] = []
    theirs: list[tuple[float, float, int, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp, model_process(_Counting(script(), counter), 0.0) as url:
        asyncio.run(swarm_star_run(url, Path(tmp) / "warm"))
        for i in range(rounds):
            ours.append(asyncio.run(swarm_star_run(url, Path(tmp) / f"s{i}")))
            theirs.append(asyncio.run(langgraph_run(url, Path(tmp) / f"l{i}", lambda: counter.value)))
    results: dict[str, float] = {}
    rows = []
    for label, index in (("wall time, zero latency", 0), ("CPU per model call", 1), ("storage bytes per call", 3)):
        if index == 0:
            a, b = statistics.median(r[0] for r in ours), statistics.median(r[0] for r in theirs)
        else:
            a = statistics.median(r[index] / r[2] for r in ours)
            b = statistics.median(r[index] / r[2] for r in theirs)
        results[label] = a / b
        rows.append((label, a, b))
    a = statistics.median((r[1] - r[4]) / r[2] for r in ours)
    b = statistics.median((r[1] - r[4]) / r[2] for r in theirs)
    results["orchestration CPU per call"] = a / b
    rows.append(("orchestration CPU per call (minus the client alone on the same requests)", a, b))
    print(f"work: Swarm Star {ours[0][2]} calls, LangGraph {theirs[0][2]} calls; median of {rounds} alternating runs")
    for label, a, b in rows:
        unit = "s" if label.startswith("wall") else ("B" if label.startswith("storage") else "ms")
        scale = 1000 if unit == "ms" else 1
        print(f"  {label}: Swarm Star {a * scale:,.2f} {unit}, LangGraph {b * scale:,.2f} {unit}, ratio {a / b:.3f}")
    print("  (target: ratio <= 0.5 for time and storage per call)")
    return results


class _Counting:
    """Counts the server's replies (shared with the parent) so LangGraph's calls are known."""

    def __init__(self, inner: ScriptedModel, counter: Any) -> None:
        self.inner, self.counter = inner, counter

    def __call__(self, request: dict[str, Any]) -> Any:
        with self.counter.get_lock():
            self.counter.value += 1
        return self.inner(request)


if __name__ == "__main__":
    run()
