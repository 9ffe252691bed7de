"""A child process that runs a swarm and dies by SIGKILL right after staging a workspace change.

Usage: python -m tests.helpers.crash_between_stage_and_commit SPACE SWARM_ID BASE_URL
The hook is the test's: ``Workspace._commit`` is replaced in this process only,
so the library itself has no crash switch.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from swarm_star.api import RunOptions, Swarm
from swarm_star.kit.workspace import Workspace
from tests.helpers.model import TEST_KEY


def _die(self: Workspace, clean: str, message: str) -> str:
    print("staged", clean, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    raise SystemExit(9)  # not reached


async def main(space: str, swarm_id: str, base_url: str) -> None:
    from swarm_star.llm import Endpoint, LLMClient
    from swarm_star.models import ModelSettings

    Workspace._commit = _die  # type: ignore[method-assign]
    llm = LLMClient(Endpoint(base_url, TEST_KEY, None), ModelSettings(base_url=base_url))
    with Swarm.open(swarm_id, space=space) as swarm:
        await swarm.run(RunOptions(llm=llm))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
