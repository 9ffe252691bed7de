"""The spaces recorded in a swarm's store: seeded on create, migrated on resume, written once, read back."""

from __future__ import annotations

from pathlib import Path

from swarm_star.api import Swarm, load_spaces
from swarm_star.models import CodeSettings, SwarmSettings
from swarm_star.spaces.stored import adopt_spaces, space_digest
from swarm_star.store.base import Delete

SHOUT = """from swarm_star.spaces import LeafSpec
SPEC = LeafSpec(name="shout", description="Loud.")


async def run(ctx):
    return []
"""
SETTINGS = SwarmSettings(allow_exec=True, code=CodeSettings(create_actions=True))


def test_a_new_swarm_records_the_installed_trees_once(tmp_path: Path) -> None:
    swarm = Swarm.create("anything", space=tmp_path, settings=SETTINGS)
    actions, utils = load_spaces()
    for key, space in (("action_space_installed", actions), ("util_space_installed", utils)):
        stored = swarm.store.get(key)
        assert stored["sha256"] == space_digest(space) and len(stored["entries"]) == len(space.entries)
    # a run of the same install writes nothing again; the entries it routes through are the store's
    assert adopt_spaces(swarm.reader, actions, utils, SETTINGS, tmp_path / swarm.id) == []
    assert actions.leaf("core.answer").description == load_spaces()[0].leaf("core.answer").description


def test_a_swarm_from_before_is_migrated_and_its_own_actions_recorded(tmp_path: Path) -> None:
    swarm = Swarm.create("anything", space=tmp_path, settings=SETTINGS)
    swarm.store.commit([Delete("action_space_installed"), Delete("util_space_installed")])  # as before the change
    own = tmp_path / swarm.id / "actions"
    own.mkdir()
    (own / "shout.py").write_text(SHOUT)
    actions, utils = load_spaces()
    ops = adopt_spaces(swarm.reader, actions, utils, SETTINGS, tmp_path / swarm.id)
    assert sorted(op.key for op in ops) == ["action_space_installed", "action_space_own.shout", "util_space_installed"]
    assert actions.leaf("own.shout").description == "Loud."
    swarm.store.commit(ops)

    # the store's copy is what counts now: the file gone, it comes back from the store
    (own / "shout.py").unlink()
    actions, utils = load_spaces()
    assert adopt_spaces(swarm.reader, actions, utils, SETTINGS, tmp_path / swarm.id) == []
    assert (own / "shout.py").read_text() == SHOUT and "own.shout" in actions.entries

    # an upgraded install (another tree) is recorded again; a record whose code was altered is not run
    swarm.store.put("action_space_installed", {**swarm.store.get("action_space_installed"), "sha256": "old"})
    record = swarm.store.get("action_space_own.shout")
    swarm.store.put("action_space_own.shout", {**record, "code": SHOUT.replace("Loud", "Quiet")})
    actions, utils = load_spaces()
    ops = adopt_spaces(swarm.reader, actions, utils, SETTINGS, tmp_path / swarm.id)
    assert [op.key for op in ops] == ["action_space_installed"]
    assert "own.shout" not in actions.entries


def test_without_the_opt_in_no_own_action_is_grafted(tmp_path: Path) -> None:
    swarm = Swarm.create("anything", space=tmp_path)
    (tmp_path / swarm.id / "actions").mkdir()
    (tmp_path / swarm.id / "actions" / "shout.py").write_text(SHOUT)
    actions, utils = load_spaces()
    assert adopt_spaces(swarm.reader, actions, utils, SwarmSettings(), tmp_path / swarm.id) == []
    assert "own" not in actions.entries
