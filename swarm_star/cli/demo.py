"""``swarm-star demo``: a complete swarm on this machine, no API key needed.

The model is a small scripted OpenAI-compatible server on 127.0.0.1 (from
:mod:`swarm_star.testing`); everything else (engine, store, history,
workspace) is the real thing. The screen says so plainly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from swarm_star.cli.flags import HelpFormatter
from swarm_star.cli.hints import command_prefix, prefix_for
from swarm_star.errors import ExitCode

if TYPE_CHECKING:  # the scripted server (aiohttp) is imported when the demo runs, not for --help
    from swarm_star.testing.scripted import ScriptedModel

__all__ = ["add_demo_command", "cmd_demo", "demo_model", "run_demo"]

DIRECTIVE = "Plan a one-day offsite for our team"
DEMO_ANSWER = "8 people, in Lisbon, budget 1200 EUR"


def add_demo_command(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        formatter_class=HelpFormatter,
        help="run a complete swarm locally with a scripted model (no API key)",
    )
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return run_demo(space=args.space, out=out, prefix=command_prefix(args))


def demo_model() -> ScriptedModel:
    from swarm_star.testing.scripted import ScriptedModel

    return ScriptedModel(
        plans={
            "offsite": "How many people are coming, where, and with what budget?",
            "draft the agenda": ["morning workshop", "afternoon activity"],
        },
        plans_after_answer={
            "offsite": [
                "choose a venue",
                "draft the agenda",
                "write a python script that splits the budget",
            ],
        },
        routes={"draft the agenda": "planning/delegate", "python script": "code/write_python"},
    )


def run_demo(
    space: str | Path | None = None,
    out: TextIO | None = None,
    *,
    interactive: bool | None = None,
    prefix: str | None = None,
) -> int:
    """Run the demo swarm through the API, as ``run`` would show it; ``prefix`` is how hints
    call the command (default: ``swarm-star`` with ``--space``)."""
    from swarm_star.api import RunOptions, Swarm
    from swarm_star.cli.run import Screen, run_swarm
    from swarm_star.models import ModelSettings, SwarmSettings
    from swarm_star.testing import LocalOpenAIServer

    out = out or sys.stdout
    server = LocalOpenAIServer(demo_model(), latency=0.15)
    base_url = server.start()
    out.write(
        "DEMO: the model here is a scripted local server at "
        f"{base_url} playing canned replies — no API key, no real LLM.\n"
        "The engine, the SQLite store, the history frames and the git workspace are real.\n\n"
    )
    try:
        settings = SwarmSettings(models=ModelSettings(base_url=base_url, default_model="scripted-demo"))
        swarm = Swarm.create(DIRECTIVE, settings=settings, space=space)
        with swarm:
            tty = sys.stdin.isatty() if interactive is None else interactive
            cmd = prefix or prefix_for(space)
            screen = Screen(cmd, no_input=not tty)
            if not tty:
                out.write(f"(stdin is not a terminal: the demo answers its question itself with {DEMO_ANSWER!r})\n")
            code = run_swarm(swarm, out, screen, swarm.run, RunOptions())
            if code == ExitCode.QUESTIONS:  # not a terminal: answer for the user, then resume
                for _, question in swarm.questions():
                    out.write(f"\n> answering [{question.id}]: {DEMO_ANSWER}\n")
                    swarm.answer(question.id, DEMO_ANSWER)
                code = run_swarm(swarm, out, screen, swarm.resume, RunOptions())
            out.write(
                "\nInspect what happened:\n"
                f"  {cmd} tree {swarm.id}\n"
                f"  {cmd} history {swarm.id}\n"
                f"  {cmd} tree {swarm.id} --frame 10\n"
                f"  {cmd} history {swarm.id} 0\n"
            )
            return code
    finally:
        server.stop()
