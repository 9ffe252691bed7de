"""Small models' plans: an ordering hint never fails a directive, and debris never becomes a part.

Bugs (issue 21, SmolLM2 runs): a plan whose ``after`` named a part that does not
exist ("part 1 needs part 2022", "needs 'Write a short…'") was rejected, asked
again, then the manager and the swarm failed; a plan with no parts was asked for
again; and ``{%if %}``, ``#/defs/Part``, ``planner`` and "]} ``` This is …" passed
the junk filter, each spawning routers and actions (a haiku cost 30 calls). Now
unresolved references are dropped and cycles broken by plan order, each with a
note in the part's spawn frame; an empty plan makes the directive its own part;
template/schema debris and fragments of the planner's own prompt are junk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.engine.quality import directive_junk
from swarm_star.prompts.planning import PLANNER_SYSTEM
from swarm_star.render.text import summary
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for

PLAN_NOTES = "plan_notes"


async def run(swarm: Swarm, server: Any) -> Any:
    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm))
    finally:
        await llm.aclose()


def routers(swarm: Swarm) -> dict[str, Any]:
    return {n.directive: n for n in swarm.tree().nodes.values() if n.action_id == "routing.route_action"}


def spawn_frames(swarm: Swarm) -> dict[str, Any]:
    """The manager's spawn op of each part (its router's; the leaf below has the same directive)."""
    return {e.op.directive: e.op for e in swarm.history() if e.op.kind == "spawn" and e.op.role == "router"}


async def test_references_to_parts_that_do_not_exist_are_dropped_with_a_note(tmp_path: Path, model_server: Any) -> None:
    plan = [
        {"task": "cook the meal", "after": [2022]},
        {"task": "set the table", "after": ["Write a short poem about it", 1]},
        {"task": "serve dinner", "after": ["part 2", 3, "the moon"]},
    ]
    script = ScriptedModel(plans={"dinner": plan})
    server = model_server(script)
    swarm = Swarm.create("dinner party", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert script.calls["Plan"] == 1  # not rejected, not asked again
    parts = routers(swarm)
    cook, table, serve = parts["cook the meal"], parts["set the table"], parts["serve dinner"]
    assert "after" not in cook.context and table.context["after"] == [cook.id]
    assert serve.context["after"] == [table.id]
    frames = spawn_frames(swarm)
    assert frames["cook the meal"].context[PLAN_NOTES] == ["dropped 'after' 2022: part 2022 does not exist (parts 1-3)"]
    assert frames["set the table"].context[PLAN_NOTES] == [
        "dropped 'after' 'Write a short poem about it': not a part of this plan"
    ]
    assert frames["serve dinner"].context[PLAN_NOTES] == [
        "dropped 'after' 3: a part cannot wait for itself",
        "dropped 'after' 'the moon': not a part of this plan",
    ]
    lines = [summary(e) for e in swarm.history() if e.op.kind == "spawn" and e.op.role == "router"]
    assert "router routing.route_action: cook the meal — dropped 'after' 2022: part 2022 does not exist" in lines[0]


async def test_a_cycle_is_broken_by_plan_order(tmp_path: Path, model_server: Any) -> None:
    plan = [
        {"task": "write the code", "after": [3]},
        {"task": "write the docs", "after": [1]},
        {"task": "write the tests", "after": [2]},
    ]
    script = ScriptedModel(plans={"loop": plan})
    server = model_server(script)
    swarm = Swarm.create("loop forever", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert script.calls["Plan"] == 1
    parts = routers(swarm)
    code, docs, tests = parts["write the code"], parts["write the docs"], parts["write the tests"]
    assert "after" not in code.context  # the reference against the plan's order goes
    assert docs.context["after"] == [code.id] and tests.context["after"] == [docs.id]
    note = spawn_frames(swarm)["write the code"].context[PLAN_NOTES]
    assert note == ["dropped 'after' 3: a cycle (1 -> 3 -> 2 -> 1); the plan's order is kept"]


async def test_an_empty_first_plan_makes_the_directive_its_own_part(tmp_path: Path, model_server: Any) -> None:
    class Empty(ScriptedModel):
        def _plan(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
            return {"needs_context": False, "question": "", "subdirectives": []}

    script = Empty()
    server = model_server(script)
    swarm = Swarm.create("tell a joke", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished" and script.calls["Plan"] == 1
    assert list(routers(swarm)) == ["tell a joke"]
    assert spawn_frames(swarm)["tell a joke"].context[PLAN_NOTES] == [
        "the plan had no parts: the directive is its own part"
    ]


async def test_debris_and_prompt_fragments_never_become_parts(tmp_path: Path, model_server: Any) -> None:
    debris = [
        "{%if %}",
        "#/defs/Part",
        "planner",
        "]} ``` This is the plan for the haiku",
        "a complete instruction",  # the schema's own description, copied
        "Split the directive into sub-directives",  # the planner's system prompt, copied
        "write a haiku about the sea",
    ]
    server = model_server(ScriptedModel(plans={"haiku": debris}))
    swarm = Swarm.create("a haiku please", space=tmp_path)
    outcome = await run(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert list(routers(swarm)) == ["write a haiku about the sea"]


@pytest.mark.parametrize(
    "text",
    [
        "{%if %}",
        "{% endfor %}",
        "{{ directive }}",
        "#/defs/Part",
        "#/$defs/Part",
        '{"$ref": "#/$defs/Part"}',
        "planner",
        "Reviewer",
        "subdirectives",
        "needs_context",
        "]} ``` This is …",
        '"} ]',
        "``` This is the plan",
        "<|im_start|>assistant",
    ],
)
def test_template_and_schema_debris_is_junk(text: str) -> None:
    assert directive_junk(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Explain how Jinja's {% if %} tag chooses a branch",
        "Plan the sprint with the team",
        "Write the tests for the parser",
        "Review the draft for typos",
        "Fix this function:\n```python\ndef f(x):\n    return x\n```",
    ],
)
def test_real_directives_near_the_debris_pass(text: str) -> None:
    assert directive_junk(text, prompt=PLANNER_SYSTEM) is None


def test_fragments_of_the_planners_prompt_are_junk() -> None:
    assert directive_junk("Ask the user only if facts", prompt=PLANNER_SYSTEM) is not None
    assert directive_junk("a small directive is one sub-directive", prompt=PLANNER_SYSTEM) is not None
    assert directive_junk("write a limerick", prompt=PLANNER_SYSTEM) is None


def test_a_directive_that_quotes_code_is_not_spill() -> None:
    """A fence inside a directive is code it quotes (an evaluation task): only a text that
    starts with a closing bracket or a fence is the spill of a reply (the eval suite failed)."""
    from swarm_star.engine.quality import directive_junk

    task = "[task HumanEval-152] Implement the function below.\n```python\ndef compare(a, b):\n    pass\n```"
    assert directive_junk(task) is None
    assert directive_junk("``` This is the plan") is not None
