"""Issue 20: every prompt in swarm_star/prompts/, caps by Purpose, labels the doubles import.

- A swarm recorded by the first release: issue 20 kept the templates byte for byte (its
  re-run was answered from the record alone); issue 25 changed them on purpose, so a
  re-run now diverges and needs a model, never taking a reply to another request.
- A completion cap comes from a :class:`Purpose` member, never from a word inside a
  free-text label; the stored label is the member's value, as before.
- The scripted doubles read requests through the labels and schema classes of
  ``swarm_star.prompts``, so they recognise what the templates write.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from swarm_star import prompts
from swarm_star.api import RunOptions, Swarm, load_spaces
from swarm_star.engine import ActionContext, Engine
from swarm_star.errors import SwarmStarError
from swarm_star.llm.client import DEFAULT_MAX_TOKENS
from swarm_star.models import LLMCall
from swarm_star.prompts import Purpose
from swarm_star.spaces import ids
from swarm_star.testing.answer_key import AnswerKeyModel
from swarm_star.testing.openai_server import request_schema
from swarm_star.testing.scripted import ScriptedModel, directive_of
from tests.helpers.model import client_for
from tests.helpers.paths import DATA

FIXTURE = DATA / "store_v1"


@pytest.fixture
def recorded(tmp_path: Path) -> Swarm:
    """The first release's finished swarm (plan, three routed answers, review), as stored then."""
    shutil.copytree(FIXTURE, tmp_path / "space")
    return Swarm.open("v1swarm", space=tmp_path / "space")


async def test_a_swarm_recorded_by_the_first_release_is_never_given_a_reply_to_another_request(
    recorded: Swarm,
) -> None:
    """Issue 25 changed the templates (stable text first, the plan names each part's action), so
    today's manager asks the first release's planner something else: a re-run of it is a
    divergence that needs a model (never the recorded reply); the finished swarm still reads."""
    state = recorded.tree()
    actions, utils = load_spaces()
    engine = Engine(
        store=recorded.store,
        state=state,
        llm=None,
        actions=actions,
        utils=utils,
        swarm_dir=recorded.locator.swarm_dir(recorded.id),
    )
    recorded_calls = len(state.calls)
    manager = state.nodes["0.0"]
    with pytest.raises(SwarmStarError, match="needs a model endpoint"):
        await actions.module(ids.MANAGER).run(
            ActionContext(engine, manager.model_copy(update={"children": []}), 0, "start")
        )
    assert len(engine.state.calls) == recorded_calls  # nothing recorded over the old replies
    assert state.nodes["0.0"].report and state.nodes["0.0.0.0"].report


async def test_a_re_run_that_asks_something_else_needs_the_model(recorded: Swarm) -> None:
    """The check above has teeth: a request the templates did not record finds no reply without a model."""
    state = recorded.tree()
    actions, utils = load_spaces()
    engine = Engine(
        store=recorded.store,
        state=state,
        llm=None,
        actions=actions,
        utils=utils,
        swarm_dir=recorded.locator.swarm_dir(recorded.id),
    )
    node = state.nodes["0.0.0.0"].model_copy(update={"directive": "sort the books, please"})
    with pytest.raises(SwarmStarError, match="needs a model endpoint"):
        await actions.module(node.action_id).run(ActionContext(engine, node, 0, "start"))


def test_recorded_purpose_labels_are_the_enum_values(recorded: Swarm) -> None:
    labels = {call.purpose for call in recorded.tree().calls.values()}
    assert labels and {Purpose(label).value for label in labels} == labels


async def test_a_cap_comes_from_the_purpose_member_never_from_a_word_in_a_label(
    tmp_path: Path, model_server: Any
) -> None:
    server = model_server(ScriptedModel(), keep_log=True)
    llm = client_for(server)
    asked = [{"role": "user", "content": "Task: say hi"}]
    labels: list[Purpose | str] = [
        Purpose.ROUTE,
        "summarize the route",
        Purpose.WRITE_CODE,
        "write code notes",
        "route",
    ]
    try:
        for label in labels:
            await llm.chat(asked, purpose=label)
    finally:
        await llm.aclose()
    caps = [request["max_tokens"] for request in server.log]
    assert caps == [96, DEFAULT_MAX_TOKENS, 4096, DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS]


def test_every_purpose_names_its_cap() -> None:
    steps = {Purpose.RUN_TESTS, Purpose.BROADCAST, Purpose.SCATTER, Purpose.TREE_REDUCE}  # journaled, no model call
    for purpose in Purpose:
        cap = purpose.max_tokens
        assert (cap is None) if purpose in steps else (isinstance(cap, int) and cap > 0), purpose


async def test_frames_store_the_purpose_as_its_plain_label(tmp_path: Path, model_server: Any) -> None:
    server = model_server(ScriptedModel(plans={"two": ["write part a", "write part b"]}))
    swarm = Swarm.create("two things", space=tmp_path)
    llm = client_for(server)
    try:
        assert (await swarm.run(RunOptions(llm=llm))).status == "finished"
    finally:
        await llm.aclose()
    stored = [json.loads(e.model_dump_json())["op"] for e in swarm.history() if e.op.kind == "llm_call"]
    assert {op["purpose"] for op in stored} == {"plan", "answer", "review"}  # the plan named the actions
    calls = [e.op for e in swarm.history() if isinstance(e.op, LLMCall)]
    assert all(type(call.purpose) is str for call in calls)


