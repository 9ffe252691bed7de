"""The ordered index of a swarm's memory (``SwarmState.memory_between`` / ``memory_in``).

A briefing takes a window of memory by position; the index must give exactly what walking
``state.memory`` in order gives, also when an id is saved again (it keeps its place, as in a
dict) and when ``memory`` was filled without the index (a state loaded from stored records).
"""

from __future__ import annotations

from swarm_star.models import SaveMemory, SwarmEvent, SwarmRecord, SwarmSettings
from swarm_star.state.projection import SwarmState


def _entry(entry_id: str, folder: str, title: str = "t") -> SaveMemory:
    return SaveMemory(node_id="0", entry_id=entry_id, folder=folder, title=title, content="c")


def _state(entries: list[SaveMemory]) -> SwarmState:
    state = SwarmState.new(SwarmRecord(swarm_id="s", directive="d", created_at=0.0, settings=SwarmSettings()))
    for entry in entries:
        state.apply(SwarmEvent(frame=state.frame_count, time=1.0, op=entry))
    return state


def _walk(state: SwarmState, start: int, stop: int) -> list[SaveMemory]:
    return list(state.memory.values())[start:stop]


def test_windows_and_folders_match_a_walk_of_memory_in_order() -> None:
    folders = ["context", "results", "context", "layout", "results", "context"]
    state = _state([_entry(f"e{i}", f) for i, f in enumerate(folders)])
    for start in range(7):
        for stop in range(start, 8):
            assert state.memory_between(start, stop) == _walk(state, start, stop)
    for stop in range(8):
        assert state.memory_in("context", stop) == [e for e in _walk(state, 0, stop) if e.folder == "context"]
    assert state.memory_in("layout") == [state.memory["e3"]]
    assert state.memory_in("nowhere") == []


def test_an_id_saved_again_keeps_its_place_with_its_new_content() -> None:
    state = _state([_entry("a", "results"), _entry("b", "results"), _entry("a", "results", title="again")])
    assert [e.title for e in state.memory_between(0, 5)] == ["again", "t"]
    assert [e.title for e in state.memory_in("results")] == ["again", "t"]
    moved = _state([_entry("a", "results"), _entry("b", "context"), _entry("a", "context", title="moved")])
    assert [e.title for e in moved.memory_in("context")] == ["moved", "t"]
    assert moved.memory_in("results") == []


def test_memory_filled_directly_is_indexed_when_read() -> None:
    state = _state([_entry("a", "context")])
    late = _entry("b", "results")
    state.memory[late.entry_id] = late  # as a loader that predates the index would
    assert state.memory_between(0, 5) == [state.memory["a"], late]
    assert state.memory_in("results") == [late]
