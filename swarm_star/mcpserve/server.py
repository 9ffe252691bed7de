"""Swarm Star as an MCP server: any MCP client (Claude Desktop, Cursor, another framework's agent)
can start swarms, follow them, answer their questions and approvals, and read their reports.

Tools: ``run_swarm`` (returns the swarm id at once; the swarm runs in this server's
event loop), ``swarm_status`` (status, usage, pending questions and approvals, the
report when done), ``answer_question`` (an answer, or yes/no for an approval),
``get_tree``, ``get_report``, ``list_swarms``, ``stop_swarm`` and ``resume_swarm``.
Everything goes through :mod:`swarm_star.api` (the one door, like the CLI and the
HTTP server). Runs are interactive: a question parks its node and the run waits
for ``answer_question`` instead of stopping. The operator's flags (``--model``,
``--base-url``, ``--mcp``) shape the swarms created here; a client never names an
endpoint, a key, a variable or a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarm_star.api import RunHandle, RunOptions, Swarm, list_swarms, locate
from swarm_star.api.tools import split_questions
from swarm_star.errors import InputError, NotRunning, SwarmStarError
from swarm_star.models import Limits, ModelSettings, SwarmSettings, ToolSettings
from swarm_star.store import Backend

__all__ = ["SwarmRuns", "build_server"]

INSTRUCTIONS = (
    "Swarm Star runs a persistent, recursive tree of LLM agents for one directive. Start one with "
    "run_swarm (it returns a swarm id at once), poll swarm_status until its status is finished, failed "
    "or stopped, answer pending questions and tool-call approvals with answer_question, and read the "
    "result with get_report. get_tree shows the tree; stop_swarm and resume_swarm pause and continue."
)


@dataclass
class SwarmRuns:
    """The swarms this server runs (on its own event loop), and how to open any swarm of the space."""

    space: Path
    backend: Backend = "sqlite"
    user_id: str = "local"
    models: ModelSettings = field(default_factory=ModelSettings)
    mcp: str | None = None
    poll_interval: float = 0.25
    runs: dict[str, tuple[RunHandle, Swarm]] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)

    def open(self, swarm_id: str) -> Swarm:
        return Swarm.open(swarm_id, space=self.space, backend=self.backend, user_id=self.user_id)

    def running(self, swarm_id: str) -> bool:
        run = self.runs.get(swarm_id)
        return run is not None and not run[0].done()

    def start(self, swarm: Swarm, how: str, limits: Limits | None = None) -> None:
        options = RunOptions(interactive=True, poll_interval=self.poll_interval, limits=limits, mcp=self.mcp or None)
        handle = swarm.resume(options) if how == "resume" else swarm.run(options)
        self.runs[swarm.id] = (handle, swarm)

        async def settle() -> None:
            try:
                outcome = await handle
                self.last[swarm.id] = f"{outcome.status}" + (f": {outcome.reason}" if outcome.reason else "")
            except asyncio.CancelledError:
                self.last[swarm.id] = "stopped"
            except SwarmStarError as exc:
                self.last[swarm.id] = f"error: {exc}"

        asyncio.get_running_loop().create_task(settle())

    async def stop(self, swarm_id: str) -> None:
        run = self.runs.get(swarm_id)
        if run is None or run[0].done():
            raise NotRunning(f"swarm {swarm_id} is not running in this server")
        with contextlib.suppress(NotRunning):
            await run[0].stop()

    async def close(self) -> None:
        for swarm_id in list(self.runs):
            if self.running(swarm_id):
                with contextlib.suppress(SwarmStarError):
                    await self.stop(swarm_id)
        for _, swarm in self.runs.values():
            swarm.close()


def _limits(base: Limits, **given: Any) -> Limits | None:
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return None
    try:
        return Limits.model_validate({**base.model_dump(), **changes})
    except ValueError as exc:
        raise InputError(f"invalid limits: {exc}") from exc


def _status(runs: SwarmRuns, swarm: Swarm) -> dict[str, Any]:
    state = swarm.tree() if not runs.running(swarm.id) else runs.runs[swarm.id][0].state or swarm.tree()
    questions, approvals = split_questions(swarm.questions())
    root = state.root
    return {
        "swarm_id": swarm.id,
        "status": state.status,
        "stop_reason": state.stop_reason,
        "running": runs.running(swarm.id),
        "last_run": runs.last.get(swarm.id),
        "usage": {**state.usage.model_dump(mode="json"), "tokens": state.usage.tokens},
        "nodes": len(state.nodes),
        "frames": state.frame_count,
        "questions": [{"id": q.id, "node": n.id, "text": q.text} for n, q in questions],
        "approvals": [{"id": q.id, "node": n.id, "text": q.text} for n, q in approvals],
        "report": root.report if root is not None and state.status == "finished" else None,
    }


def _said(tool: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A Swarm Star error reaches the client as its one-line message (the SDK hides any other
    exception's text as a crash)."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(tool)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await tool(*args, **kwargs)
        except SwarmStarError as exc:
            raise ToolError(str(exc)) from exc

    return call


def build_server(runs: SwarmRuns) -> Any:
    """The MCP server (official SDK's ``MCPServer``) with Swarm Star's tools."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer("swarm-star", instructions=INSTRUCTIONS)
    register = server.tool

    def tool(**kwargs: Any) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
        return lambda function: register(**kwargs)(_said(function))

    reads = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

    @tool(description="Start a swarm for a directive; returns its id at once (poll swarm_status).")
    async def run_swarm(
        directive: str,
        max_calls: int | None = None,
        max_nodes: int | None = None,
        max_depth: int | None = None,
        max_time: float | None = None,
        max_cost: float | None = None,
    ) -> dict[str, Any]:
        limits = _limits(
            Limits(),
            max_calls=max_calls,
            max_nodes=max_nodes,
            max_depth=max_depth,
            max_time=max_time,
            max_cost=max_cost,
        )
        settings = SwarmSettings(limits=limits or Limits(), models=runs.models, tools=ToolSettings(mcp=runs.mcp))
        swarm = Swarm.create(directive, settings=settings, space=runs.space, backend=runs.backend, user_id=runs.user_id)
        runs.start(swarm, "run")
        return {"swarm_id": swarm.id, "running": True}

    @tool(
        description="A swarm's status, usage, pending questions and approvals, and its report once finished.",
        annotations=reads,
    )
    async def swarm_status(swarm_id: str) -> dict[str, Any]:
        with runs.open(swarm_id) as swarm:
            return _status(runs, swarm)

    @tool(description="Answer a pending question; for a tool-call approval answer yes or no.")
    async def answer_question(swarm_id: str, question_id: str, answer: str) -> dict[str, Any]:
        with runs.open(swarm_id) as swarm:
            swarm.answer(question_id, answer)
        if runs.running(swarm_id):
            runs.runs[swarm_id][0].wake()
        return {"question_id": question_id, "queued": True, "running": runs.running(swarm_id)}

    @tool(description="The swarm's tree as text, one line per node (depth limits how deep).", annotations=reads)
    async def get_tree(swarm_id: str, depth: int | None = None) -> str:
        from swarm_star.render.text import render_tree

        with runs.open(swarm_id) as swarm:
            state = swarm.tree()
            return "\n".join(render_tree(state, width=None, depth=depth))

    @tool(description="The swarm's report in Markdown: the final report, then every part.", annotations=reads)
    async def get_report(swarm_id: str) -> str:
        from swarm_star.render.report import build_report

        with runs.open(swarm_id) as swarm:
            return build_report(swarm.id, swarm.log, swarm.workspace).markdown

    @tool(name="list_swarms", description="Every swarm in the space: id, status, cost.", annotations=reads)
    async def list_swarms_tool() -> list[dict[str, Any]]:
        return [row.to_json() for row in list_swarms(locate(runs.space, runs.backend, runs.user_id))]

    @tool(description="Stop a swarm this server runs (its state is saved; resume_swarm continues it).")
    async def stop_swarm(swarm_id: str) -> dict[str, Any]:
        await runs.stop(swarm_id)
        return {"swarm_id": swarm_id, "running": False}

    @tool(description="Continue a stopped or waiting swarm, optionally with raised limits.")
    async def resume_swarm(
        swarm_id: str, max_calls: int | None = None, max_time: float | None = None, max_cost: float | None = None
    ) -> dict[str, Any]:
        if runs.running(swarm_id):
            return {"swarm_id": swarm_id, "running": True}
        swarm = runs.open(swarm_id)
        try:
            limits = _limits(swarm.state.limits, max_calls=max_calls, max_time=max_time, max_cost=max_cost)
            runs.start(swarm, "resume", limits)
        except BaseException:
            swarm.close()
            raise
        return {"swarm_id": swarm_id, "running": True}

    return server
