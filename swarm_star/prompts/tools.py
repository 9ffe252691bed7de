"""The tool leaf's words: use one tool, step by step, then report.

A tool leaf shows the model the chosen tool (name, description, input schema)
and the task; each step the model fills :class:`ToolStep`: call the tool with
arguments, or report. Each call's result comes back as its own user message
(cut at the swarm's ``tools.prompt_cap``), so a long result is sent once per
request and stored once (the frame codec shares repeated message text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from swarm_star.prompts.labels import TASK, TOOL_RESULT
from swarm_star.prompts.structured import Reply

__all__ = ["TOOL_SYSTEM", "ToolStep", "cut", "tool_messages"]

TOOL_SYSTEM = (
    "You do a task with one tool. Each step, either call the tool (call: true, with its arguments "
    "as a JSON object that matches the tool's input schema) or report (call: false, with a report "
    "of what the tool returned that answers the task). Report as soon as the results answer the task. "
    "Never invent results: report only what the tool returned, or that it failed."
)
NO_MORE_CALLS = "No more tool calls are allowed: report now (call: false) from the results above."


class ToolStep(Reply):
    """One step with the tool: call it, or report."""

    call: bool = Field(description="true to call the tool now, false to report")
    arguments: str = Field("{}", description="the tool's arguments as a JSON object (when call is true)")
    report: str = Field("", description="the report for whoever gave the task (when call is false)")


def cut(text: str, cap: int) -> str:
    """``text`` at most ``cap`` characters, saying how much was left out."""
    if len(text) <= cap:
        return text
    return f"{text[:cap]}\n[… {len(text) - cap:,} more characters not shown]"


def tool_messages(
    directive: str,
    briefing: str,
    tool: str,
    description: str,
    schema: Mapping[str, Any],
    steps: Sequence[tuple[dict[str, Any], str]],
    last: bool,
) -> list[dict[str, str]]:
    """The conversation so far: the task and the tool, then each call and what it returned."""
    about = f"\n\n{briefing}" if briefing else ""
    shape = json.dumps(dict(schema), ensure_ascii=False, sort_keys=True)
    messages = [
        {"role": "system", "content": TOOL_SYSTEM},
        {
            "role": "user",
            "content": f"{TASK}{directive}\n\nTool: {tool}\n{description}\nInput schema: {shape}{about}",
        },
    ]
    for arguments, result in steps:
        call = json.dumps({"call": True, "arguments": json.dumps(arguments, ensure_ascii=False)}, ensure_ascii=False)
        messages.append({"role": "assistant", "content": call})
        messages.append({"role": "user", "content": f"{TOOL_RESULT}{result}"})
    if last:
        messages.append({"role": "user", "content": NO_MORE_CALLS})
    return messages
