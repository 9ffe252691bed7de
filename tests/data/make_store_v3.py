"""Writes ``tests/data/store_v3``: a swarm stopped at its call limit, in the storage format of
2026-12-06 before issue 25's schema 4 (schema-3 frames, dict node records, one ``kv`` table).

The format test (tests/unit/state/test_store_v3.py) opens it with today's code, resumes it and
reads it, so a later change to how frames, records or tables are stored cannot silently make
such swarms unreadable. It was written once, by the code at eec69a1
(``PYTHONPATH=<git archive eec69a1> python tests/data/make_store_v3.py``); re-running it with
newer code would write the new format, so don't re-run it. Kept to show how the fixture was made.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from swarm_star.api import RunOptions, Swarm
from swarm_star.llm import Endpoint, LLMClient
from swarm_star.models import Limits, ModelSettings, SwarmSettings
from swarm_star.testing import LocalOpenAIServer
from swarm_star.testing.scripted import ScriptedModel

HERE = Path(__file__).parent / "store_v3"
PLAN = ["sort the books", "dust the shelves", "water the plants"]


async def main() -> None:
    shutil.rmtree(HERE, ignore_errors=True)
    script = ScriptedModel(plans={"tidy": PLAN})
    with LocalOpenAIServer(script) as server:
        settings = SwarmSettings(limits=Limits(max_calls=4))
        swarm = Swarm.create("tidy the study room", space=HERE, swarm_id="v3swarm", settings=settings)
        llm = LLMClient(Endpoint(server.base_url, "none", None), ModelSettings(base_url=server.base_url))
        outcome = await swarm.run(RunOptions(llm=llm, poll_interval=0.02))
        await llm.aclose()
        print(outcome.status, outcome, len(swarm.tree().nodes), "nodes", swarm.tree().frame_count, "frames")
        swarm.close()


if __name__ == "__main__":
    asyncio.run(main())
