"""The root's organizing node (``memory/organize_context``): many context files are sorted into topic folders of
the memory space by one model call, recorded like any memory change; a bad grouping falls back to folders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from swarm_star.api import Swarm
from swarm_star.models import Limits, SpaceFolder
from swarm_star.prompts.memory import ContextTopics
from swarm_star.spaces import ids
from swarm_star.spaces.memory import LAYOUT_FOLDER, ContextTopic, check_topics
from swarm_star.spaces.menus import MAX_MENU
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import run_swarm
from tests.unit.actions.test_memory_tree import FILES, _context_dir, _walk

TOPICS = ContextTopics.__name__
_LISTED = re.compile(r"^(\d+)\. ([^:]+):", re.M)


def _topic_of(name: str) -> str:
    if "/docs/" in name:
        return "Guides"
    if "/src/" in name:
        return "Modules A-J" if int(name[-5:-3]) < 10 else "Modules K-T"
    return "Tests" if "/tests/" in name else "Project files"


class Organizer(ScriptedModel):
    """Groups the listed files into topics (``bad``: one topic of every module, too long for a menu); the memory
    router walks context > topic > file towards ``want``."""

    def __init__(self, want: str, *, bad: bool = False) -> None:
        super().__init__(routes={"look up": "memory/search_memory"})
        self.want, self.bad = want, bad
        self.menus: list[list[str]] = []

    def _contexttopics(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        topics: dict[str, list[int]] = {}
        for number, name in _LISTED.findall(str(request["messages"][-1]["content"])):
            topic = "Modules" if self.bad and "/src/" in name else _topic_of(name)
            topics.setdefault(topic, []).append(int(number))
        return {"topics": [{"name": n, "description": f"the {n.lower()}", "entries": e} for n, e in topics.items()]}

    def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        if "tree of memory" not in json.dumps(request["messages"]):
            return super()._routechoice(request, directive, schema)
        options = [o for o in schema["properties"]["choice"]["enum"] if o != "none"]
        self.menus.append(options)
        # the router opens short folders in place (issue 25), so an option may be a path: context/Topic/File …
        for option in options:
            if option == self.want or option.endswith("/" + self.want):
                return {"choice": option, "reason": ""}
        topic = _topic_of(self.want)
        for option in options:
            if option in ("context", topic, f"context/{topic}"):
                return {"choice": option, "reason": ""}
        return {"choice": "none", "reason": ""}


def _topics_shown(menus: list[list[str]]) -> set[str]:
    """The topic folders the memory router's menus showed, as options or as the folders of opened paths."""
    shown = set()
    for menu in menus:
        for option in menu:
            parts = option.split("/")
            if parts[0] == "context" and len(parts) > 1:
                shown.add(parts[1])
            elif not option.startswith("File ") and "/" not in option:
                shown.add(option)
    return shown


def _menu(swarm: Swarm, folder_id: str) -> list[str]:
    space = swarm.memory_space()
    return [space.entries[c].name for c in space.entries[folder_id].children]


async def test_forty_files_are_sorted_into_topics_by_one_call(tmp_path: Path, model_server: Any) -> None:
    want = "File project/src/pkg/module_13.py"
    model = Organizer(want)
    server = model_server(model)
    swarm = Swarm.create("look up module 13", space=tmp_path / "s", context_files=[_context_dir(tmp_path)])
    outcome = await run_swarm(swarm, server)
    assert outcome.status == "finished", outcome.reason
    assert model.calls[TOPICS] == 1
    [organizer] = [n for n in swarm.state.nodes.values() if n.action_id == ids.ORGANIZE]
    assert organizer.report == (
        "context grouped into 5 topics: Project files (2), Guides (8), Modules A-J (10), Modules K-T (10), Tests (10)"
    )
    assert next(n for n in swarm.state.nodes.values() if n.action_id == ids.MANAGER).created_at >= organizer.updated_at
    space = swarm.memory_space()
    topics = ["Directive", "Guides", "Modules A-J", "Modules K-T", "Project files", "Tests"]
    assert sorted(_menu(swarm, "context")) == topics
    longest, _ = _walk(space)
    assert longest <= MAX_MENU
    _, leaves = _walk(space, "context")
    assert sorted(leaves) == sorted(["Directive", *(f"File project/{n}" for n in FILES)])  # each reachable once
    # the memory router followed the topics (short folders opened in place: context/Topic/File …)
    assert {"Project files", "Guides", "Modules A-J", "Modules K-T", "Tests"} <= _topics_shown(model.menus)
    assert not any(o.startswith("context/project") for m in model.menus for o in m)  # topics, not folders
    assert any(o.endswith("File project/src/pkg/module_13.py") for m in model.menus for o in m)
    searcher = next(n for n in swarm.state.nodes.values() if n.action_id == "memory.search_memory")
    assert "contents of src/pkg/module_13.py" in (searcher.report or "")
    reopened = Swarm.open(swarm.id, space=tmp_path / "s")  # read back from the store: the same topics
    assert _menu(reopened, "context") == _menu(swarm, "context")
    [recorded] = [e.frame for e in swarm.history() if e.op.kind == "save_memory" and e.op.folder == LAYOUT_FOLDER]
    assert not [e for e in swarm.tree(recorded - 1).memory.values() if e.folder == LAYOUT_FOLDER]  # a frame
    fork = swarm.fork(recorded)  # a fork from that frame keeps the topics
    assert _menu(fork, "context") == _menu(swarm, "context")
    assert _menu(fork, "context/topic 4") == _menu(swarm, "context/topic 4")


