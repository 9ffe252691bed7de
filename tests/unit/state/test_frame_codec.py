"""Issue 25: schema-4 frames (``[4, time, op]``: positional operations, shared reports, a plain
attempt as its latency), positional node and memory records (schema 2), and schema-2 and schema-3
frames and schema-1 records written before still read exactly as they were."""

from __future__ import annotations

import json
import typing

import pytest

from swarm_star.errors import StoreCorrupt, StoreError
from swarm_star.models import (
    HttpAttempt,
    LLMCall,
    SaveMemory,
    Spawn,
    SwarmEvent,
    SwarmNode,
    Terminate,
    Usage,
)
from swarm_star.models.node import Question
from swarm_star.models.operations import Operation
from swarm_star.state.frame_codec import (
    FRAME_SCHEMA,
    NODE_FIELDS,
    NODE_SCHEMA,
    OP_FIELDS,
    TEXT_PREFIX,
    FrameCodec,
    memory_record,
    node_record,
)
from swarm_star.state.layout import MEMORY_PREFIX, META_KEY, NODE_PREFIX
from swarm_star.state.reader import SwarmReader, frame_key
from swarm_star.store.base import Put
from swarm_star.store.sqlite import SqliteStore

LONG_REPORT = "The letters are sorted by sender and date; " * 4


def _call(**changes: typing.Any) -> LLMCall:
    fields: dict[str, typing.Any] = {
        "node_id": "0.1",
        "call_key": "0:0",
        "model": "gpt-4o-mini",
        "purpose": "route",
        "request": [{"role": "system", "content": "You route. " * 20}, {"role": "user", "content": "sort"}],
        "response": '{"choice": "core"}',
        "usage": Usage(calls=1, prompt_tokens=12, completion_tokens=4),
        "latency_s": 0.25,
        "mode": "json_schema",
        "max_tokens": 256,
        "finish_reason": "stop",
        "attempt_log": [
            HttpAttempt(status=200, mode="json_schema", latency_s=0.24, prompt_tokens=12, completion_tokens=4)
        ],
        "digest": "ab" * 16,
    }
    return LLMCall(**(fields | changes))


def _events() -> list[SwarmEvent]:
    ops: list[tuple[Operation, list[str]]] = [
        (Spawn(node_id="0.1", parent_id="0", role="action", action_id="core.answer", directive="sort"), ["0.1", "0"]),
        (_call(), ["0.1"]),
        (
            _call(
                call_key="0:1", error="timed out", attempt_log=[HttpAttempt(error="timeout"), HttpAttempt(status=200)]
            ),
            ["0.1"],
        ),
        (_call(call_key="0:2", attempt_log=[HttpAttempt(status=200, mode="json_object", latency_s=0.2)]), ["0.1"]),
        (Terminate(node_id="0.1", report=LONG_REPORT), ["0.1", "0"]),
        (
            SaveMemory(
                node_id="0.1", entry_id="results.0.1.report", folder="results", title="0.1", content=LONG_REPORT
            ),
            ["0.1"],
        ),
    ]
    return [SwarmEvent(frame=i, time=1000.5 + i, op=op, nodes=nodes) for i, (op, nodes) in enumerate(ops)]


def test_every_kind_of_operation_has_its_fields_pinned() -> None:
    """Each operation kind is stored positionally with every field its model has (none left to the extras)."""
    models = typing.get_args(typing.get_args(Operation)[0])
    for model in models:
        kind = model.model_fields["kind"].default
        assert set(OP_FIELDS[kind]) == set(model.model_fields) - {"kind"}, kind


