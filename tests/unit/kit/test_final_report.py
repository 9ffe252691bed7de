"""The root's final report: what each part wrote, and what that costs on a large tree.

The tree is written frame by frame into a real store (``TreeWriter``); the memory
is a plain mapping of :class:`SaveMemory` entries, as the engine's state keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from swarm_star.kit import compose_final_report
from swarm_star.models import NodeRole, SaveMemory, Terminate
from tests.helpers.big_tree import TreeWriter


def _tree(space: Path, parts: int) -> TreeWriter:
    """A root whose manager planned ``parts`` parts, each answered by one action node."""
    w = TreeWriter(space, "written", directive="write the files")
    w.node("0", None, NodeRole.ROOT, "write the files")
    w.node("0.0", "0", NodeRole.MANAGER, "write the files")
    for k in range(parts):
        w.node(f"0.0.{k}", "0.0", NodeRole.ROUTER, f"write file {k}")
        w.node(f"0.0.{k}.0", f"0.0.{k}", NodeRole.ACTION, f"write file {k}")
        w.emit(Terminate(node_id=f"0.0.{k}.0", report=f"file {k} written"), [f"0.0.{k}.0"])
        w.emit(Terminate(node_id=f"0.0.{k}", report=f"file {k} written"), [f"0.0.{k}"])
    return w


def _entry(node_id: str, n: int, artifacts: list[str]) -> SaveMemory:
    return SaveMemory(
        node_id=node_id,
        entry_id=f"results.{node_id}.{n}",
        folder="results",
        title="t",
        content="c",
        artifacts=artifacts,
    )


def test_each_part_lists_what_its_own_subtree_wrote_in_saved_order_once(tmp_path: Path) -> None:
    w = _tree(tmp_path, 12)
    entries = [
        _entry("0.0.1.0", 0, ["b.py", "a.py"]),
        _entry("0.0.10.0", 0, ["ten.py"]),  # part 10's, not part 1's: "0.0.10" starts with "0.0.1"
        _entry("0.0.1", 0, ["own.py"]),  # the part's own entry: not below it
        _entry("0.0.1.0", 1, ["a.py", "c.py"]),  # a.py again: listed once, where it first came
        _entry("0.0.2.0", 0, []),
    ]
    memory = {e.entry_id: e for e in entries}
    report = compose_final_report(w.state.nodes, "0.0", "All written.", memory)
    written = [line for line in report.splitlines() if line.startswith("Written:")]
    assert written == ["Written: b.py, a.py, c.py", "Written: ten.py"]
    part_one = report.split("**2. write file 1**")[1].split("**3.")[0]
    assert "Written: b.py, a.py, c.py" in part_one
    part_ten = report.split("**11. write file 10**")[1].split("**12.")[0]
    assert "Written: ten.py" in part_ten


class _CountedMemory(Mapping[str, SaveMemory]):
    """A memory mapping that counts how many times its entries are read."""

    def __init__(self, entries: dict[str, SaveMemory]) -> None:
        self._entries = entries
        self.read = 0

    def __getitem__(self, key: str) -> SaveMemory:
        self.read += 1
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        for key in self._entries:
            self.read += 1
            yield key

    def __len__(self) -> int:
        return len(self._entries)


def test_the_report_reads_memory_once_not_once_per_part(tmp_path: Path) -> None:
    """It scanned every entry for every part: quadratic, at ~10,000 nodes a tenth of the run's CPU."""
    parts = 40
    w = _tree(tmp_path, parts)
    memory = _CountedMemory({e.entry_id: e for e in (_entry(f"0.0.{k}.0", 0, [f"f{k}.py"]) for k in range(parts))})
    report = compose_final_report(w.state.nodes, "0.0", "All written.", memory)
    assert report.count("Written: f") == parts
    assert memory.read <= 2 * parts  # one pass over the entries (their keys, then their values)