async def test_a_bad_grouping_falls_back_to_folders_with_a_note(tmp_path: Path, model_server: Any) -> None:
    server = model_server(Organizer("File project/README.md", bad=True))
    swarm = Swarm.create("summarize the readme", space=tmp_path / "s", context_files=[_context_dir(tmp_path)])
    outcome = await run_swarm(swarm, server)
    assert outcome.status == "finished", outcome.reason
    [organizer] = [n for n in swarm.state.nodes.values() if n.action_id == ids.ORGANIZE]
    assert organizer.report == (
        "context stays grouped by folder: the model's topics were unusable (topic 'Modules' has 20 entries (1 to 12))"
    )
    assert not [e for e in swarm.state.memory.values() if e.folder == LAYOUT_FOLDER]
    space = swarm.memory_space()
    longest, _ = _walk(space)
    assert longest <= MAX_MENU
    [project] = [space.entries[c] for c in space.entries["context"].children if space.entries[c].name != "Directive"]
    assert isinstance(project, SpaceFolder) and project.name == "project*"  # today's folder grouping


async def test_few_files_make_no_organize_call(tmp_path: Path, model_server: Any) -> None:
    root = tmp_path / "few"
    root.mkdir()
    for i in range(MAX_MENU):
        (root / f"note_{i}.md").write_text(f"note {i}\n")
    model = Organizer("File few/note_3.md")
    swarm = Swarm.create("summarize note 3", space=tmp_path / "s", context_files=[root])
    outcome = await run_swarm(swarm, model_server(model))
    assert outcome.status == "finished", outcome.reason
    assert model.calls[TOPICS] == 0
    assert not [n for n in swarm.state.nodes.values() if n.action_id == ids.ORGANIZE]
    assert swarm.state.nodes["0.0"].action_id == ids.MANAGER  # the manager comes first, as before


async def test_a_stopped_swarm_resumes_without_paying_the_grouping_again(tmp_path: Path, model_server: Any) -> None:
    model = Organizer("File project/tests/test_04.py")
    server = model_server(model)
    swarm = Swarm.create("look up test 4", space=tmp_path / "s", context_files=[_context_dir(tmp_path)])
    stopped = await run_swarm(swarm, server, limits=Limits(max_calls=1))
    assert stopped.status == "limit" and model.calls[TOPICS] == 1
    again = Swarm.open(swarm.id, space=tmp_path / "s")
    outcome = await run_swarm(again, server, limits=Limits(max_calls=50))
    assert outcome.status == "finished", outcome.reason
    assert model.calls[TOPICS] == 1  # recorded once, replayed on resume
    assert len([n for n in again.state.nodes.values() if n.action_id == ids.ORGANIZE]) == 1
    assert "Tests" in _menu(again, "context")


def test_the_check_names_what_is_wrong_with_a_grouping() -> None:
    ids_ = [f"context.0.{i}" for i in range(1, 6)]

    def topic(name: str, *entries: int) -> ContextTopic:
        return ContextTopic(name=name, description="", entries=[f"context.0.{i}" for i in entries])

    assert check_topics([topic("A", 1, 2), topic("B", 3, 4, 5)], ids_) is None
    assert check_topics([], ids_) == "no topics"
    assert check_topics([topic("A", 1, 2), topic("B", 2, 3, 4, 5)], ids_) == "an entry is in two topics"
    assert check_topics([topic("A", 1, 2), topic("B", 3, 4)], ids_) == "1 entries in no topic"
    assert check_topics([topic("A", 1, 2, 3, 4, 5, 9)], ids_) == "unknown entries context.0.9"
    assert check_topics([topic("A", 1, 2), topic("a", 3, 4, 5)], ids_) == "topic name 'a' is taken"
    assert check_topics([topic("none", 1, 2, 3, 4, 5)], ids_) == "topic name 'none' is taken"
    assert "is not a short one-line name" in str(check_topics([topic("two\nlines", 1, 2, 3, 4, 5)], ids_))
    assert check_topics([topic(f"T{i}", i) for i in range(1, 6)] * 3, ids_) == "15 topics, more than 11"


async def test_briefings_walk_memory_by_the_topics_too(tmp_path: Path, model_server: Any) -> None:
    root = tmp_path / "project"
    for name in FILES:  # long enough that a briefing cannot show them all and walks memory instead
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"contents of {name}: " + "lorem ipsum " * 20 + "\n")
    model = Organizer("File project/tests/test_04.py")
    swarm = Swarm.create("summarize test 4", space=tmp_path / "s", context_files=[root])
    outcome = await run_swarm(swarm, model_server(model))
    assert outcome.status == "finished", outcome.reason
    assert model.calls[TOPICS] == 1
    assert {"Project files", "Guides", "Modules A-J", "Modules K-T", "Tests"} <= _topics_shown(model.menus)
    assert not any(o.startswith("context/project") for m in model.menus for o in m)  # topics, not folders
    assert any(o.endswith("File project/tests/test_04.py") for m in model.menus for o in m)
