"""geepers' five orchestration patterns, and a pattern of one's own, as swarms (real store, the scripted model).

Each is a swarm like any other: frames, the tree, budgets, stop and resume, the seeds' event names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.api.seed_events import seed_callback
from swarm_star.kit import Cascade, Conditional, DreamSwarm, Iterative, Pattern, PatternRun, Sequential, Subtask
from swarm_star.models import Limits, SwarmSettings, ToolSettings
from swarm_star.prompts import patterns as words
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.mcp_servers import server_command, write_config
from tests.helpers.model import client_for, run_swarm
from tests.helpers.web_page import serving_page


def _waves(swarm: Swarm) -> list[list[str]]:
    """The labels of the pattern node's children, wave by wave."""
    node = next(n for n in swarm.state.nodes.values() if n.action_id == "patterns.run")
    waves: dict[int, list[str]] = {}
    for child_id in node.children:
        child = swarm.state.nodes[child_id]
        waves.setdefault(child.context["wave"], []).append(child.context["label"])
    return [waves[w] for w in sorted(waves)]


async def test_dream_cascade_tiers_and_the_geepers_callback(tmp_path: Path, model_server: Any) -> None:
    """Tiers of 4 researchers -> 2 analysts -> 1 synthesizer; the Python callback gets geepers' events."""
    server = model_server(ScriptedModel())
    events: list[dict[str, Any]] = []
    swarm = Swarm.create("compare solar and wind power", space=tmp_path, pattern=Cascade(tiers=(4, 2, 1)))
    llm = client_for(server)
    try:
        handle = swarm.run(RunOptions(llm=llm))
        handle.subscribe(seed_callback(events.append, "geepers"))
        outcome = await handle
    finally:
        await llm.aclose()
    assert outcome.status == "finished", outcome.reason
    assert _waves(swarm) == [[f"researcher {i}" for i in range(1, 5)], ["analyst 1", "analyst 2"], ["synthesizer"]]
    synthesizer = next(n for n in swarm.state.nodes.values() if n.context.get("label") == "synthesizer")
    assert "Write the final answer" in synthesizer.directive and "[2]" in synthesizer.directive  # both analyses
    assert outcome.report.startswith("Answer to: Write the final answer to the task 'compare solar and wind power'")
    assert "## Parts" in outcome.report and "done by core/answer" in outcome.report
    names = [e["type"] for e in events]
    assert names.count("AGENT_START") == 7 and names.count("AGENT_COMPLETE") == 7
    assert names[-1] == "WORKFLOW_COMPLETE" and events[-1]["progress"] == 100.0
    assert names.count("DECOMPOSITION_COMPLETE") == 3  # one per tier


