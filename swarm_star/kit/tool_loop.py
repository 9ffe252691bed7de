"""A tool leaf's bounded loop: the model proposes calls of one tool, the engine runs them, until it reports.

The model sees the chosen tool's name, description and input schema and the
task; each step it asks for a call (arguments as a JSON object) or reports:
with native function calling (the ``tools`` parameter) where the endpoint
supports it, else in the structured-output mode negotiated for it (the client
decides per endpoint and remembers; either way the step is recorded as the
same :class:`~swarm_star.prompts.tools.ToolStep`). The
engine runs each call as a journaled step (``ctx.call_tool``: the policy first,
then the call, then its frame), and the result goes back to the model, cut at
``tools.prompt_cap`` characters. After ``tools.max_steps`` calls the model must
report. Every successful result is also saved to the memory space under
``results/``.

Approvals: a call that needs the user's approval parks this node with the
question (``ctx.ask``) and nothing else; when the node runs again (a new
activation), the conversation starts from the calls its earlier activations
committed, so none of them is made again, and the model proposes the next call
afresh. A denied call (by policy or by the user) ends the node with a report
that says so, for its manager to plan around.
"""

from __future__ import annotations

import json
from typing import Any

from swarm_star.engine.context import ActionContext
from swarm_star.engine.quality import report_junk
from swarm_star.kit.briefing import brief
from swarm_star.models import ToolCall
from swarm_star.prompts import Purpose
from swarm_star.prompts import tools as words
from swarm_star.tools.approvals import ApprovalNeeded

__all__ = ["use_tool"]


def _earlier_calls(ctx: ActionContext) -> list[ToolCall]:
    """This node's committed tool calls of earlier activations, in the order they were made."""
    calls = [call for (node, _), call in ctx.tool_calls().items() if node == ctx.node.id]
    earlier = [c for c in calls if int(c.call_key.split(":")[0]) < ctx.activation and not c.denied]
    return sorted(earlier, key=lambda c: tuple(int(p) for p in c.call_key.split(":")))


def _shown(call: ToolCall, cap: int) -> str:
    if call.error is not None:
        return f"error: {call.error}"
    prefix = "the tool reported an error: " if call.is_error else ""
    return words.cut(prefix + call.result, cap)


async def use_tool(ctx: ActionContext, path: str) -> list[Any]:
    """Run the loop for the tool at ``path`` (``tools/<server>/<tool>``) and return the node's operations."""
    info = await ctx.tool_info(path)
    if info is None:
        why = "web/search is not configured (add a search MCP server)" if path.endswith("web/search") else ""
        return [ctx.refuse(why or f"the tool {path} is not available")]
    settings = ctx.settings.tools
    briefing = await brief(ctx)
    calls = _earlier_calls(ctx)
    steps = [(c.arguments, _shown(c, settings.prompt_cap)) for c in calls]
    while True:
        last = len(steps) >= settings.max_steps
        turn = words.ToolTurn(ctx.node.directive, briefing, info.name, info.description, info.input_schema, steps, last)
        step = await ctx.ask_model(
            turn.messages(),
            purpose=Purpose.TOOL_STEP,
            schema=words.ToolStep,
            native=turn.native(),  # native function calling where the endpoint has it
        )
        if not step.call or last:
            return [*_remember(ctx, path, calls, settings.prompt_cap), _report(ctx, step.report, calls, path)]
        try:
            arguments = json.loads(step.arguments or "{}")
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            steps.append(({"arguments": str(step.arguments)[:200]}, "error: the arguments are not a JSON object"))
            continue
        try:
            call = await ctx.call_tool(path, arguments)
        except ApprovalNeeded as need:
            return [ctx.ask(need.question)]
        if call.denied:
            args = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
            done = _remember(ctx, path, calls, settings.prompt_cap)
            return [*done, ctx.terminate(f"Not done: calling {path} with {args} was {call.error}. Nothing was run.")]
        calls.append(call)
        steps.append((arguments, _shown(call, settings.prompt_cap)))


def _remember(ctx: ActionContext, path: str, calls: list[ToolCall], cap: int) -> list[Any]:
    """Each successful result in memory under ``results/`` (what later nodes can find)."""
    saved = []
    for call in calls:
        if call.error is None and not call.is_error:
            args = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)
            saved.append(ctx.save_memory("results", f"{path} {args}"[:120], words.cut(call.result, cap)))
    return saved


def _report(ctx: ActionContext, text: str, calls: list[ToolCall], path: str) -> Any:
    report = text.strip()
    if report_junk(report) is None:
        return ctx.terminate(report)
    good = [c for c in calls if c.error is None and not c.is_error]
    if good:  # the model would not say it: the results themselves are the report
        return ctx.terminate(f"{path} returned:\n" + "\n".join(words.cut(c.result, 1000) for c in good[-3:]))
    errors = "; ".join(c.error or "the tool reported an error" for c in calls[-3:]) or "no call was made"
    return ctx.fail(f"{path}: no usable result ({errors})")
