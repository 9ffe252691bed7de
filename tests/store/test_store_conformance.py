"""One conformance suite, run against SQLite and the Cosmos-compatible server alike."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from swarm_star.errors import ConflictError, StoreError
from swarm_star.store import ABSENT, Delete, KVStore, Put
from tests.conftest import make_store


def test_round_trip_of_json_values(store: KVStore) -> None:
    values = {
        "t_dict": {"a": [1, 2.5, True, None], "b": {"c": "d"}},
        "t_list": [1, "two", {"three": 3}],
        "t_str": "plain",
        "t_int": 42,
        "t_float": 0.125,
        "t_bool": False,
    }
    for key, value in values.items():
        store.put(key, value)
    for key, value in values.items():
        assert store.get(key) == value
    store.put("t_int", 43)
    assert store.get("t_int") == 43


def test_missing_keys(store: KVStore) -> None:
    assert store.get("nope_1") is None
    assert store.get("nope_1", "dflt") == "dflt"
    assert store.get_versioned("nope_1") is None
    store.delete("nope_1")  # deleting an absent key is not an error
    assert store.keys("nope_") == []


def test_prefix_scan_is_ordered_and_scoped(store: KVStore) -> None:
    store.commit([Put(f"swarm_history_{i:09d}", {"i": i}) for i in (3, 1, 2, 10)])
    store.put("swarm_historyx_1", "not in range")
    store.put("swarm_state_meta", {"x": 1})
    got = list(store.scan("swarm_history_"))
    assert [k for k, _ in got] == [f"swarm_history_{i:09d}" for i in (1, 2, 3, 10)]
    assert [v["i"] for _, v in got] == [1, 2, 3, 10]
    tail = [v["i"] for _, v in store.scan("swarm_history_", start="swarm_history_000000003")]
    assert tail == [3, 10]


def test_delete_removes(store: KVStore) -> None:
    store.put("k_a", 1)
    store.put("k_b", 2)
    store.commit([Delete("k_a"), Put("k_c", 3)])
    assert store.keys("k_") == ["k_b", "k_c"]


def test_atomic_batch_applies_everything(store: KVStore) -> None:
    store.commit([Put(f"b_{i:02d}", i) for i in range(20)] + [Delete("b_00")])
    assert [v for _, v in store.scan("b_")] == list(range(1, 20))


def test_failure_mid_batch_leaves_nothing(store: KVStore) -> None:
    store.put("m_existing", "old")
    with pytest.raises(ConflictError):
        store.commit(
            [
                Put("m_first", 1),
                Delete("m_existing"),
                Put("m_existing", "new", if_version=ABSENT),  # fails: exists
                Put("m_last", 3),
            ]
        )
    assert store.get("m_first") is None
    assert store.get("m_last") is None
    assert store.get("m_existing") == "old"


def test_unserializable_value_is_rejected_before_writing(store: KVStore) -> None:
    with pytest.raises(StoreError, match="JSON"):
        store.commit([Put("u_1", 1), Put("u_2", {1, 2})])
    assert store.get("u_1") is None


def test_compare_and_set(store: KVStore) -> None:
    v1 = store.compare_and_set("c_counter", None, 1)
    with pytest.raises(ConflictError):
        store.compare_and_set("c_counter", None, 99)  # must-not-exist, but exists
    v2 = store.compare_and_set("c_counter", v1, 2)
    assert v2 != v1
    with pytest.raises(ConflictError):
        store.compare_and_set("c_counter", v1, 3)  # stale version
    assert store.get("c_counter") == 2
    assert store.get_versioned("c_counter") == (2, v2)


def test_conditional_delete(store: KVStore) -> None:
    store.put("d_x", "a")
    _, version = store.get_versioned("d_x")
    store.put("d_x", "b")
    with pytest.raises(ConflictError):
        store.commit([Delete("d_x", if_version=version)])
    assert store.get("d_x") == "b"


def test_large_values(store: KVStore) -> None:
    big = "x" * 400_000 + "é" * 50_000
    store.put("big_1", {"text": big})
    assert store.get("big_1")["text"] == big


def test_unicode_keys_and_values(store: KVStore) -> None:
    store.put("memory_space_ключ-記憶", {"текст": "日本語 ✓ 🐝"})
    assert store.get("memory_space_ключ-記憶") == {"текст": "日本語 ✓ 🐝"}
    assert store.keys("memory_space_") == ["memory_space_ключ-記憶"]


@pytest.mark.parametrize("key", ["", "a/b", "a?b", "a#b", "a\\b", "k" * 300])
def test_invalid_keys_are_rejected(store: KVStore, key: str) -> None:
    with pytest.raises(StoreError, match="invalid store key"):
        store.put(key, 1)


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
def test_concurrent_writers_lose_no_update(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Several independent store handles increment one counter with compare-and-set."""
    first = make_store(backend, tmp_path, request)
    if backend == "cosmos":
        from swarm_star.store.cosmos import CosmosStore

        container = request.getfixturevalue("cosmos_container")
        swarm = f"s-{uuid.uuid4().hex[:12]}"
        first = CosmosStore(container, user_id="test", swarm_id=swarm)
        handles = [CosmosStore(container, user_id="test", swarm_id=swarm) for _ in range(4)]
    else:
        handles = [make_store(backend, tmp_path, request) for _ in range(4)]
    first.put("c_n", 0)
    per_writer = 5 if backend == "cosmos" else 25
    conflicts = []

    def work(handle: KVStore) -> None:
        done = 0
        while done < per_writer:
            value, version = handle.get_versioned("c_n")  # type: ignore[misc]
            try:
                handle.compare_and_set("c_n", version, value + 1)
                done += 1
            except ConflictError:
                conflicts.append(1)

    threads = [threading.Thread(target=work, args=(h,)) for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert first.get("c_n") == per_writer * len(handles)
    for h in [first, *handles]:
        h.close()