async def test_sequential_steps_see_the_previous_outputs(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel())
    steps = ["list the facts", "draft the summary", "cut it to one paragraph"]
    swarm = Swarm.create("summarize the report", space=tmp_path, pattern=Sequential(steps))
    outcome = await run_swarm(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert _waves(swarm) == [["step 1"], ["step 2"], ["step 3"]]
    third = next(n for n in swarm.state.nodes.values() if n.context.get("label") == "step 3")
    assert "[1] Answer to: list the facts" in third.directive and "[2] Answer to: draft the summary" in third.directive


async def test_conditional_callable_in_the_library_and_model_judged_from_options(
    tmp_path: Path, model_server: Any
) -> None:
    server = model_server(ScriptedModel())
    asked: list[str] = []

    def is_code(task: str) -> bool:
        asked.append(task)
        return "python" in task.lower()

    pattern = Conditional(is_code, if_true="Review the code", if_false="Edit the prose")
    swarm = Swarm.create("check my essay", space=tmp_path / "a", pattern=pattern)
    outcome = await run_swarm(swarm, server, patterns=[pattern])
    assert outcome.status == "finished", outcome.reason
    assert asked == ["check my essay"] and _waves(swarm)[0][0].startswith("branch false")
    assert "Edit the prose" in outcome.report
    # the stored pattern has no callable: a run not given it says so (the node fails, the swarm too)
    again = Swarm.create("check my code", space=tmp_path / "b", pattern=pattern)
    failed = await run_swarm(again, server)
    assert failed.status == "failed" and "predicate is a Python callable" in (failed.reason or "")
    # a sentence instead: the model judges it (the scripted model says it holds)
    judged = Conditional("the task is about code", if_true="Review the code", if_false="Edit the prose")
    third = Swarm.create("check my code", space=tmp_path / "c", pattern=judged)
    assert (await run_swarm(third, server)).status == "finished"
    assert _waves(third)[0][0].startswith("branch true")


async def test_iterative_until_a_convergence_function_bounded_by_max_iterations(
    tmp_path: Path, model_server: Any
) -> None:
    server = model_server(ScriptedModel())
    seen: list[int] = []

    def converged(text: str, iteration: int) -> bool:
        seen.append(iteration)
        return iteration >= 3

    pattern = Iterative(max_iterations=5, converged=converged)
    swarm = Swarm.create("write a haiku", space=tmp_path / "a", pattern=pattern)
    outcome = await run_swarm(swarm, server, patterns=[pattern])
    assert outcome.status == "finished" and seen == [1, 2, 3]
    assert _waves(swarm) == [["draft 1"], ["draft 2"], ["draft 3"]]
    capped = Iterative(max_iterations=2, converged=lambda text, i: False)
    other = Swarm.create("write a haiku", space=tmp_path / "b", pattern=capped)
    outcome = await run_swarm(other, server, patterns=[capped])
    assert outcome.status == "finished" and "[not converged after 2 iterations" in outcome.report
    # without a function: the verifier's verdict (the scripted verifier passes the first draft)
    judged = Swarm.create("write a haiku", space=tmp_path / "c", pattern=Iterative(max_iterations=3))
    assert (await run_swarm(judged, server)).status == "finished" and _waves(judged) == [["draft 1"]]


async def test_dream_swarm_without_a_search_server_says_so(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel())
    swarm = Swarm.create("latest on fusion", space=tmp_path, pattern=DreamSwarm(domains=["news", "papers"]))
    outcome = await run_swarm(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert _waves(swarm) == [["domain: news", "domain: papers"], ["synthesizer"]]
    assert words.NO_SEARCH_NOTE in outcome.report


class Outline(Pattern):
    """A pattern of one's own: Python decomposes and executes; the engine keeps it durable."""

    name = "outline"

    def __init__(self) -> None:
        self.executed: list[str] = []

    async def decompose(self, run: PatternRun) -> list[Subtask | str]:
        return [Subtask(f"section {i}: {run.task}", f"section {i}") for i in (1, 2)]

    async def execute(self, run: PatternRun, subtask: Subtask) -> str:
        self.executed.append(subtask.label)
        return (await run.ask([{"role": "user", "content": f"Task: {subtask.directive}"}])).upper()

    async def synthesize(self, run: PatternRun, results: list[Any]) -> str:
        return " | ".join(r.text for r in results)


async def test_own_pattern_hooks_run_durably_and_resume(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(), latency=0.05)
    pattern = Outline()
    swarm = Swarm.create("a guide to tea", space=tmp_path, pattern=pattern)
    stopped = await run_swarm(swarm, server, patterns=[pattern], limits=Limits(max_calls=1))
    assert stopped.status == "limit"
    calls = server.requests
    outcome = await run_swarm(swarm, server, patterns=[pattern], limits=Limits(max_calls=50))
    assert outcome.status == "finished", outcome.reason
    assert "ANSWER TO: SECTION 1: A GUIDE TO TEA | ANSWER TO: SECTION 2" in outcome.report
    assert server.requests == calls + 1  # the section paid for before the stop was not asked again
    assert sorted(n.action_id for n in swarm.state.nodes.values() if "wave" in n.context) == ["patterns.step"] * 2
    missing = Swarm.create("a guide to coffee", space=tmp_path, pattern=pattern)
    failed = await run_swarm(missing, server)
    assert failed.status == "failed" and "'outline' is not built in" in (failed.reason or "")


@pytest.mark.slow  # the real server's start-up and fetches: ~20 s on a loaded machine
async def test_dream_swarm_searches_through_a_real_mcp_search_server(tmp_path: Path, model_server: Any) -> None:
    """The tools issue's setup: the real mcp-server-fetch configured as the search server (its first tool is the
    search tool), reading a loopback page; each domain's searcher calls it, the synthesis reads what it found."""
    search = {"command": server_command("fetch"), "args": ["--ignore-robots-txt", "--allow-private-ips"]}
    config = write_config(tmp_path / "mcp.json", {"search": search})
    html = "<html><body><p>Fusion record: 22 seconds of plasma.</p></body></html>"
    async with serving_page(html, "/fusion") as url:
        server = model_server(ScriptedModel(tool_calls={"Search the web about": [{"url": url}]}))
        settings = SwarmSettings(tools=ToolSettings(mcp=str(config)))
        swarm = Swarm.create(
            "latest on fusion", space=tmp_path, settings=settings, pattern=DreamSwarm(domains=["news", "papers"])
        )
        outcome = await run_swarm(swarm, server)
    assert outcome.status == "finished", outcome.reason
    calls = [e.op for e in swarm.history() if e.op.kind == "tool_call"]
    assert len(calls) == 2 and all(c.tool == "tools/web/search" and "22 seconds" in c.result for c in calls)
    synthesizer = next(n for n in swarm.state.nodes.values() if n.context.get("label") == "synthesizer")
    assert "(domain: news)" in synthesizer.directive and "22 seconds" in synthesizer.directive
    assert words.NO_SEARCH_NOTE not in outcome.report
