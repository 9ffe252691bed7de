"""The tree's decisions: context in prompts, plans with dependencies, honest reviews,
fitting routes, results in memory. Real engine, real SQLite store, real openai
client against the scripted local server, with adversarial replies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm, load_spaces
from swarm_star.engine.quality import directive_junk, report_junk
from swarm_star.errors import InputError, SpaceError
from swarm_star.models import NodeStatus, SwarmSettings
from swarm_star.spaces import LeafSpec, load_space
from swarm_star.spaces.needs import met_needs
from swarm_star.testing.openai_server import request_schema
from swarm_star.testing.scripted import ScriptedModel, directive_of, plan_menu
from tests.helpers.model import client_for


async def run(swarm: Swarm, server: Any, **kw: Any) -> Any:
    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm, **kw))
    finally:
        await llm.aclose()


def nodes_by(swarm: Swarm, action: str) -> list[Any]:
    return [n for n in swarm.tree().nodes.values() if n.action_id == action]


def requests(server: Any, kind: str | None) -> list[tuple[str, str]]:
    """``(directive, whole prompt text)`` of every logged request asking for schema ``kind``."""
    out = []
    for body in server.log:
        name, _ = request_schema(body)
        if name == kind:
            out.append((directive_of(body), json.dumps(body["messages"])))
    return out


# --- the boundary checks themselves


@pytest.mark.parametrize("text", ["", "   ", "test", ",0.125,", "FAILED,", "Error: boom", "Report", "a", "p0", "---"])
def test_junk_directives_are_recognised(text: str) -> None:
    assert directive_junk(text) is not None


@pytest.mark.parametrize("text", ["write a poem", "Summarize", "Error handling: add retries", "north", "part 3"])
def test_real_directives_pass(text: str) -> None:
    assert directive_junk(text) is None


@pytest.mark.parametrize("text", ["", "Report", ", 2019-08-30T07:56:40.953Z,", "...", "ValueError: nope", "null"])
def test_junk_reports_are_recognised(text: str) -> None:
    assert report_junk(text) is not None


@pytest.mark.parametrize("text", ["42", "Answer to: x", "The capital is Paris."])
def test_short_real_reports_pass(text: str) -> None:
    assert report_junk(text) is None


# --- 1. context reaches the decisions


async def test_two_context_files_are_both_stored_and_planned_with(tmp_path: Path, model_server: Any) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("Alpha fact: the budget is 300.")
    b.write_text("Beta fact: the deadline is May.")
    server = model_server(ScriptedModel(), keep_log=True)
    swarm = Swarm.create("plan the launch", space=tmp_path / "space", context_files=[a, b])
    assert (await run(swarm, server)).status == "finished"
    context = {e.title: e.content for e in swarm.tree().memory.values() if e.folder == "context"}
    assert context == {
        "Directive": "plan the launch",
        "File a.md": "Alpha fact: the budget is 300.",
        "File b.md": "Beta fact: the deadline is May.",
    }
    [(_, plan_prompt)] = requests(server, "Plan")
    assert "Alpha fact" in plan_prompt and "Beta fact" in plan_prompt
    # the worker and the routers see them too
    answer_prompts = [p for d, p in requests(server, None)]
    assert answer_prompts and all("Alpha fact" in p and "Beta fact" in p for p in answer_prompts)
    assert all("Beta fact" in p for _, p in requests(server, "RouteChoice"))


def test_a_folder_is_ingested_file_by_file(tmp_path: Path) -> None:
    from swarm_star.api.context_files import MAX_FOLDER_FILE_BYTES, NOT_INGESTED, read_context

    docs = tmp_path / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "readme.md").write_text("top level")
    (docs / "guide" / "setup.txt").write_text("install it")
    (docs / ".secret").mkdir()
    (docs / ".secret" / "token.txt").write_text("hidden")
    (docs / "logo.png").write_bytes(b"\x89PNG\x00\x01")
    (docs / "huge.log").write_text("x" * (MAX_FOLDER_FILE_BYTES + 1))
    single = tmp_path / "readme.md"
    single.write_text("a file with the same name")
    files = read_context([docs, single])
    assert files["docs/readme.md"] == "top level"
    assert files["docs/guide/setup.txt"] == "install it"
    assert files["readme.md"] == "a file with the same name"
    assert not any("token" in name for name in files)
    skipped = files[NOT_INGESTED]
    assert "logo.png (binary)" in skipped and "huge.log (larger than" in skipped


def test_a_git_repository_is_ingested_from_its_head_commit(tmp_path: Path) -> None:
    import git

    from swarm_star.api.context_files import read_context

    folder = tmp_path / "proj"
    folder.mkdir()
    repo = git.Repo.init(folder)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "t")
        cfg.set_value("user", "email", "t@localhost")
    (folder / "src").mkdir()
    (folder / "src" / "app.py").write_text("print('app')\n")
    (folder / "README.md").write_text("# proj\n")
    repo.index.add(["src/app.py", "README.md"])
    repo.index.commit("initial")
    (folder / "scratch.txt").write_text("not tracked")
    files = read_context([folder])
    assert files == {"proj/README.md": "# proj\n", "proj/src/app.py": "print('app')\n"}


def test_an_empty_repository_or_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    import git

    from swarm_star.api.context_files import read_context

    git.Repo.init(tmp_path / "empty")
    with pytest.raises(InputError, match="cannot read git repository"):
        read_context([tmp_path / "empty"])
    with pytest.raises(InputError, match="cannot read context file"):
        read_context([tmp_path / "nope.md"])


async def test_a_folder_as_context_reaches_memory(tmp_path: Path, model_server: Any) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.md").write_text("first note")
    (docs / "two.md").write_text("second note")
    server = model_server(ScriptedModel())
    swarm = Swarm.create("read the docs", space=tmp_path / "space", context_files=[docs])
    assert (await run(swarm, server)).status == "finished"
    titles = sorted(e.title for e in swarm.tree().memory.values() if e.folder == "context")
    assert titles == ["Directive", "File docs/one.md", "File docs/two.md"]


async def test_prompts_carry_the_chain_of_directives(tmp_path: Path, model_server: Any) -> None:
    script = ScriptedModel(
        plans={"build a city": ["design districts", "plan transport"], "design districts": ["north", "south"]},
        routes={"design districts": "planning/delegate"},
    )
    server = model_server(script, keep_log=True)
    swarm = Swarm.create("build a city", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    # the nested plan named north's action: its router asked nothing (issue 25)
    assert not [p for d, p in requests(server, "RouteChoice") if d == "north"]
    [north_answer] = [p for d, p in requests(server, None) if d == "north"]
    # the chain above the node, then the node's own task (stated once, last)
    assert "1. build a city\\n2. design districts\\n" in north_answer and north_answer.endswith('Task: north"}]')
    [nested_plan] = [p for d, p in requests(server, "Plan") if d == "design districts"]
    assert "1. build a city" in nested_plan and "Directive: design districts" in nested_plan


# --- 2. plans with dependencies


def dependent_plan() -> list[Any]:
    return [
        {"task": "gather the data", "after": []},
        {"task": "analyse the data", "after": [1]},
        {"task": "write the summary", "after": [2]},
        "draw a logo",
    ]


async def test_a_dependency_chain_runs_in_order_and_passes_reports(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"pipeline": dependent_plan()}), keep_log=True, latency=0.05)
    swarm = Swarm.create("pipeline job", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    tree = swarm.tree()
    routers = {n.directive: n for n in nodes_by(swarm, "routing.route_action")}
    gather, analyse, summary, logo = (
        routers[k] for k in ("gather the data", "analyse the data", "write the summary", "draw a logo")
    )
    assert analyse.context["after"] == [gather.id] and summary.context["after"] == [analyse.id]
    assert "after" not in logo.context
    frames = list(swarm.history())

    def first(kind: str, node_id: str) -> int:
        return next(e.frame for e in frames if e.op.kind == kind and e.op.node_id == node_id)

    def done(node_id: str) -> int:
        return max(e.frame for e in frames if e.op.kind == "terminate" and e.op.node_id == node_id)

    assert first("run_action", analyse.id) > done(gather.id)
    assert first("run_action", summary.id) > done(analyse.id)
    assert first("run_action", logo.id) < done(gather.id)  # the independent part ran alongside
    # the dependent part (its router and its worker) was told what its prerequisite produced
    [analyse_answer] = [p for d, p in requests(server, None) if d == "analyse the data"]
    assert analyse_answer.count("Answer to: gather the data") == 1  # once: not again from memory
    assert all("Answer to: gather the data" in p for d, p in requests(server, "RouteChoice") if d == "analyse the data")
    assert all(n.status == NodeStatus.TERMINATED for n in tree.nodes.values())


async def test_a_cycle_is_broken_by_the_plans_order(tmp_path: Path, model_server: Any) -> None:
    """Was: a cycle rejected the plan, then the manager failed (issue 21: an ordering hint
    never fails a directive; see tests/test_plan_hints.py)."""
    cycle = [{"task": "write the code", "after": [2]}, {"task": "write the tests", "after": [1]}]
    script = ScriptedModel(plans={"loop": cycle})
    server = model_server(script)
    swarm = Swarm.create("loop forever", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert script.calls["Plan"] == 1
    routers = {r.directive: r for r in nodes_by(swarm, "routing.route_action")}
    assert "after" not in routers["write the code"].context
    assert routers["write the tests"].context["after"] == [routers["write the code"].id]


async def test_an_unknown_reference_is_dropped_and_the_plan_runs(tmp_path: Path, model_server: Any) -> None:
    script = ScriptedModel(plans={"dinner": ["cook the meal", {"task": "set the table", "after": [7, 1]}]})
    server = model_server(script)
    swarm = Swarm.create("dinner party", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert script.calls["Plan"] == 1
    routers = nodes_by(swarm, "routing.route_action")
    assert [r.directive for r in routers] == ["cook the meal", "set the table"]
    assert routers[1].context["after"] == [routers[0].id]
    assert routers[1].context["plan_notes"] == ["dropped 'after' 7: part 7 does not exist (parts 1-2)"]


async def test_junk_sub_directives_are_dropped(tmp_path: Path, model_server: Any) -> None:
    junk = ["test", ",0.125,", "FAILED,", "", "  ", "write a poem", "Write a poem!", "Report", "Error: timeout"]
    server = model_server(ScriptedModel(plans={"poem": junk}))
    swarm = Swarm.create("poem please", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert [r.directive for r in nodes_by(swarm, "routing.route_action")] == ["write a poem"]


async def test_an_all_junk_plan_is_asked_again_then_fails(tmp_path: Path, model_server: Any) -> None:
    script = ScriptedModel(plans={"junk": ["test", ",0.125,", "FAILED,"]})
    server = model_server(script)
    swarm = Swarm.create("junk plan", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "failed"
    assert "no usable sub-directive" in outcome.reason and "FAILED" in outcome.reason
    assert script.calls["Plan"] == 2


async def test_a_failed_prerequisite_skips_its_dependents_and_the_run_ends(tmp_path: Path, model_server: Any) -> None:
    plan = [
        {"task": "fetch the impossible", "after": []},
        {"task": "use what was fetched", "after": [1]},
        {"task": "then polish it", "after": [2]},
        "say hello",
    ]
    server = model_server(ScriptedModel(plans={"mixed": plan}, routes={"impossible": None}))
    swarm = Swarm.create("mixed bag", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    routers = {n.directive: n for n in nodes_by(swarm, "routing.route_action")}
    fetch, use, polish = routers["fetch the impossible"], routers["use what was fetched"], routers["then polish it"]
    assert fetch.status == use.status == polish.status == NodeStatus.FAILED
    assert use.error.startswith(f"skipped: its prerequisite {fetch.id}") and "fetch the impossible" in use.error
    assert polish.error.startswith(f"skipped: its prerequisite {use.id}")
    assert use.children == [] and use.calls == []  # never started, never paid for
    assert "Partly done: 3 of 4 parts failed" in outcome.report
    assert "skipped: its prerequisite" in outcome.report


# --- 3. honest reviews


class EmptyWorkers(ScriptedModel):
    """Every worker answer is empty: every part fails."""

    def _text(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> str:
        return "   "


async def test_every_child_failing_replans_then_fails_never_finished(tmp_path: Path, model_server: Any) -> None:
    script = EmptyWorkers(plans={"essay": ["write the intro", "write the ending"]})
    server = model_server(script)
    swarm = Swarm.create("an essay", space=tmp_path, settings=SwarmSettings())
    outcome = await run(swarm, server)
    assert outcome.status == "failed"
    assert "every part failed (round 3 of 3)" in outcome.reason and "unusable (empty)" in outcome.reason
    managers = nodes_by(swarm, "planning.decompose_directive")
    assert [m.context["round"] for m in managers] == [1, 2, 3]
    assert "write the intro" in managers[1].context["previous_errors"]
    assert script.calls["Review"] == 0  # nothing to review: no model call spent on it
    assert swarm.tree().nodes["0"].report is None


async def test_an_empty_reviewer_report_is_rebuilt_from_the_children(tmp_path: Path, model_server: Any) -> None:
    class Blank(ScriptedModel):
        def _review(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
            return {"directive_met": True, "report": "", "next_directive": ""}

    server = model_server(Blank(plans={"two": ["name a colour", "name a fruit"]}))
    swarm = Swarm.create("two answers", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert outcome.report.startswith("name a colour:\nAnswer to: name a colour")
    assert "Answer to: name a fruit" in outcome.report


async def test_junk_verdicts_never_become_directives_or_finished_reports(tmp_path: Path, model_server: Any) -> None:
    class Liar(ScriptedModel):
        def _review(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
            return {"directive_met": False, "report": ", 2019-08-30T07:56:40.953Z,", "next_directive": "FAILED,"}

    server = model_server(Liar())
    swarm = Swarm.create("one small answer", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert len(nodes_by(swarm, "planning.decompose_directive")) == 1  # "FAILED," was not planned
    assert outcome.report.startswith("Answer to: one small answer")
    assert "not fully met" in outcome.report
    assert outcome.partial == "the reviewer judged the directive not met"  # an honest outcome, machine-readable


async def test_a_partly_failed_round_says_so(tmp_path: Path, model_server: Any) -> None:
    server = model_server(
        ScriptedModel(plans={"trip": ["book the hotel", "book the unicorn"]}, routes={"unicorn": None})
    )
    swarm = Swarm.create("plan a trip", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert "Partly done: 1 of 2 parts failed" in outcome.report and "book the unicorn" in outcome.report
    assert outcome.partial == "1 of 2 parts failed"
    assert swarm.tree().partial == "1 of 2 parts failed"  # the projection says so too (replayed from frames)


async def test_a_complete_run_is_not_partial(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"trip": ["book the hotel", "book the train"]}))
    swarm = Swarm.create("plan a trip", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished" and outcome.partial is None


async def test_the_final_report_is_a_document(tmp_path: Path, model_server: Any) -> None:
    script = ScriptedModel(
        plans={"tool": ["write the parser script", "explain the design", "fly to the moon"]},
        routes={"script": "code/write_python", "moon": None},
    )
    server = model_server(script)
    swarm = Swarm.create("build a tool", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    report = outcome.report
    outcome_text, rest = report.split("\n\n## Parts\n\n", 1)
    assert outcome_text.startswith("Done: build a tool")
    assert "**1. write the parser script** — done by code/write_python" in rest
    assert "**2. explain the design** — done by core/answer" in rest
    assert "**3. fly to the moon** — FAILED: no action fits" in rest
    assert (
        "## Written to the workspace" in rest and "Add write_the_parser_script.py (write_the_parser_script.py)" in rest
    )


async def test_a_manager_with_nothing_usable_fails_the_root(tmp_path: Path, model_server: Any) -> None:
    """The root never finishes empty, even if a manager's report is junk."""
    from swarm_star.engine import Engine

    server = model_server(ScriptedModel())
    swarm = Swarm.create("small", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    state = swarm.tree()
    state.nodes["0.0"].report = "Report"
    state.nodes["0"].children = ["0.0"]
    actions, utils = load_spaces()
    engine = Engine(store=swarm.store, state=state, llm=None, actions=actions, utils=utils, swarm_dir=tmp_path)
    from swarm_star.engine.context import ActionContext

    [op] = await actions.module("core.root").run(ActionContext(engine, state.nodes["0"], 1, "children_done"))
    assert op.kind == "fail" and "nothing usable (a placeholder" in op.error


# --- 4. routing that fits


def test_needs_are_declared_checked_and_met(tmp_path: Path) -> None:
    actions, _ = load_spaces()
    assert actions.leaf("swarm.hostfile_broadcast").needs == ["hostfile"]
    assert actions.leaf("core.answer").needs == []
    assert met_needs(SwarmSettings(), tmp_path) == frozenset()
    settings = SwarmSettings(hostfile="/etc/hosts-agents", allow_exec=True)
    (tmp_path / "workspace" / ".git").mkdir(parents=True)
    assert met_needs(settings, tmp_path) == {"hostfile", "allow_exec", "workspace"}
    space = tmp_path / "space"
    space.mkdir()
    (space / "README.md").write_text("# s\n\nA test space.\n")
    (space / "leaf.py").write_text(
        "from swarm_star.spaces import LeafSpec\n"
        "SPEC = LeafSpec(name='leaf', description='d', needs=('hostfiel',))\n"
        "async def run(ctx):\n    return []\n"
    )
    with pytest.raises(SpaceError, match="unknown needs \\['hostfiel'\\]"):
        load_space(space, "test", "run")
    assert LeafSpec(name="x", description="y").needs == ()


class DelegateFirst(ScriptedModel):
    """Routes to planning/delegate whenever it is offered, else to core/answer (its plans name no action)."""

    def __init__(self) -> None:
        super().__init__(plan_actions=False)

    def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        options = schema["properties"]["choice"]["enum"]
        for name in ("planning/delegate", "core/answer"):
            if name in options:
                return {"choice": name, "reason": ""}
        return {"choice": "none", "reason": ""}


async def test_a_refusing_leaf_sends_the_router_to_another_option(tmp_path: Path, model_server: Any) -> None:
    script = DelegateFirst()  # the plan is the directive itself: delegating it would loop
    server = model_server(script)
    swarm = Swarm.create("say something kind", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    [router] = nodes_by(swarm, "routing.route_action")
    first, second = (swarm.tree().nodes[c] for c in router.children)
    assert first.action_id == "planning.delegate" and first.status == NodeStatus.FAILED
    assert first.error.startswith("not for me: ")
    assert second.action_id == "core.answer" and second.status == NodeStatus.TERMINATED
    assert router.status == NodeStatus.TERMINATED and router.report == "Answer to: say something kind"
    # the second walk did not offer delegate again
    assert outcome.report.startswith("Done: say something kind")


async def test_refusals_are_bounded_by_the_backtrack_budget(tmp_path: Path, model_server: Any) -> None:
    from swarm_star.models import Limits

    script = DelegateFirst()
    server = model_server(script)
    settings = SwarmSettings(limits=Limits(max_backtracks=0, max_rounds=1))
    swarm = Swarm.create("say something kind", space=tmp_path, settings=settings)
    outcome = await run(swarm, server)
    [router] = nodes_by(swarm, "routing.route_action")
    assert router.status == NodeStatus.FAILED and "every action tried refused" in router.error
    assert outcome.status == "failed"


def route_requests(server: Any) -> list[dict[str, Any]]:
    return [body for body in server.log if request_schema(body)[0] == "RouteChoice"]


async def test_a_route_shows_the_whole_menu_in_one_call(tmp_path: Path, model_server: Any) -> None:
    """Issue 25: one routing call per part where the menu fits (folders opened in place)."""
    server = model_server(ScriptedModel(plan_actions=False), keep_log=True)
    swarm = Swarm.create("say hello", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    [asked] = route_requests(server)
    options = request_schema(asked)[1]["properties"]["choice"]["enum"]  # type: ignore[index]
    assert {"core/answer", "planning/delegate", "memory/search_memory"} <= set(options)
    assert "- core/answer: Answer or solve" in asked["messages"][0]["content"]  # the menu is the stable start
    assert asked["messages"][-1]["content"].endswith("Task: say hello")  # the task is last
    [router] = nodes_by(swarm, "routing.route_action")
    [leaf] = [swarm.tree().nodes[c] for c in router.children]
    assert leaf.action_id == "core.answer"


async def test_a_planned_action_is_spawned_without_a_routing_call(tmp_path: Path, model_server: Any) -> None:
    plans = {"two": ["say hello", "delegate the rest"], "the rest": ["piece a", "piece b"]}
    script = ScriptedModel(plans=plans, routes={"rest": "planning/delegate"})
    server = model_server(script, keep_log=True)
    swarm = Swarm.create("two things", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    assert not route_requests(server)
    routers = {n.directive: n for n in nodes_by(swarm, "routing.route_action")}
    assert routers["say hello"].context["planned_action"] == "core/answer"
    [hello] = [swarm.tree().nodes[c] for c in routers["say hello"].children]
    assert hello.action_id == "core.answer" and hello.context["route"] == ["core/answer (planned)"]
    assert {n.directive for n in nodes_by(swarm, "core.answer")} == {"say hello", "piece a", "piece b"}


async def test_the_planners_menu_is_short_and_its_schema_keeps_the_names(tmp_path: Path, model_server: Any) -> None:
    """Issue 25: the plan's menu gives each action without its bracketed asides (a router that is
    asked reads the whole description); the schema's enum keeps the same names, so a grammar keeps
    a small model to the menu (without it SmolLM2 named actions "list" and "create-facts")."""
    server = model_server(ScriptedModel(plans={"two": ["say hello", "say bye"]}), keep_log=True)
    swarm = Swarm.create("two things", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    [(_, plan)] = requests(server, "Plan")
    name, schema = request_schema(server.log[0])
    assert name == "Plan"
    names = schema["$defs"]["Part"]["properties"]["action"]["enum"]  # type: ignore[index]
    assert "core/answer" in names and names == [*plan_menu(server.log[0]), ""]
    assert "- core/answer: Answer or solve a small, self-contained directive directly in one model reply." in plan
    assert "(explanations" not in plan and "(explanations" in json.dumps(
        load_spaces()[0].leaf("core.answer").description
    )


async def test_a_planned_action_that_refuses_sends_the_router_walking(tmp_path: Path, model_server: Any) -> None:
    class AnswersWhenAsked(ScriptedModel):
        def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
            options = schema["properties"]["choice"]["enum"]
            return {"choice": "core/answer" if "core/answer" in options else "none"}

    # the plan names delegate for the directive itself: delegate refuses (it already has a manager)
    server = model_server(AnswersWhenAsked(routes={"kind": "planning/delegate"}), keep_log=True)
    swarm = Swarm.create("say something kind", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    [router] = nodes_by(swarm, "routing.route_action")
    first, second = (swarm.tree().nodes[c] for c in router.children)
    assert first.action_id == "planning.delegate" and first.error.startswith("not for me: ")
    assert second.action_id == "core.answer" and second.status == NodeStatus.TERMINATED
    [walk] = route_requests(server)  # one call, and the refused action is not offered again
    assert "planning/delegate" not in request_schema(walk)[1]["properties"]["choice"]["enum"]  # type: ignore[index]
    purposes = [e.op.purpose for e in swarm.history() if e.op.kind == "llm_call"]
    assert purposes.count("route again") == 1 and "route" not in purposes


# --- 5. results live in memory


class MemoryWalker(ScriptedModel):
    """Memory routes go results -> the first part -> its first entry."""

    def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request["messages"])
        if "tree of memory" not in body:
            return super()._routechoice(request, directive, schema)
        options = [o for o in schema["properties"]["choice"]["enum"] if o != "none"]
        for want in ("results/", "results", "part 0.0.0"):  # a flat menu shows 'results/part 0.0.0/...'
            for option in options:
                if option.startswith(want):
                    return {"choice": option, "reason": ""}
        return {"choice": options[0], "reason": ""} if options else {"choice": "none", "reason": ""}


async def test_results_are_saved_by_the_tree_and_found_by_search(tmp_path: Path, model_server: Any) -> None:
    plan = ["compute the magic number", {"task": "look up the magic number result", "after": [1]}]
    script = MemoryWalker(plans={"magic": plan}, routes={"look up": "memory/search_memory"})
    server = model_server(script)
    swarm = Swarm.create("magic work", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    tree = swarm.tree()
    results = {e.entry_id: e for e in tree.memory.values() if e.folder == "results"}
    [answer] = nodes_by(swarm, "core.answer")
    saved = results[f"results.{answer.id}.report"]
    assert saved.content == "Answer to: compute the magic number" and saved.title.startswith(answer.id)
    assert "results.0.0.report" in results  # the manager's consolidated report too
    assert swarm.store.get(f"memory_space_results.{answer.id}.report") is not None
    [searcher] = nodes_by(swarm, "memory.search_memory")
    assert "Answer to: compute the magic number" in searcher.report


async def test_a_later_round_is_planned_with_the_earlier_results(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(replan={"essay"}), keep_log=True)
    swarm = Swarm.create("write an essay", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    plans = requests(server, "Plan")
    assert len(plans) == 2
    second = plans[1][1]
    assert "The previous round achieved" in second and "Answer to: write an essay" in second
    # both rounds end up in the report
    assert outcome.report.startswith("partial")


async def test_large_memory_is_walked_with_the_memory_router(tmp_path: Path, model_server: Any) -> None:
    class PicksF3(ScriptedModel):
        def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
            if "tree of memory" not in json.dumps(request["messages"]):
                return super()._routechoice(request, directive, schema)
            options = schema["properties"]["choice"]["enum"]
            for want in ("context/File f3.md", "context", "File f3.md"):
                if want in options:
                    return {"choice": want, "reason": ""}
            return {"choice": "none", "reason": ""}

    files = []
    for i in range(6):
        path = tmp_path / f"f{i}.md"
        path.write_text(f"file {i} says " + "lorem ipsum dolor " * 60)
        files.append(path)
    server = model_server(PicksF3(), keep_log=True)
    swarm = Swarm.create("summarise the files", space=tmp_path / "space", context_files=files)
    assert (await run(swarm, server)).status == "finished"
    memory_walks = [p for _, p in requests(server, "RouteChoice") if "tree of memory" in p]
    assert len(memory_walks) == 1  # one walk, by the manager before it plans; the part below reuses its pick
    [(_, plan)] = requests(server, "Plan")
    [(_, answer)] = requests(server, None)
    for prompt in (plan, answer):
        known = prompt.split("Known context (from memory):\\n", 1)[1]
        assert known.startswith("- File f3.md: file 3 says")
        assert len(known) < 3200  # bounded: not every file fits
        assert sum(f"file {i} says" in known for i in range(6)) < 6


async def test_the_final_report_shows_nested_parts_and_answers(tmp_path: Path, model_server: Any) -> None:
    script = ScriptedModel(
        plans={"city": "How big is the city?", "design districts": ["north side", "south side"]},
        plans_after_answer={"city": ["design districts", "plan transport"]},
        routes={"design districts": "planning/delegate"},
    )
    server = model_server(script)
    swarm = Swarm.create("build a city", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "questions"
    [(_, question)] = swarm.questions()
    swarm.answer(question.id, "forty thousand people")
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    report = outcome.report
    assert "**1. design districts** — done by planning/delegate" in report
    assert "**1.1 north side** — done by core/answer" in report and "**1.2 south side**" in report
    assert "**2. plan transport** — done by core/answer" in report
    assert "## Asked the user\n\n- How big is the city? — forty thousand people" in report


class UtilPicker(ScriptedModel):
    """Util walks go to files/list_files when offered, else text/word_count."""

    def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        if "tree of utils" not in json.dumps(request["messages"]):
            return super()._routechoice(request, directive, schema)
        options = schema["properties"]["choice"]["enum"]
        for want in ("files/list_files", "files", "list_files", "text/word_count", "text", "word_count"):
            if want in options:
                return {"choice": want, "reason": ""}
        return {"choice": "none", "reason": ""}


async def test_workspace_utils_are_offered_only_once_a_workspace_exists(tmp_path: Path, model_server: Any) -> None:
    routes = {"script": "code/write_python", "workspace files": "utils/use_util"}
    plan = ["write the hello script", {"task": "list the workspace files", "after": [1]}]
    server = model_server(UtilPicker(plans={"hello": plan}, routes=routes), keep_log=True)
    swarm = Swarm.create("hello project", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    [lister] = nodes_by(swarm, "utils.use_util")
    assert lister.report == "list_files: write_the_hello_script.py"
    util_menus = [p for _, p in requests(server, "RouteChoice") if "tree of utils" in p]
    assert util_menus and "- files/" in util_menus[0]

    server2 = model_server(UtilPicker(plans={"count": ["list the workspace files"]}, routes=routes), keep_log=True)
    swarm2 = Swarm.create("count things", space=tmp_path)
    assert (await run(swarm2, server2)).status == "finished"
    menus = [p for _, p in requests(server2, "RouteChoice") if "tree of utils" in p]
    assert menus and not any("- files/" in m or "- git/" in m for m in menus)
    [counter] = nodes_by(swarm2, "utils.use_util")
    assert counter.report.startswith("word_count")


async def test_a_prerequisite_with_a_junk_report_skips_its_dependent(tmp_path: Path, model_server: Any) -> None:
    class JunkSummary(ScriptedModel):
        def _followup(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
            return {"enough": True, "follow_up": "", "summary": "Report"}

    plan = [{"task": "ask the user for the colour"}, {"task": "paint the wall", "after": [1]}]
    script = JunkSummary(plans={"wall": plan}, routes={"ask the user": "interaction/ask_user_questions"})
    server = model_server(script)
    swarm = Swarm.create("wall painting", space=tmp_path)
    assert (await run(swarm, server)).status == "questions"
    [(_, question)] = swarm.questions()
    swarm.answer(question.id, "blue")
    await run(swarm, server)
    tree = swarm.tree()
    paint = tree.nodes["0.0.1"]
    assert paint.directive == "paint the wall" and paint.children == []
    assert paint.status == NodeStatus.FAILED and "reported nothing usable (a placeholder" in paint.error
    # the junk report is not kept as a result, and the next round re-plans with the errors
    assert not [e for e in tree.memory.values() if e.folder == "results" and e.content == "Report"]
    assert "reported nothing usable" in tree.nodes["0.0.2"].context["previous_errors"]


async def test_after_may_name_parts_by_text_or_number_string(tmp_path: Path, model_server: Any) -> None:
    plan = [
        "gather the data",
        {"task": "analyse the data", "after": ["gather the data"]},
        {"task": "write the summary", "after": ["2"]},
        {"task": "publish it", "after": ["part 3", "gather the data"]},
    ]
    server = model_server(ScriptedModel(plans={"texty": plan}))
    swarm = Swarm.create("texty plan", space=tmp_path)
    assert (await run(swarm, server)).status == "finished"
    routers = {n.directive: n for n in nodes_by(swarm, "routing.route_action")}
    gather, analyse, summary, publish = (routers[k] for k in [p if isinstance(p, str) else p["task"] for p in plan])
    assert analyse.context["after"] == [gather.id] and summary.context["after"] == [analyse.id]
    assert publish.context["after"] == [gather.id, summary.id]
    bad = Swarm.create("texty bad", space=tmp_path)
    server2 = model_server(ScriptedModel(plans={"texty bad": [{"task": "analyse it", "after": ["the moon"]}]}))
    outcome = await run(bad, server2)  # a reference to no part is dropped, not a failure (issue 21)
    assert outcome.status == "finished"
    [analyse] = nodes_by(bad, "routing.route_action")
    assert analyse.context["plan_notes"] == ["dropped 'after' 'the moon': not a part of this plan"]


async def test_an_empty_plan_makes_the_directive_its_own_part(tmp_path: Path, model_server: Any) -> None:
    """Was: an empty plan was asked for again first (issue 21: the first one is enough)."""

    class Empty(ScriptedModel):
        def _plan(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
            return {"needs_context": False, "question": "", "subdirectives": []}

    script = Empty()
    server = model_server(script)
    swarm = Swarm.create("tell a joke", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished" and script.calls["Plan"] == 1
    assert [r.directive for r in nodes_by(swarm, "routing.route_action")] == ["tell a joke"]


async def test_an_unreadable_review_keeps_the_parts_reports(tmp_path: Path, model_server: Any) -> None:
    class Garbled(ScriptedModel):
        def _review(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> Any:
            return '{"directive_met": true, "report": "The sea is'  # cut off mid-string, every time

    server = model_server(Garbled(plans={"sea": ["name a sea", "name an ocean"]}))
    swarm = Swarm.create("sea facts", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert "Answer to: name a sea" in outcome.report and "Answer to: name an ocean" in outcome.report
    assert "The review could not be read" in outcome.report


async def test_an_unreadable_plan_is_asked_for_again(tmp_path: Path, model_server: Any) -> None:
    class GarbledOnce(ScriptedModel):
        def _plan(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> Any:
            if "previous plan was rejected" not in str(request["messages"][-1]["content"]):
                return "subdirectives: first, second"
            return super()._plan(request, directive, schema)

    script = GarbledOnce(plans={"garbled": ["first part", "second part"]})
    server = model_server(script)
    swarm = Swarm.create("garbled start", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished"
    assert [r.directive for r in nodes_by(swarm, "routing.route_action")] == ["first part", "second part"]


async def test_a_verified_one_part_round_is_not_reviewed_again(tmp_path: Path, model_server: Any) -> None:
    """Issue 25: a one-part plan whose part is the directive itself, its answer passed by a verifier
    against that directive, ends without a review call (it would judge the same result against the
    same directive again). Unverified, or a part that is not the directive, it is reviewed."""
    from swarm_star.models import VerifySettings

    async def reviews(directive: str, plans: dict[str, Any], verify: list[str], where: Path) -> tuple[int, Any]:
        server = model_server(ScriptedModel(plans=plans), keep_log=True)
        settings = SwarmSettings(verify=VerifySettings(actions=verify))
        swarm = Swarm.create(directive, space=where, settings=settings)
        outcome = await run(swarm, server)
        assert outcome.status == "finished"
        return len(requests(server, "Review")), outcome

    count, outcome = await reviews("say something kind", {}, ["core.answer"], tmp_path / "a")
    assert count == 0 and outcome.report.startswith("Answer to: say something kind")
    assert (await reviews("say something kind", {}, [], tmp_path / "b"))[0] == 1  # unverified: reviewed
    rewritten = {"kind": ["say one kind sentence"]}
    assert (await reviews("say something kind", rewritten, ["core.answer"], tmp_path / "c"))[0] == 1