def test_schema_4_round_trip_is_exact_and_shares_a_report_once(tmp_path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        codec = FrameCodec(store)
        rows: list[Put] = []
        stored: list[list[typing.Any]] = []
        for event in _events():
            frame, texts = codec.encode(event.model_dump(mode="json"))
            stored.append(frame)
            rows += [Put(frame_key(event.frame), frame), *texts]
        store.commit(rows)
        assert all(f[0] == FRAME_SCHEMA and isinstance(f[2], list) for f in stored)  # [4, time, op]
        assert len(stored[0]) == 3  # a spawn touches its node and its parent unless it says otherwise
        assert stored[4][3] == ["0.1", "0"]  # a terminate that names its parent too says so
        assert stored[1][2][1 + OP_FIELDS["llm_call"].index("attempt_log")] == [0.24]  # the plain attempt
        assert isinstance(stored[3][2][1 + OP_FIELDS["llm_call"].index("attempt_log")][0], list)  # another mode
        reports = [t for t in rows if t.key.startswith(TEXT_PREFIX) and t.value == LONG_REPORT]
        assert len(reports) == 1  # in the terminate frame and the save_memory frame, stored once
        reader = SwarmReader(store)  # a fresh codec: the text comes from the store
        assert [e.frame for e in reader.frames()] == [e.frame for e in _events()]
        assert [f["frame"] for f in reader.stored_frames()] == [e.frame for e in _events()]
        for event in _events():
            decoded = reader.codec.decode(store.get(frame_key(event.frame)), event.frame)
            assert {**decoded, "schema_version": 1} == event.model_dump(mode="json")
            assert reader.frame(event.frame) == event.model_copy(update={"schema_version": FRAME_SCHEMA})
    finally:
        store.close()


def test_fields_a_later_release_adds_ride_along_and_are_read_back(tmp_path) -> None:
    codec = FrameCodec(None)
    dumped = _events()[4].model_dump(mode="json")
    dumped["op"]["mood"] = "cheerful"  # a field this release does not know
    frame, _ = codec.encode(dumped)
    assert frame[2][-1] == {"mood": "cheerful"}
    assert codec.decode(frame, 4)["op"]["mood"] == "cheerful"


def test_an_unknown_operation_in_a_stored_frame_is_one_line_naming_it(tmp_path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        store.put(frame_key(0), [FRAME_SCHEMA, 1.0, ["teleport", "0"]])
        with pytest.raises(StoreCorrupt) as caught:
            SwarmReader(store).frame(0)
        assert "frame 0" in str(caught.value) and "'teleport'" in str(caught.value)
    finally:
        store.close()


def test_schema_2_frames_written_before_read_as_they_were(tmp_path) -> None:
    """Frames as the schema-2 writer stored them (copied from a store it wrote) still decode exactly."""
    system = "You route a directive to one option of a menu. " * 3
    digest = "269b7fe74be0f1247efb7be0cfcef44e"
    call = {
        "schema_version": 2,
        "frame": 6,
        "time": 1796529597.2575428,
        "op": {
            "kind": "llm_call",
            "node_id": "0.0",
            "call_key": "0:0",
            "model": "gpt-4o-mini",
            "purpose": "plan",
            "request": [{"role": "system", "parts": [{"ref": digest}]}, {"role": "user", "content": "Directive: x"}],
            "response": '{"subdirectives": ["a"]}',
            "usage": [1, 10, 5, 0.0, 0],
            "attempts": 1,
            "latency_s": 0.1482,
            "mode": "json_schema",
            "max_tokens": 1024,
            "finish_reason": "stop",
            "attempt_log": [[200, None, "json_schema", 0.1475, 10, 5]],
            "digest": "e55785818750c21d2eb10e7c22abba11",
        },
    }
    spawn = {
        "schema_version": 2,
        "frame": 7,
        "time": 1796529597.3,
        "op": {
            "kind": "spawn",
            "node_id": "0.0.1",
            "parent_id": "0.0",
            "role": "action",
            "action_id": "core.answer",
            "directive": "a",
            "context": {},
        },
        "nodes": ["0.0.1", "0.0"],
    }
    run = {
        "schema_version": 2,
        "frame": 8,
        "time": 1796529597.4,
        "op": {"kind": "run_action", "node_id": "0.0.1", "activation": 0},
    }
    store = SqliteStore(tmp_path / "s.db")
    try:
        store.commit([Put(TEXT_PREFIX + digest, system), *(Put(frame_key(f["frame"]), f) for f in (call, spawn, run))])
        reader = SwarmReader(store)
        got = reader.frame(6)
        assert got is not None and got.schema_version == 2 and got.op.kind == "llm_call"
        assert got.op.request[0] == {"role": "system", "content": system}
        assert got.op.attempt_log == [
            HttpAttempt(status=200, mode="json_schema", latency_s=0.1475, prompt_tokens=10, completion_tokens=5)
        ]
        assert got.op.error is None and got.op.usage == Usage(calls=1, prompt_tokens=10, completion_tokens=5)
        assert [e.frame for e in reader.frames(6)] == [6, 7, 8]
        assert reader.frame(7).nodes == ["0.0.1", "0.0"] and reader.frame(8).nodes == ["0.0.1"]
    finally:
        store.close()


def test_a_frame_of_a_later_schema_is_refused_with_upgrade_and_a_bad_one_is_one_line(tmp_path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        store.commit([Put(frame_key(0), [FRAME_SCHEMA + 1, 1.0, {"new": "layout"}]), Put(frame_key(1), ["x"])])
        with pytest.raises(StoreError) as caught:
            SwarmReader(store).frame(0)
        assert "newer Swarm Star" in str(caught.value) and "upgrade" in str(caught.value)
        with pytest.raises(StoreCorrupt) as bad:
            SwarmReader(store).frame(1)
        assert "frame 1" in str(bad.value)
    finally:
        store.close()


def test_schema_3_frames_written_before_read_as_they_were(tmp_path) -> None:
    """Frames as the schema-3 writer stored them (copied from a store it wrote) still decode
    exactly, next to schema-4 frames appended after them (a resumed old swarm)."""
    spawn = {
        "schema_version": 3,
        "frame": 7,
        "time": 1796539759.691,
        "op": ["spawn", "0.0.0", "0.0", "router", "routing.route_action", "area2 0", {"round": 1}],
    }
    terminate = {
        "schema_version": 3,
        "frame": 8,
        "time": 1796539759.764,
        "op": ["terminate", "0.0.0", "Answer to: area2 0", []],
        "nodes": ["0.0.0", "0.0"],
    }
    store = SqliteStore(tmp_path / "s.db")
    try:
        codec = FrameCodec(store)
        later, _ = codec.encode(
            SwarmEvent(
                frame=9,
                time=1796539760.0,
                op=Spawn(node_id="0.1", parent_id="0", role="action", action_id="core.answer", directive="b"),
                nodes=["0.1", "0"],
            ).model_dump(mode="json")
        )
        store.commit([Put(frame_key(7), spawn), Put(frame_key(8), terminate), Put(frame_key(9), later)])
        reader = SwarmReader(store)
        got = list(reader.frames(7))
        assert [(e.schema_version, e.frame) for e in got] == [(3, 7), (3, 8), (FRAME_SCHEMA, 9)]
        assert got[0].op == Spawn(
            node_id="0.0.0",
            parent_id="0.0",
            role="router",
            action_id="routing.route_action",
            directive="area2 0",
            context={"round": 1},
        )
        assert got[0].nodes == ["0.0.0", "0.0"] and got[1].nodes == ["0.0.0", "0.0"] and got[2].nodes == ["0.1", "0"]
        assert got[1].op == Terminate(node_id="0.0.0", report="Answer to: area2 0")
        assert [f["frame"] for f in reader.frame_block(7)] == [7, 8, 9]
    finally:
        store.close()


def _nodes() -> list[SwarmNode]:
    base: dict[str, typing.Any] = {"role": "action", "action_id": "core.answer", "created_at": 1.5, "updated_at": 2.5}
    return [
        SwarmNode(
            id="0",
            role="root",
            action_id="core.root",
            directive="sort the mail",
            children=["0.0"],
            **{k: v for k, v in base.items() if k not in ("role", "action_id")},
        ),
        SwarmNode(id="0.1", parent_id="0", depth=1, directive="sort", **base),
        SwarmNode(
            id="0.0",
            parent_id="0",
            depth=1,
            directive="sort " * 30,  # long: shared text
            report=LONG_REPORT,
            status="terminated",
            children=["0.0.0", "0.0.1", "0.0.2"],
            usage=Usage(calls=2, prompt_tokens=20, completion_tokens=10, cached_tokens=4),
            calls=["0:0", "1:0"],
            activations=2,
            memory_mark=3,
            context={"round": 1},
            **base,
        ),
        SwarmNode(id="0.2", parent_id="0", depth=1, directive="x", children=["0.2.1", "0.2.0"], error="e", **base),
        SwarmNode(
            id="7.3", parent_id=None, depth=5, directive="odd", questions=[Question(id="q1", text="which?")], **base
        ),
        SwarmNode(id="0.3", parent_id="0", depth=1, directive="u", usage=Usage(cost=0.5), **base),
    ]


def test_node_records_are_positional_and_read_back_whole(tmp_path) -> None:
    """Schema-2 node records: the id from the key, parent and depth from the id unless they
    differ, numbered children as a count, long text shared, usage as a list; every node reads
    back equal, whatever it holds."""
    store = SqliteStore(tmp_path / "s.db")
    try:
        codec = FrameCodec(store)
        texts: list[Put] = []
        records = {node.id: node_record(node, codec, texts) for node in _nodes()}
        assert all(r[0] == NODE_SCHEMA for r in records.values())
        leaf = records["0.1"]
        assert leaf == [
            NODE_SCHEMA,
            "action",
            "core.answer",
            "sort",
            None,
            1.5,
            2.5,
        ]  # defaults and the id's say the rest
        mid = records["0.0"]
        assert mid[1 + NODE_FIELDS.index("children")] == 3
        assert mid[1 + NODE_FIELDS.index("report")] == {"ref": codec.share(LONG_REPORT, [])}
        assert mid[1 + NODE_FIELDS.index("usage")] == [2, 20, 10, 0.0, 0, 4]
        assert records["0.2"][1 + NODE_FIELDS.index("children")] == ["0.2.1", "0.2.0"]  # not numbered in order
        assert records["7.3"][-1] == {"parent_id": None, "depth": 5}
        assert {t.value for t in texts} == {"sort " * 30, LONG_REPORT}
        store.commit([*(Put(NODE_PREFIX + i, r) for i, r in records.items()), *texts])
        reader = SwarmReader(store)  # a fresh codec: the text comes from the store
        for node in _nodes():
            assert reader.node(node.id) == node, node.id
        assert reader.nodes() == {n.id: n for n in _nodes()}
        old = _nodes()[2]
        assert len(json.dumps(records["0.0"])) < 0.5 * len(old.model_dump_json(exclude_defaults=True))
    finally:
        store.close()


def test_every_node_field_is_stored(tmp_path) -> None:
    """Every field of a node is positional, or said by the id (a new field would ride in the
    trailing dict: this test says to pin it)."""
    assert set(NODE_FIELDS) == set(SwarmNode.model_fields) - {"schema_version", "id", "parent_id", "depth"}


def test_records_written_before_and_after_read_alike_and_later_ones_are_refused(tmp_path) -> None:
    """Schema-1 node and memory records (the dicts written before) still read; a node record
    or meta of a later schema is refused with "upgrade"."""
    node = _nodes()[2]
    entry = SaveMemory(node_id="0.1", entry_id="results.0.1.report", folder="results", title="0.1", content=LONG_REPORT)
    old_node = {"schema_version": 1, **node.model_dump(mode="json", exclude_defaults=True)}
    old_entry = {"schema_version": 1, "id": entry.entry_id, "folder": "results", "name": "0.1", "content": LONG_REPORT}
    store = SqliteStore(tmp_path / "s.db")
    try:
        codec = FrameCodec(store)
        texts: list[Put] = []
        new_entry = memory_record(entry.model_copy(update={"entry_id": "results.0.2.report"}), codec, texts)
        assert new_entry == [2, "results", "0.1", {"ref": codec.share(LONG_REPORT, [])}]
        store.commit(
            [
                Put(NODE_PREFIX + "0.0", old_node),
                Put(MEMORY_PREFIX + entry.entry_id, old_entry),
                Put(MEMORY_PREFIX + "results.0.2.report", new_entry),
                *texts,
            ]
        )
        reader = SwarmReader(store)
        assert reader.node("0.0") == node
        memory = {
            k: (v[1], v[3]) if isinstance(v, list) else (v["folder"], v["content"])
            for k, v in store.scan(MEMORY_PREFIX)
        }
        assert len(memory) == 2
        store.put(NODE_PREFIX + "0.5", [NODE_SCHEMA + 1, "future"])
        with pytest.raises(StoreError) as caught:
            reader.node("0.5")
        assert "upgrade" in str(caught.value)
        store.put(META_KEY, {"schema_version": 3, "frame_count": 1})
        with pytest.raises(StoreError) as meta:
            reader.read_meta()
        assert "upgrade" in str(meta.value)
    finally:
        store.close()
