"""Writes ``tests/data/store_v1``: a small finished swarm in the storage format of 2026-11-21.

The format test (tests/unit/cli/test_lean.py) opens this store with today's code, so a later
change to how frames are stored cannot silently make old swarms unreadable. It was written
once, before the schema-2 frames; re-running it with newer code would write the new format,
so don't re-run it. Kept to show how the fixture was made.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from swarm_star.api import RunOptions, Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import ModelSettings
from swarm_star.testing import LocalOpenAIServer
from swarm_star.testing.scripted import ScriptedModel

HERE = Path(__file__).parent / "store_v1"


async def main() -> None:
    shutil.rmtree(HERE, ignore_errors=True)
    script = ScriptedModel(plans={"tidy": ["sort the books", "dust the shelves", "water the plants"]})
    with LocalOpenAIServer(script) as server:
        swarm = Swarm.create("tidy the study room", space=HERE, swarm_id="v1swarm")
        llm = LLMClient(Endpoint(server.base_url, "none", None), ModelSettings(base_url=server.base_url))
        outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.02))
        await llm.aclose()
        print(outcome.status, len(swarm.tree().nodes), "nodes", swarm.tree().frame_count, "frames")
        swarm.close()


if __name__ == "__main__":
    asyncio.run(main())
