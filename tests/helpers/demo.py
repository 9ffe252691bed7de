"""The demo swarm run to its end through the API (its question answered): what several tests start from."""

from __future__ import annotations

from pathlib import Path

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli.demo import DEMO_ANSWER, DIRECTIVE
from swarm_star.models import ModelSettings, SwarmSettings


def finished_demo(space: Path, base_url: str, swarm_id: str = "demo") -> Swarm:
    """The demo's swarm against the scripted demo model at ``base_url``: it asks, is answered
    :data:`DEMO_ANSWER`, and finishes (a script committed to its workspace). The caller closes it."""
    settings = SwarmSettings(models=ModelSettings(base_url=base_url))
    swarm = Swarm.create(DIRECTIVE, space=space, swarm_id=swarm_id, settings=settings)
    assert swarm.run_sync(RunOptions(env={})).status == "questions"
    swarm.answer(swarm.questions()[0][1].id, DEMO_ANSWER)
    assert swarm.run_sync(RunOptions(env={})).status == "finished"
    return swarm
