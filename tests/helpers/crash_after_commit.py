"""A child process that runs a swarm and dies by SIGKILL after a workspace change is committed
and the frame recording the model call that asked for it is durable, before the node ends.

Usage: python -m tests.helpers.crash_after_commit SPACE SWARM_ID BASE_URL
The hooks are the test's: ``Workspace._commit`` and ``Engine.flush`` are wrapped in
this process only, so the library itself has no crash switch.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from swarm_star.api import RunOptions, Swarm
from swarm_star.engine import Engine
from swarm_star.kit.workspace import Workspace
from tests.helpers.model import TEST_KEY

committed: list[str] = []


def _commit_then_arm(original):  # type: ignore[no-untyped-def]
    def commit(self: Workspace, clean: str, message: str) -> str:
        sha: str = original(self, clean, message)
        committed.append(sha)
        print("committed", clean, sha, flush=True)
        return sha

    return commit


def _flush_then_die(original):  # type: ignore[no-untyped-def]
    async def flush(self: Engine) -> None:
        # The first flush that *starts* after the commit holds the call that asked for it (a flush
        # waits for its commit off the loop, so one begun before the commit may end after it).
        armed = bool(committed)
        await original(self)
        if armed:
            print("flushed", self.state.frame_count, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    return flush


async def main(space: str, swarm_id: str, base_url: str) -> None:
    from swarm_star.llm import Endpoint, LLMClient
    from swarm_star.models import ModelSettings

    Workspace._commit = _commit_then_arm(Workspace._commit)  # type: ignore[method-assign]
    Engine.flush = _flush_then_die(Engine.flush)  # type: ignore[method-assign]
    llm = LLMClient(Endpoint(base_url, TEST_KEY, None), ModelSettings(base_url=base_url, concurrency=8))
    with Swarm.open(swarm_id, space=space) as swarm:
        await swarm.run(RunOptions(llm=llm))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
