"""Issue 25: ``tree`` and ``questions`` read the stored projection into plain records, without
pydantic (:mod:`swarm_star.state.tree_view`). The plain nodes hold exactly what the models hold;
a store with anything else in it is read the general way, with the same output or the same
one-line error; and the commands import no pydantic when the store is one this release wrote."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import Swarm
from swarm_star.cli import main
from swarm_star.cli.inspect import _draw
from swarm_star.models import AskUser, Fail, NodeRole, NodeStatus, SwarmStatus, Terminate, UserAnswer, Verdict
from swarm_star.state.clock import RunClock
from swarm_star.state.history import SwarmLog
from swarm_star.state.layout import META_KEY, NODE_PREFIX, RECORD_KEY
from swarm_star.state.tree_view import NodeView, read_view
from swarm_star.store import StoreLocator
from tests.helpers.big_tree import TreeWriter
from tests.helpers.paths import ROOT

LONG = "Sort the letters by sender, then by date, and file the bills in the drawer marked urgent. " * 2


def _grow(space: Path, swarm_id: str = "s1") -> None:
    """A small tree with every kind of field filled: questions (one answered, two pending), a
    verdict, a failure, a partial report, long text kept as shared text, calls and usage."""
    w = TreeWriter(space, swarm_id, directive=LONG)
    w.node("0", None, NodeRole.ROOT, LONG)
    for kid in ("0.0", "0.1", "0.2", "0.3", "0.10"):  # 0.3 made before 0.10, its key after
        w.node(kid, "0", NodeRole.ACTION, f"part {kid} " + LONG)
    w.call("0.0")
    w.emit(AskUser(node_id="0.1", question_id="0.1-q0", question="which drawer?"), ["0.1"])
    w.emit(UserAnswer(node_id="0.1", question_id="0.1-q0", answer="the top one"), ["0.1"])
    w.emit(AskUser(node_id="0.1", question_id="0.1-q1", question="and the bills?"), ["0.1"])
    w.emit(AskUser(node_id="0.10", question_id="0.10-q0", question="how many?"), ["0.10"])
    w.emit(AskUser(node_id="0.3", question_id="0.3-q0", question="which colour?"), ["0.3"])
    w.emit(Verdict(node_id="0.0", stage="first", model="m", ok=False, reasons=["too short", "no dates"]), ["0.0"])
    w.emit(Terminate(node_id="0.0", report=LONG, partial="1 of 2 parts failed"), ["0.0"])
    w.emit(Fail(node_id="0.2", error="the drawer is locked"), ["0.2"])
    w.commit()
    w.close()


def _fields(node: Any) -> dict[str, Any]:
    """A node's values by the model's field names (questions, checks and usage as dicts)."""
    names = [n for n in NodeView.__slots__ if n not in ("questions", "checks", "usage")]
    out = {name: getattr(node, name) for name in names}
    out["usage"] = {k: getattr(node.usage, k) for k in ("calls", "prompt_tokens", "cost", "cached_tokens")}
    out["questions"] = [(q.id, q.text, q.answer) for q in node.questions]
    out["checks"] = [(c.stage, c.model, c.ok, c.reasons) for c in node.checks]
    return out


def _cli(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(list(argv), out, err) == 0, err.getvalue()
    return out.getvalue()


def test_plain_nodes_hold_what_the_models_hold(tmp_path: Path) -> None:
    _grow(tmp_path)
    store = StoreLocator(tmp_path).open("s1")
    try:
        view = read_view(store)
        state = SwarmLog(store).load(memory=False)
    finally:
        store.close()
    assert view is not None
    assert list(view.nodes) == ["0", "0.0", "0.1", "0.10", "0.2", "0.3"]  # key order
    assert list(state.nodes) == ["0", "0.0", "0.1", "0.2", "0.3", "0.10"]  # creation, then tree order
    assert {k: _fields(n) for k, n in view.nodes.items()} == {k: _fields(n) for k, n in state.nodes.items()}
    assert (view.status, view.frame_count, view.clock) == (state.status, state.frame_count, state.clock)
    assert view.usage.cost_text() == state.usage.cost_text() and view.usage.tokens == state.usage.tokens
    pending = [("0.1", "0.1-q1"), ("0.3", "0.3-q0"), ("0.10", "0.10-q0")]  # as the replay orders the nodes
    assert [(n.id, q.id) for n, q in view.pending_questions()] == pending
    assert view.nodes["0"].directive == LONG and view.nodes["0.0"].report == LONG  # shared text, resolved


def test_tree_and_questions_print_what_the_models_print(tmp_path: Path) -> None:
    _grow(tmp_path)
    with Swarm.open("s1", space=tmp_path) as swarm:
        general = io.StringIO()
        _draw("swarm s1", swarm.read_tree(), None, general)
        asked = [(n.id, q.id, q.text) for n, q in swarm.questions()]
    assert _cli("--space", str(tmp_path), "tree", "s1") == general.getvalue()
    printed = _cli("--space", str(tmp_path), "questions", "s1", "--json")
    assert [(q["node"], q["id"], q["text"]) for q in json.loads(printed)] == asked
    assert len(asked) == 3


def _without_version(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "schema_version"}


def _set_meta(store: Any, **changes: Any) -> None:
    store.put(META_KEY, {**store.get(META_KEY), **changes})


def _set_node(store: Any, node_id: str, position: int, value: Any) -> None:
    raw = store.get(NODE_PREFIX + node_id)
    raw += [None] * (position + 1 - len(raw))
    raw[position] = value
    store.put(NODE_PREFIX + node_id, raw)


ODD = {
    "an older record version": lambda s: s.put(RECORD_KEY, _without_version(s.get(RECORD_KEY))),
    "a node record of schema 1": lambda s: s.put(
        NODE_PREFIX + "0.2",
        {
            "id": "0.2",
            "parent_id": "0",
            "depth": 1,
            "role": "action",
            "action_id": "core.answer",
            "directive": "part 0.2",
            "status": "failed",
            "error": "locked",
            "created_at": 1.0,
            "updated_at": 2.0,
            "memory_mark": 0,
        },
    ),
    "a question with a field a later release added": lambda s: _set_node(
        s, "0.10", 16, [{"id": "0.10-q0", "text": "how many?", "asked_at": 3.0}]
    ),
    "a node without memory_mark (a replay fills it in)": lambda s: _set_node(s, "0.0", 10, None),
    "a meta usage of another shape": lambda s: _set_meta(s, usage={"calls": 1, "cost": 0, "later_field": 2}),
}


@pytest.mark.parametrize("spoil", list(ODD), ids=list(ODD))
def test_a_store_of_anything_else_is_read_the_general_way(tmp_path: Path, spoil: str) -> None:
    _grow(tmp_path)
    store = StoreLocator(tmp_path).open("s1")
    try:
        ODD[spoil](store)
        assert read_view(store) is None
    finally:
        store.close()
    with Swarm.open("s1", space=tmp_path) as swarm:
        general = io.StringIO()
        _draw("swarm s1", swarm.read_tree(), None, general)
        asked = [(n.id, q.id) for n, q in swarm.questions()]
    assert _cli("--space", str(tmp_path), "tree", "s1") == general.getvalue()
    assert [
        (q["node"], q["id"]) for q in json.loads(_cli("--space", str(tmp_path), "questions", "s1", "--json"))
    ] == asked


TREE, ALL = ("tree",), ("tree", "questions")
BAD = {  # damage, what the error says, the commands it stops (`questions` does not read the meta)
    "newer record": (lambda s: s.put(RECORD_KEY, {**s.get(RECORD_KEY), "schema_version": 99}), "newer Swarm Star", ALL),
    "newer meta": (lambda s: _set_meta(s, schema_version=99), "newer Swarm Star", TREE),
    "unknown status": (lambda s: _set_meta(s, status="bogus"), "the stored swarm status 'bogus' is none of", TREE),
    "a role that is none": (lambda s: _set_node(s, "0.1", 1, "wizard"), "node record 0.1 is unreadable", ALL),
    "missing shared text": (lambda s: _set_node(s, "0.2", 3, {"ref": "0" * 32}), "shared text 000", ALL),
}


@pytest.mark.parametrize("spoil", list(BAD), ids=list(BAD))
def test_a_damaged_store_gives_the_one_line_error_it_gave(tmp_path: Path, spoil: str) -> None:
    _grow(tmp_path)
    store = StoreLocator(tmp_path).open("s1")
    damage, said, stopped = BAD[spoil]
    try:
        damage(store)
    finally:
        store.close()
    for argv in (["tree", "s1"], ["questions", "s1"], ["tree", "s1", "--json"]):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--space", str(tmp_path), *argv], out, err)
        if argv[0] in stopped:
            assert code != 0 and said in err.getvalue() and len(err.getvalue().splitlines()) == 1, (
                argv,
                err.getvalue(),
            )
        else:
            assert code == 0 and err.getvalue() == "", (argv, err.getvalue())


def test_list_reads_records_of_this_release_plainly_and_validates_the_rest(tmp_path: Path) -> None:
    """``list`` takes the directive and the creation time from a record of this release's format
    without the models; any other record is validated: an old one is migrated and listed, a bad
    one makes the swarm's row damaged with the validation's one line."""
    for swarm_id in ("good", "old", "bad"):
        _grow(tmp_path, swarm_id)
    store = StoreLocator(tmp_path).open("old")
    try:
        store.put(RECORD_KEY, _without_version(store.get(RECORD_KEY)))
    finally:
        store.close()
    store = StoreLocator(tmp_path).open("bad")
    try:
        store.put(RECORD_KEY, {**store.get(RECORD_KEY), "created_at": "yesterday"})
    finally:
        store.close()
    rows = {row["swarm_id"]: row for row in json.loads(_cli("--space", str(tmp_path), "list", "--json"))}
    assert rows["good"]["directive"] == rows["old"]["directive"] == LONG
    assert rows["good"]["status"] == rows["old"]["status"] == "running"
    assert rows["bad"]["status"] == "damaged" and "the swarm record is unreadable" in rows["bad"]["error"]


def test_tree_and_questions_import_no_pydantic(tmp_path: Path) -> None:
    """The path without pydantic is taken for a store this release wrote, and only then."""
    _grow(tmp_path)
    probe = (
        "import sys; from swarm_star.cli import main; "
        "code = main(['--space', sys.argv[1], *sys.argv[2:]]); "
        "print(code, sorted({m.split('.')[0] for m in sys.modules if m.startswith(('pydantic', 'annotated_types'))}), "
        "file=sys.stderr)"
    )

    def loaded(*argv: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path), *argv], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert proc.stdout.strip(), proc.stderr
        return proc.stderr.strip().splitlines()[-1]

    for argv in (["tree", "s1"], ["tree", "s1", "--depth", "0"], ["questions", "s1"], ["list"]):
        assert loaded(*argv) == "0 []", argv
    assert loaded("tree", "s1", "--json") == "0 ['annotated_types', 'pydantic', 'pydantic_core']"  # it dumps the models
    store = StoreLocator(tmp_path).open("s1")
    try:
        _set_node(store, "0.1", 5, "7")  # text for a time: read the general way (lax: the model converts it)
    finally:
        store.close()
    assert loaded("tree", "s1") == "0 ['annotated_types', 'pydantic', 'pydantic_core']"


def test_subtree_spend_skips_only_sums_that_change_nothing() -> None:
    """``tree``'s roll-up skips rounding when it adds a zero cost (most nodes): every total is
    exactly what rounding at every addition gives, on random costs with many zeros."""
    import random

    from swarm_star.render.text import _subtree_spend
    from swarm_star.state.tree_view import CheckView, TreeView, UsageView

    rng = random.Random(25)
    nodes: dict[str, NodeView] = {}
    ids = ["0"]
    for i in range(400):
        ids.append(f"{rng.choice(ids)}.{i}")
    children: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for node_id in ids[1:]:
        children[node_id.rpartition(".")[0]].append(node_id)
    for node_id in ids:
        cost = rng.choice([0.0, 0.0, 0.0, rng.random() / 7, 1e-11 * rng.random(), 0.1, 0.2])
        usage = UsageView(calls=rng.randrange(3), cost=cost)
        nodes[node_id] = NodeView(
            node_id, NodeRole.ACTION, "a.b", "d", NodeStatus.PENDING, 1.0, 1.0, None, {}, children[node_id],
            0, 0, usage, [], None, None, [], [CheckView("first", None, True, [])],
        )  # fmt: skip
    tree = TreeView(SwarmStatus.RUNNING, 1, None, UsageView(), RunClock(), nodes)

    def rounded_every_time(node_id: str) -> tuple[float, int]:
        node = nodes[node_id]
        cost, calls = round(node.usage.cost, 10), node.usage.calls
        for child in node.children:
            child_cost, child_calls = rounded_every_time(child)
            cost, calls = round(cost + child_cost, 10), calls + child_calls
        return cost, calls

    totals = _subtree_spend(tree, "0")
    assert totals == {node_id: rounded_every_time(node_id) for node_id in ids}
    assert sum(1 for node in nodes.values() if node.usage.cost) > 50


def test_a_question_of_a_node_that_no_longer_waits_is_not_pending_either_way(tmp_path: Path) -> None:
    """One rule (``models.basics.is_pending``): a node that asked and then failed holds an open
    question that ``answer`` refuses, so ``questions`` must not list it (the plain path listed it)."""
    w = TreeWriter(tmp_path, "s1")
    w.node("0", None, NodeRole.ROOT, "root")
    w.node("0.0", "0", NodeRole.ACTION, "asks, then fails")
    w.node("0.1", "0", NodeRole.ACTION, "asks")
    w.emit(AskUser(node_id="0.0", question_id="0.0-q0", question="which one?"), ["0.0"])
    w.emit(AskUser(node_id="0.1", question_id="0.1-q0", question="still waiting?"), ["0.1"])
    w.emit(Fail(node_id="0.0", error="gave up"), ["0.0"])
    w.commit()
    w.close()
    with Swarm.open("s1", space=tmp_path) as swarm:
        general = [(n.id, q.id) for n, q in swarm.questions()]
        store = swarm.store
        view = read_view(store)
        assert view is not None
        plain = [(n.id, q.id) for n, q in view.pending_questions()]
    assert general == plain == [("0.1", "0.1-q0")]
    assert "0.0-q0" not in _cli("--space", str(tmp_path), "questions", "s1")


def test_integral_floats_as_cosmos_returns_them_still_take_the_plain_path(tmp_path: Path) -> None:
    """Cosmos DB returns a stored ``0.0`` as ``0``: a free run's cost and a whole-second time must
    not send the read the slow way (it did: every swarm of a local model on Cosmos)."""
    _grow(tmp_path)
    store = StoreLocator(tmp_path).open("s1")
    try:
        meta = store.get(META_KEY)
        meta["usage"] = {**(meta.get("usage") or {}), "cost": 0}
        store.put(META_KEY, meta)
        key = NODE_PREFIX + "0.0"
        raw = store.get(key)
        raw[5] = int(raw[5])  # created_at, a whole second as Cosmos DB returns it
        store.put(key, raw)
        view = read_view(store)
    finally:
        store.close()
    assert view is not None, "read the slow way"
    assert view.usage.cost == 0.0 and type(view.usage.cost) is float
    assert type(view.nodes["0.0"].created_at) is float
    with Swarm.open("s1", space=tmp_path) as swarm:
        general = io.StringIO()
        _draw("swarm s1", swarm.read_tree(), None, general)
    assert _cli("--space", str(tmp_path), "tree", "s1") == general.getvalue()


def test_the_models_package_still_gives_its_submodules_as_attributes() -> None:
    code = "import swarm_star.models as m; print(m.operations.Spawn.__name__, m.stats.__name__); m.nothing"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.split() == ["Spawn", "swarm_star.models.stats"]
    assert "AttributeError: module 'swarm_star.models' has no attribute 'nothing'" in done.stderr
