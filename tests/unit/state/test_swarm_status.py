"""Issue 20: a swarm's status is a :class:`SwarmStatus`, stored as its plain string and read back as the enum;
a stored status that is none of them is one clear StoreCorrupt line, not a string carried along."""

from __future__ import annotations

import pytest

from swarm_star.api import Swarm
from swarm_star.errors import StoreCorrupt
from swarm_star.models import SwarmStatus
from swarm_star.state.history import META_KEY


def test_the_status_is_stored_as_text_and_read_back_as_the_enum(tmp_path):
    swarm = Swarm.create("tidy the study room", space=tmp_path)
    stored = swarm.store.get(META_KEY)["status"]  # the root's spawn started it
    assert type(stored) is str and stored == "running"
    assert swarm.log.load().status is SwarmStatus.RUNNING
    assert swarm.log.replay().status is SwarmStatus.RUNNING


def test_a_stored_status_no_release_writes_is_one_clear_line(tmp_path):
    swarm = Swarm.create("tidy the study room", space=tmp_path)
    meta = swarm.store.get(META_KEY)
    swarm.store.put(META_KEY, {**meta, "status": "exploded"})
    with pytest.raises(StoreCorrupt) as caught:
        swarm.log.load()
    message = str(caught.value)
    assert "'exploded'" in message and "finished" in message and "\n" not in message
