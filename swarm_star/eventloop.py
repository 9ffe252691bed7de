"""The event loop every command and synchronous wrapper runs on: uvloop's where it is
installed, asyncio's otherwise.

Why: much of a swarm's own CPU is the event loop. Each model call is a round trip (with
one request in flight, a local server's default, ~6 loop passes per call against ~0.5
at 512 in flight), each commit wakes the writer, and each client of ``serve`` is a
socket written on every delivery. uvloop runs the same asyncio interface on libuv for
less CPU per pass (benchmarks/README.md, issue 25). It is a dependency wherever it
builds (not Windows); ``SWARM_STAR_EVENT_LOOP=asyncio`` runs the standard loop instead,
to rule the loop out when something misbehaves. Behaviour is the same on both: the
tests run on the one a user gets.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from swarm_star.errors import ConfigError

__all__ = ["ENV", "loop_factory", "loop_name", "run"]

ENV = "SWARM_STAR_EVENT_LOOP"
"""The environment variable that chooses the loop: ``uvloop`` (the default where installed) or ``asyncio``."""

T = TypeVar("T")


def loop_factory(env: Mapping[str, str] | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the loop: uvloop's ``new_event_loop``, or None for asyncio's own.

    Raises ConfigError for a value of :data:`ENV` other than ``uvloop``/``asyncio``, or
    ``uvloop`` asked for where it is not installed.
    """
    choice = (os.environ if env is None else env).get(ENV, "").strip().lower()
    if choice == "asyncio":
        return None
    if choice not in ("", "uvloop"):
        raise ConfigError(f"{ENV} must be uvloop or asyncio, got {choice!r}")
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(f"{ENV}=uvloop but uvloop is not installed (pip install uvloop)") from None
        return None
    return uvloop.new_event_loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which loop runs (for ``--version`` and the tests)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :func:`loop_factory` names (same signals, same
    cancellation on Ctrl-C, same shutdown of async generators and the default executor)."""
    try:
        factory = loop_factory()
    except ConfigError:
        main.close()  # never awaited: say so without a "never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
