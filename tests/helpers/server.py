"""Run the Swarm Star ASGI app under a real uvicorn server on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Yield the base URL of ``app`` served by uvicorn in a thread; stop it afterwards."""
    with uvicorn_serving(app) as (base, _):
        yield base


@contextmanager
def uvicorn_serving(app: Starlette, *, send_buffer: int | None = None) -> Iterator[tuple[str, uvicorn.Server]]:
    """:func:`serving`, yielding the uvicorn server too (its connections can be looked at).

    ``send_buffer`` sets the kernel's send buffer of every accepted connection (Linux
    copies it from the listening socket), so a test can see what the server itself
    holds for a client that stops reading instead of what the kernel absorbs.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (server.started and server.servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