def _structured(messages: list[dict[str, str]], schema: Any) -> dict[str, Any]:
    """A request as the client sends it with ``json_schema`` (the double keys on the class name)."""
    fmt = {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()}}
    return {"messages": messages, "response_format": fmt}


def _reply(model: ScriptedModel, request: dict[str, Any]) -> Any:
    return model(request)


def test_the_scripted_model_reads_what_the_templates_write() -> None:
    script = ScriptedModel(plans={"party": "How many guests?"})
    first = prompts.planning.plan_messages("plan the party", "", "", "", max_parts=8)
    assert directive_of({"messages": first}) == "plan the party"
    assert _reply(script, _structured(first, prompts.planning.Plan))["needs_context"] is True  # not answered yet
    answered = prompts.planning.plan_messages("plan the party", "", "", "- twelve", max_parts=8)
    assert _reply(script, _structured(answered, prompts.planning.Plan))["needs_context"] is False
    reports = "\n".join(prompts.review.report_entry(i, f"part {i}", "done") for i in range(3))
    review = _reply(
        script, _structured(prompts.review.review_messages("plan the party", "", reports), prompts.review.Review)
    )
    assert review["report"] == "Done: plan the party (3 parts)"
    asked = prompts.worker.transcript([("How many guests?", "twelve")])
    follow = _reply(
        script, _structured(prompts.worker.follow_up_messages("the guests", asked), prompts.worker.FollowUp)
    )
    assert follow["summary"] == "The user answered: twelve"
    worker = prompts.worker.answer_messages("say hi", "", [])
    assert (
        directive_of({"messages": worker}) == "say hi" and _reply(script, {"messages": worker}) == "Answer to: say hi"
    )
    menu = prompts.routing.route_messages(
        "actions", "say hi", "", "actions", prompts.routing.menu_line("core", "x", folder=True)
    )
    choice = prompts.routing.choice_schema(("core",))
    assert _reply(script, _structured(menu, choice)) == {"choice": "core", "reason": "core/answer is in core"}
    flat = prompts.routing.choice_schema(("code/write_python", "core/answer", "planning/delegate"))
    assert _reply(script, _structured(menu, flat))["choice"] == "core/answer"  # a flat menu: one call
    menu = "\n".join(prompts.planning.menu_line(n, "x", folder=False) for n in ("core/answer", "planning/delegate"))
    asked = prompts.planning.plan_messages("plan the party", "", "", "", max_parts=8, menu=menu)
    plan = prompts.planning.plan_schema(("core/answer", "planning/delegate"))
    assert _reply(ScriptedModel(), _structured(asked, plan))["subdirectives"] == [
        {"task": "plan the party", "action": "core/answer"}
    ]


def test_the_local_server_finds_a_schema_sent_in_the_prompt() -> None:
    from swarm_star.llm.client import schema_prompt

    request = {"messages": [{"role": "system", "content": schema_prompt(prompts.verify.ResultVerdict)}]}
    name, schema = request_schema(request)
    assert name == "ResultVerdict" and schema == prompts.verify.ResultVerdict.model_json_schema()


def test_the_answer_key_model_plans_the_whole_directive_and_nothing_after_it() -> None:
    directive = "[task t1] Add the numbers.\n\nReply with ANSWER: <number>."
    model = AnswerKeyModel(answers={"t1": "ANSWER: 3"})
    for briefing in ("", prompts.briefing.briefing_block(["the goal", directive], "", "- a note")):
        messages = prompts.planning.plan_messages(directive, briefing, "", "", max_parts=8)
        assert _reply(model, _structured(messages, prompts.planning.Plan))["subdirectives"] == [directive]


def _tool_turn(directive: str, briefing: str) -> list[dict[str, str]]:
    turn = prompts.tools.ToolTurn(directive, briefing, "files/read", "Read a file.", {"type": "object"}, [], False)
    return turn.messages()


@pytest.mark.parametrize(
    "template",
    [
        lambda d, b: prompts.worker.answer_messages(d, b, []),
        prompts.worker.question_messages,
        prompts.worker.note_messages,
        lambda d, b: prompts.worker.util_args_messages(d, "count_words", {"text": "string"}, b),
        _tool_turn,
    ],
    ids=["answer", "question", "note", "util args", "tool step"],
)
def test_a_workers_request_puts_what_siblings_share_first_and_the_task_last(template: Any) -> None:
    """Issue 25: the action's own instructions (a util's or a tool's schema too) in the system
    message, then the briefing, then the task; two siblings' requests differ only at the end."""
    briefing = prompts.briefing.briefing_block(["the report", "the Nordics section"], "", "")
    one, two = template("write the volumes", briefing), template("write the rates", briefing)
    text = [json.dumps(m) for m in (one, two)]
    shared = next(i for i, (a, b) in enumerate(zip(*text, strict=False)) if a != b)
    user = one[-1]["content"]
    assert one[0]["role"] == "system" and one[0] == two[0]
    assert user.startswith(briefing) and user.endswith(f"{prompts.labels.TASK}write the volumes")
    assert text[0].index(briefing.splitlines()[-1]) < shared  # the briefing is in the shared prefix
    assert directive_of({"messages": one}) == "write the volumes"
    assert prompts.labels.stable_end(user) == len(briefing)
