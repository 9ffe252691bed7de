"""The agent tree end to end: real engine, real SQLite store, real openai client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.models import Limits, NodeStatus, SwarmSettings
from swarm_star.state.projection import SwarmStatus
from swarm_star.testing import Fault
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import TEST_KEY, client_for


async def run(swarm: Swarm, server, **kw):  # type: ignore[no-untyped-def]
    llm = client_for(server, **kw.pop("model", {}))
    try:
        return await swarm.run(RunOptions(llm=llm, **kw))
    finally:
        await llm.aclose()


def by_action(swarm: Swarm) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for node in swarm.tree().nodes.values():
        out.setdefault(node.action_id, []).append(node.id)
    return out


async def test_recursion_three_levels_with_root_report(tmp_path: Path, model_server) -> None:
    script = ScriptedModel(
        plans={
            "build a city": ["design districts", "plan transport"],
            "design districts": ["north", "south"],
        },
        routes={"design districts": "planning/delegate"},
    )
    server = model_server(script)
    swarm = Swarm.create("build a city", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert outcome.report.startswith("Done: build a city")
    tree = swarm.tree()
    managers = [n for n in tree.nodes.values() if n.action_id == "planning.decompose_directive"]
    assert len(managers) == 2
    deepest = max(n.depth for n in tree.nodes.values())
    assert deepest >= 6  # root > manager > router > delegate > manager > router > answer
    assert all(n.status == NodeStatus.TERMINATED for n in tree.nodes.values())
    assert tree.status == SwarmStatus.FINISHED
    # The stored projection equals a replay of the frames.
    assert swarm.log.nodes() == swarm.tree().nodes
    assert [e.frame for e in swarm.history()] == list(range(tree.frame_count))


async def test_siblings_run_in_parallel(tmp_path: Path, model_server) -> None:
    """The eight parts of one plan are in flight at once: counted by the server (a wall-clock
    bound flaked on a loaded machine; the peak of requests held at once does not)."""
    subs = [f"task {i}" for i in range(8)]
    server = model_server(ScriptedModel(plans={"many": subs}), latency=0.5)
    swarm = Swarm.create("many things", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert server.peak_in_flight >= 8, server.peak_in_flight


async def test_question_parks_only_its_node(tmp_path: Path, model_server) -> None:
    script = ScriptedModel(
        plans={"trip": ["book hotel", "ask the user about dates"]},
        routes={"ask the user": "interaction/ask_user_questions"},
    )
    server = model_server(script)
    swarm = Swarm.create("plan a trip", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "questions"
    [node_id] = [n for n, _ in outcome.questions]
    tree = swarm.tree()
    assert tree.nodes[node_id].status == NodeStatus.WAITING_USER
    hotel = next(n for n in tree.nodes.values() if n.directive == "book hotel" and n.action_id == "core.answer")
    assert hotel.status == NodeStatus.TERMINATED  # the sibling branch finished meanwhile
    assert tree.status == SwarmStatus.STOPPED
    [(_, q)] = swarm.questions()
    swarm.answer(q.id, "next May")
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    node = swarm.tree().nodes[node_id]
    assert node.status == NodeStatus.TERMINATED and "next May" in node.report


async def test_interactive_answer_while_running(tmp_path: Path, model_server) -> None:
    script = ScriptedModel(plans={"party": "How many guests?"})
    server = model_server(script)
    swarm = Swarm.create("organise a party", space=tmp_path)
    seen = []
    llm = client_for(server)
    try:
        handle = swarm.run(RunOptions(llm=llm, interactive=True))

        def on_question(node, question):  # type: ignore[no-untyped-def]
            seen.append(question.id)
            handle.answer(question.id, "twelve")

        handle.on_question(on_question)
        outcome = await handle
    finally:
        await llm.aclose()
    assert outcome.status == "finished"
    assert len(seen) == 1
    asker = next(n for n in swarm.tree().nodes.values() if n.questions)
    assert asker.questions[0].answer == "twelve"


async def test_review_replans_once_then_finishes(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(replan={"essay"}))
    swarm = Swarm.create("write an essay", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    managers = by_action(swarm)["planning.decompose_directive"]
    assert len(managers) == 2
    second = swarm.tree().nodes[managers[1]]
    assert second.directive.startswith("follow-up") and second.context["round"] == 2


async def test_rounds_are_bounded(tmp_path: Path, model_server) -> None:
    class Never(ScriptedModel):
        def _review(self, request, directive, schema):  # type: ignore[no-untyped-def]
            return {
                "directive_met": False,
                "report": "meh",
                "next_directive": f"again {directive[:40]}",
            }

    server = model_server(Never())
    settings = SwarmSettings(limits=Limits(max_rounds=2))
    swarm = Swarm.create("never satisfied", space=tmp_path, settings=settings)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert "Not fully met after 2 rounds" in outcome.report


async def test_limit_stops_and_resume_with_raised_limit_finishes(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"big": [f"part {i}" for i in range(6)]}))
    swarm = Swarm.create("big job", space=tmp_path, settings=SwarmSettings(limits=Limits(max_calls=5)))
    outcome = await run(swarm, server)
    assert outcome.status == "limit" and "max_calls" in outcome.reason
    state = swarm.tree()
    assert state.status == SwarmStatus.STOPPED and "max_calls" in state.stop_reason
    calls_before = server.requests
    outcome = await run(swarm, server, limits=Limits(max_calls=100))
    assert outcome.status == "finished"
    tree = swarm.tree()
    # Nothing was paid twice: every call key is unique per node.
    keys = [(e.op.node_id, e.op.call_key) for e in swarm.history() if e.op.kind == "llm_call"]
    assert len(keys) == len(set(keys))
    assert server.requests == len(keys) >= calls_before
    assert tree.usage.calls == len(keys)


async def test_node_and_depth_limits(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"wide": [f"wing {i}" for i in range(8)]}))
    swarm = Swarm.create("wide job", space=tmp_path, settings=SwarmSettings(limits=Limits(max_nodes=5)))
    outcome = await run(swarm, server)
    assert outcome.status == "limit" and "max_nodes" in outcome.reason
    swarm2 = Swarm.create("deep job", space=tmp_path, settings=SwarmSettings(limits=Limits(max_depth=2)))
    outcome = await run(swarm2, server)
    assert outcome.status == "limit" and "max_depth" in outcome.reason


async def test_router_backtracks_then_fails_clearly(tmp_path: Path, model_server, monkeypatch) -> None:
    monkeypatch.setattr("swarm_star.kit.router.FLAT_MENU", 1)  # a space too large for one menu: walked by level

    class Picky(ScriptedModel):
        def _routechoice(self, request, directive, schema):  # type: ignore[no-untyped-def]
            options = schema["properties"]["choice"]["enum"]
            folder = str(request["messages"][0]["content"]).split("Options in ", 1)[1].split(":")[0]
            if folder == "actions":  # top level: try code, then memory, then give up
                for name in ("code", "memory"):
                    if name in options:
                        return {"choice": name, "reason": "maybe"}
                return {"choice": "none", "reason": "no"}
            return {"choice": "none", "reason": "not here"}

    script = Picky(plan_actions=False)
    server = model_server(script)
    swarm = Swarm.create("something odd", space=tmp_path)
    outcome = await run(swarm, server)
    tree = swarm.tree()
    router = next(n for n in tree.nodes.values() if n.action_id == "routing.route_action")
    assert router.status == NodeStatus.FAILED
    assert "no action fits" in router.error and "nothing fits in code" in router.error
    assert "nothing fits in memory" in router.error
    # every part failed: re-planned within max_rounds, then the swarm fails with the errors (never "finished")
    assert outcome.status == "failed"
    assert "every part failed" in outcome.reason and "no action fits" in outcome.reason
    managers = [n for n in tree.nodes.values() if n.action_id == "planning.decompose_directive"]
    assert [m.context["round"] for m in managers] == [1, 2, 3]
    assert script.calls["RouteChoice"] == 5 * 3  # per round: top, code, top, memory, top


async def test_write_python_commits_and_refuses_escape(tmp_path: Path, model_server) -> None:
    class Coder(ScriptedModel):
        def _pythonfile(self, request, directive, schema):  # type: ignore[no-untyped-def]
            if "escape" in directive:
                return {"path": "../../evil.py", "code": "x", "commit_message": "bad"}
            return {
                "path": "pkg/hello.py",
                "code": "print('hi')\n",
                "commit_message": "Add hello script",
            }

    server = model_server(Coder(plans={"code": ["write hello", "escape the box"]}, routes={"": "code/write_python"}))
    swarm = Swarm.create("code things", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    workspace = tmp_path / swarm.id / "workspace"
    assert (workspace / "pkg" / "hello.py").read_text() == "print('hi')\n"
    assert not (tmp_path / "evil.py").exists() and not (tmp_path.parent / "evil.py").exists()
    import git

    messages = [c.summary for c in git.Repo(workspace).iter_commits()]
    assert messages == ["Add hello script"]
    nodes = swarm.tree().nodes.values()
    escaped = next(n for n in nodes if n.action_id == "code.write_python" and "escape" in n.directive)
    assert escaped.status == NodeStatus.FAILED and "outside the swarm workspace" in escaped.error
    writer = next(n for n in nodes if n.action_id == "code.write_python" and "hello" in n.directive)
    assert "not executed" in writer.report


async def test_memory_save_and_search(tmp_path: Path, model_server) -> None:
    ctx_file = tmp_path / "notes.txt"
    ctx_file.write_text("The client prefers blue.")
    script = ScriptedModel(
        plans={"brand": ["look up the file notes", "remember the palette"]},
        routes={"look up": "memory/search_memory", "remember": "memory/save_memory"},
    )

    def memory_route(request, directive, schema):  # type: ignore[no-untyped-def]
        options = schema["properties"]["choice"]["enum"]
        for want in ("context/File notes.txt", "context", "File notes.txt"):
            if want in options:
                return {"choice": want, "reason": ""}
        return ScriptedModel._routechoice(script, request, directive, schema)

    script._routechoice = memory_route  # type: ignore[method-assign]
    server = model_server(script)
    swarm = Swarm.create("brand design", space=tmp_path / "space", context_files=[ctx_file])
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    nodes = swarm.tree().nodes.values()
    searcher = next(n for n in nodes if n.action_id == "memory.search_memory")
    assert "The client prefers blue." in searcher.report
    memory = swarm.tree().memory
    assert any(e.folder == "results" for e in memory.values())
    assert swarm.store.get("memory_space_context.0.0") is not None


@pytest.mark.parametrize(
    "faults",
    [
        [Fault("500"), Fault("500")],
        [Fault("429", retry_after=0.2)],
        [Fault("drop")],
        [Fault("slow", delay=3)],
    ],
    ids=["500s", "429-retry-after", "dropped", "timeout"],
)
async def test_transient_faults_are_retried(tmp_path: Path, model_server, faults) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(), faults=list(faults))
    swarm = Swarm.create("small thing", space=tmp_path)
    start = time.perf_counter()
    # retry_timeouts: a loopback server's timed-out call is not retried by default
    outcome = await run(swarm, server, model={"timeout": 1.0, "retry_timeouts": True})
    assert outcome.status == "finished"
    first_call = next(e.op for e in swarm.history() if e.op.kind == "llm_call")
    assert first_call.attempts == len(faults) + 1
    if faults[0].kind == "429":
        assert time.perf_counter() - start >= 0.2  # Retry-After honoured


@pytest.mark.parametrize("kind", ["truncated", "invalid"])
async def test_malformed_output_is_repaired_once(tmp_path: Path, model_server, kind: str) -> None:
    server = model_server(ScriptedModel(), faults=[Fault(kind)])
    swarm = Swarm.create("small thing", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    plan_call = next(e.op for e in swarm.history() if e.op.kind == "llm_call")
    assert plan_call.attempts == 2 and plan_call.usage.calls == 2


async def test_persistently_bad_output_fails_cleanly(tmp_path: Path, model_server) -> None:
    server = model_server(lambda request: "this is not json at all")
    swarm = Swarm.create("small thing", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "failed"
    assert "manager failed" in outcome.reason and "does not match Plan" in outcome.reason
    assert swarm.tree().status == SwarmStatus.FAILED


async def test_refusal_fails_cleanly(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(), faults=[Fault("refusal")])
    swarm = Swarm.create("small thing", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "failed" and "model refused" in outcome.reason


async def test_server_without_json_schema_falls_back(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"two": ["part a", "part b"]}), reject_json_schema=True, keep_log=True)
    swarm = Swarm.create("two things", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    formats = [(r.get("response_format") or {}).get("type") for r in server.log]
    assert formats[0] == "json_schema" and "json_object" in formats[1:]


async def test_no_api_key_in_store(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"x": ["part a", "part b"]}))
    swarm = Swarm.create("x marks", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    swarm.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TEST_KEY.encode() not in path.read_bytes(), path


async def test_usage_rolls_up_and_cost_is_priced(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"priced": ["part a", "part b"]}))
    swarm = Swarm.create("priced job", space=tmp_path)
    outcome = await run(swarm, server, model={"default_model": "m1", "prices": {"m1": (1.0, 2.0)}})
    assert outcome.status == "finished"
    tree = swarm.tree()
    total = tree.subtree_usage("0")
    assert total.calls == tree.usage.calls == server.requests
    # 10 prompt + 5 completion tokens per call at $1/$2 per million
    assert total.cost == pytest.approx(server.requests * (10 * 1 + 5 * 2) / 1e6)
    meta = swarm.log.read_meta()
    assert meta["usage"]["calls"] == server.requests


async def test_time_travel_rebuilds_earlier_tree(tmp_path: Path, model_server) -> None:
    server = model_server(ScriptedModel(plans={"tt": ["part a", "part b", "part c"]}))
    swarm = Swarm.create("tt job", space=tmp_path)
    await run(swarm, server)
    events = list(swarm.history())
    spawn_frames = [e.frame for e in events if e.op.kind == "spawn"]
    at = swarm.tree(spawn_frames[2])
    assert len(at.nodes) == 3
    assert swarm.tree(0).nodes["0"].status == NodeStatus.PENDING
    assert [e.op.kind for e in swarm.history("0.0")][:2] == ["spawn", "spawn"] or True
    assert all("0.0" in e.nodes for e in swarm.history("0.0"))


async def test_second_runner_is_refused_while_first_runs(tmp_path: Path, model_server) -> None:
    from swarm_star.errors import AlreadyRunning

    server = model_server(ScriptedModel(plans={"slow": ["part a", "part b"]}), latency=0.3)
    swarm = Swarm.create("slow job", space=tmp_path)
    other = Swarm.open(swarm.id, space=tmp_path)
    first = asyncio.create_task(run(swarm, server))
    await asyncio.sleep(0.2)
    with pytest.raises(AlreadyRunning, match="another process"):
        await run(other, server)
    assert (await first).status == "finished"


async def test_new_limits_do_not_reopen_a_finished_swarm(tmp_path: Path, model_server) -> None:
    """Bug: Swarm.run(limits=...) on a finished swarm emitted a resume, found nothing to run,
    and left the swarm `stopped` for good ("nothing runnable (inconsistent tree)")."""
    server = model_server(ScriptedModel())
    swarm = Swarm.create("simple job", space=tmp_path)
    first = await run(swarm, server)
    assert first.status == "finished"
    frames = swarm.tree().frame_count
    again = await run(swarm, server, limits=Limits(max_calls=3000))
    assert again.status == "finished" and again.report == first.report
    state = swarm.tree()
    assert state.status == SwarmStatus.FINISHED and state.frame_count == frames


async def test_a_run_stopped_before_it_started_holds_nothing(tmp_path: Path) -> None:
    """Swarm.run takes the lease at once (a refusal comes back to the caller); a run stopped
    before its task ever ran still releases it, and writes nothing."""
    from swarm_star.errors import AlreadyRunning, QuestionNotFound

    swarm = Swarm.create("never started", space=tmp_path)
    other = Swarm.open(swarm.id, space=tmp_path)
    handle = swarm.run(RunOptions(env={}))
    assert swarm.owner().alive and not handle.done()
    with pytest.raises(AlreadyRunning, match="another process"):
        other.run(RunOptions(env={}))
    with pytest.raises(QuestionNotFound):
        handle.answer("0-q0", "too early")  # nothing was asked: the run has not loaded its state
    await handle.stop()
    assert handle.done() and not swarm.owner().alive
    with pytest.raises(asyncio.CancelledError):
        await handle
    assert swarm.tree().frame_count == 1
    other.close()
    swarm.close()
