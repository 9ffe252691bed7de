"""The one event loop rule: uvloop's where installed (a dependency), asyncio's on request, a bad choice one error."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from swarm_star import eventloop
from swarm_star.api import Swarm
from swarm_star.errors import ConfigError, ExitCode
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.cli import cli


async def _running_loop() -> str:
    await asyncio.sleep(0)
    return eventloop.loop_name(asyncio.get_running_loop())


def test_uvloop_runs_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.ENV, raising=False)
    assert eventloop.run(_running_loop()) == "uvloop"  # a dependency: its absence here is a failure


@pytest.mark.parametrize(("value", "name"), [("asyncio", "asyncio"), (" AsyncIO ", "asyncio"), ("uvloop", "uvloop")])
def test_the_variable_chooses(monkeypatch: pytest.MonkeyPatch, value: str, name: str) -> None:
    monkeypatch.setenv(eventloop.ENV, value)
    assert eventloop.run(_running_loop()) == name


def test_a_bad_choice_is_a_config_error_and_the_coroutine_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.ENV, "trio")
    coro = _running_loop()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would be a warning
        with pytest.raises(ConfigError, match="SWARM_STAR_EVENT_LOOP must be uvloop or asyncio, got 'trio'"):
            eventloop.run(coro)
        gc.collect()
    assert coro.cr_frame is None  # closed


def test_run_sync_runs_the_swarm_on_uvloop(tmp_path: Path, model_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(eventloop.ENV, raising=False)
    server = model_server(ScriptedModel(plans={"job": ["part a"]}))
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    seen: set[str] = set()
    with Swarm.create("job", space=tmp_path, settings=settings) as swarm:
        outcome = swarm.run_sync(on_frame=lambda _: seen.add(eventloop.loop_name(asyncio.get_running_loop())))
    assert outcome.status == "finished" and seen == {"uvloop"}


@pytest.mark.parametrize("command", [["run", "a job", "--base-url", "http://127.0.0.1:9/v1"], ["demo"], ["list"]])
def test_every_command_refuses_a_bad_choice_before_doing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv(eventloop.ENV, "gevent")
    code, out, err = cli("--space", str(tmp_path), *command)
    assert code == ExitCode.USAGE, err
    assert err.strip().splitlines() == [err.strip()] and "SWARM_STAR_EVENT_LOOP must be uvloop or asyncio" in err
    monkeypatch.delenv(eventloop.ENV)
    code, out, _ = cli("--space", str(tmp_path), "list", "--json")
    assert code == 0 and out.strip() == "[]"  # no swarm created


async def test_the_async_tests_run_on_the_chosen_loop() -> None:
    """tests/conftest.py gives pytest-asyncio the loop the rule picks (uvloop here: a dependency)."""
    asked = os.environ.get(eventloop.ENV, "").strip().lower()
    assert eventloop.loop_name(asyncio.get_running_loop()) == ("asyncio" if asked == "asyncio" else "uvloop")


def test_check_and_importing_the_module_load_no_event_loop() -> None:
    """The CLI checks the variable before every command; ``--help`` must not pay for asyncio."""
    code = (
        "import sys; from swarm_star import eventloop; eventloop.check(); "
        "print(sorted(m for m in ('asyncio', 'uvloop') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
