"""Run the local scripted model server in a separate process, so the CPU time a
benchmark measures in its own process is the engine's, not the server's."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from collections.abc import Iterator
from typing import Any


def _serve(responder: Any, latency: float, queue: Any) -> None:
    import time

    from swarm_star.testing import LocalOpenAIServer

    server = LocalOpenAIServer(responder, latency=latency)
    queue.put(server.start())
    while True:
        time.sleep(3600)


@contextlib.contextmanager
def model_process(responder: Any, latency: float = 0.0) -> Iterator[str]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(responder, latency, queue), daemon=True)
    proc.start()
    try:
        yield queue.get(timeout=30)
    finally:
        proc.kill()
        proc.join()
