"""Issue 20: the kit is the actions' one door; the action ids the code names exist."""

from __future__ import annotations

import swarm_star.kit as kit
from swarm_star.api import load_spaces
from swarm_star.spaces import ids


def test_every_action_id_the_code_names_is_an_installed_leaf() -> None:
    actions, _ = load_spaces()
    named = [getattr(ids, name) for name in ids.__all__]
    assert named and [actions.leaf(action_id).id for action_id in named] == named


def test_the_kit_has_everything_its_all_lists_and_the_installed_trees_load_through_it() -> None:
    assert [name for name in kit.__all__ if not hasattr(kit, name)] == []
    actions, utils = load_spaces()  # each leaf imports only the kit (test_import_rules checks that)
    assert len(actions.leaves()) > 10 and len(utils.leaves()) >= 4
