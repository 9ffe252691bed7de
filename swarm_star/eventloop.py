"""The event loop every command and synchronous wrapper runs on: uvloop's where it is
installed, asyncio's otherwise.

Why: much of a swarm's own CPU is the event loop. Each model call is a round trip (with
one request in flight, a local server's default, ~5 loop passes per call against ~0.5
at 512 in flight), each commit wakes the writer, and each client of ``serve`` is a
socket written on every delivery. uvloop runs the same asyncio interface on libuv for
less CPU per pass (benchmarks/README.md, issue 25). It is a dependency wherever it
builds (not Windows); ``SWARM_STAR_EVENT_LOOP=asyncio`` runs the standard loop instead,
to rule the loop out when something misbehaves. The test suite runs on the loop this
rule picks (tests/conftest.py), so ``SWARM_STAR_EVENT_LOOP=asyncio pytest`` covers the other.

Importing this module imports neither asyncio nor uvloop: the CLI checks the variable
before any command runs (:func:`check`) without slowing ``--help``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from swarm_star.errors import ConfigError

if TYPE_CHECKING:
    import asyncio

__all__ = ["ENV", "check", "loop_factory", "loop_name", "run"]

ENV = "SWARM_STAR_EVENT_LOOP"
"""The environment variable that chooses the loop: ``uvloop`` (the default where installed) or ``asyncio``."""

T = TypeVar("T")

_NOT_INSTALLED = f"{ENV}=uvloop but uvloop is not installed (pip install uvloop)"


def _choice(env: Mapping[str, str] | None) -> str:
    """``uvloop``, ``asyncio`` or ``""`` (the default); ConfigError for anything else."""
    choice = (os.environ if env is None else env).get(ENV, "").strip().lower()
    if choice not in ("", "uvloop", "asyncio"):
        raise ConfigError(f"{ENV} must be uvloop or asyncio, got {choice!r}")
    return choice


def check(env: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError if :data:`ENV` names no loop this machine can run (before a command
    does anything: no swarm is created by a command that then cannot run it)."""
    if _choice(env) == "uvloop":
        import importlib.util

        if importlib.util.find_spec("uvloop") is None:
            raise ConfigError(_NOT_INSTALLED)


def loop_factory(env: Mapping[str, str] | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the loop: uvloop's ``new_event_loop``, or None for asyncio's own (ConfigError
    as :func:`check` says)."""
    choice = _choice(env)
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(_NOT_INSTALLED) from None
        return None
    return uvloop.new_event_loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which loop runs (the tests check it)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :func:`loop_factory` names (same signals, same
    cancellation on Ctrl-C, same shutdown of async generators and the default executor)."""
    import asyncio

    try:
        factory = loop_factory()
    except ConfigError:
        main.close()  # never awaited: said without a "never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
