"""Run local servers in a separate process, so the CPU time a benchmark
measures in its own process is the client's and engine's, not the server's."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from typing import Any


def _serve_model(responder: Any, latency: float, queue: Any) -> None:
    from swarm_star.testing import LocalOpenAIServer

    server = LocalOpenAIServer(responder, latency=latency)
    queue.put(server.start())
    while True:
        time.sleep(3600)


@contextlib.contextmanager
def server_process(target: Callable[..., None], *args: Any) -> Iterator[Any]:
    """Fork ``target(*args, queue)``; yield the first thing it puts on the queue; kill it after."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue), daemon=True)
    proc.start()
    try:
        yield queue.get(timeout=60)
    finally:
        proc.kill()
        proc.join()


@contextlib.contextmanager
def model_process(responder: Any, latency: float = 0.0) -> Iterator[str]:
    """The scripted OpenAI-compatible server; yields its base URL."""
    with server_process(_serve_model, responder, latency) as url:
        yield url
