"""Issue 25: schema-3 frames (positional operations, shared reports, a plain attempt as its latency),
lean node and memory records, and schema-2 frames written before still read exactly as they were."""

from __future__ import annotations

import json
import typing

import pytest

from swarm_star.errors import StoreCorrupt
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
from swarm_star.models.operations import Operation
from swarm_star.state.frame_codec import FRAME_SCHEMA, OP_FIELDS, TEXT_PREFIX, FrameCodec, memory_record, node_record
from swarm_star.state.reader import MEMORY_PREFIX, NODE_PREFIX, SwarmReader, frame_key
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


def test_schema_3_round_trip_is_exact_and_shares_a_report_once(tmp_path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        codec = FrameCodec(store)
        rows: list[Put] = []
        stored: list[dict[str, typing.Any]] = []
        for event in _events():
            frame, texts = codec.encode(event.model_dump(mode="json"))
            stored.append(frame)
            rows += [Put(frame_key(event.frame), frame), *texts]
        store.commit(rows)
        assert all(f["schema_version"] == FRAME_SCHEMA and isinstance(f["op"], list) for f in stored)
        assert "nodes" not in stored[0]  # a spawn touches its node and its parent unless it says otherwise
        assert stored[1]["op"][1 + OP_FIELDS["llm_call"].index("attempt_log")] == [0.24]  # the plain attempt
        assert isinstance(stored[3]["op"][1 + OP_FIELDS["llm_call"].index("attempt_log")][0], list)  # another mode
        reports = [t for t in rows if t.key.startswith(TEXT_PREFIX) and t.value == LONG_REPORT]
        assert len(reports) == 1  # in the terminate frame and the save_memory frame, stored once
        reader = SwarmReader(store)  # a fresh codec: the text comes from the store
        for event in _events():
            decoded = reader.codec.decode(store.get(frame_key(event.frame)))
            assert {**decoded, "schema_version": 1} == event.model_dump(mode="json")
            assert reader.frame(event.frame) == event.model_copy(update={"schema_version": FRAME_SCHEMA})
    finally:
        store.close()


def test_fields_a_later_release_adds_ride_along_and_are_read_back(tmp_path) -> None:
    codec = FrameCodec(None)
    dumped = _events()[4].model_dump(mode="json")
    dumped["op"]["mood"] = "cheerful"  # a field this release does not know
    frame, _ = codec.encode(dumped)
    assert frame["op"][-1] == {"mood": "cheerful"}
    assert codec.decode(frame)["op"]["mood"] == "cheerful"


def test_an_unknown_operation_in_a_stored_frame_is_one_line_naming_it(tmp_path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        store.put(frame_key(0), {"schema_version": FRAME_SCHEMA, "frame": 0, "time": 1.0, "op": ["teleport", "0"]})
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


def test_node_and_memory_records_leave_defaults_out_and_read_back_whole(tmp_path) -> None:
    node = SwarmNode(
        id="0.1",
        parent_id="0",
        role="action",
        action_id="core.answer",
        directive="sort",
        created_at=1.5,
        updated_at=2.5,
    )
    record = node_record(node)
    assert record["schema_version"] == 1 and "report" not in record and "usage" not in record
    assert len(json.dumps(record)) < 0.6 * len(node.model_dump_json())
    entry = SaveMemory(node_id="0.1", entry_id="results.0.1.report", folder="results", title="0.1", content="sorted")
    store = SqliteStore(tmp_path / "s.db")
    try:
        store.commit([Put(NODE_PREFIX + node.id, record), Put(MEMORY_PREFIX + entry.entry_id, memory_record(entry))])
        reader = SwarmReader(store)
        assert reader.node("0.1") == node
        assert reader.nodes() == {"0.1": node}
    finally:
        store.close()
