"""The tool leaf's words: use one tool, step by step, then report.

A tool leaf shows the model the chosen tool (name, description, input schema)
and the task; each step the model fills :class:`ToolStep`: call the tool with
arguments, or report. Each call's result comes back as its own user message
(cut at the swarm's ``tools.prompt_cap``), so a long result is sent once per
request and stored once (the frame codec shares repeated message text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from swarm_star.prompts.labels import TASK, TOOL_RESULT
from swarm_star.prompts.structured import Reply

__all__ = ["NATIVE_SYSTEM", "TOOL_SYSTEM", "NativeTools", "ToolStep", "ToolTurn", "cut"]

TOOL_SYSTEM = (
    "You do a task with one tool. Each step, either call the tool (call: true, with its arguments "
    "as a JSON object that matches the tool's input schema) or report (call: false, with a report "
    "of what the tool returned that answers the task). Report as soon as the results answer the task. "
    "Never invent results: report only what the tool returned, or that it failed."
)
NO_MORE_CALLS = "No more tool calls are allowed: report now (call: false) from the results above."
NATIVE_SYSTEM = (
    "You do a task with one tool. Call the tool when you need what it returns; once its results "
    "answer the task, reply with your report as plain text, without calling it again. "
    "Never invent results: report only what the tool returned, or that it failed."
)
NATIVE_NO_MORE_CALLS = "No more tool calls are allowed: report now from the results above."


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


@dataclass(frozen=True)
class ToolTurn:
    """One step of a tool leaf: the task, the tool, the calls so far (arguments, result shown),
    and whether it is the last step. Asked as :meth:`messages` (structured output) or as
    :meth:`native` (native function calling), both made from the same data."""

    directive: str
    briefing: str
    tool: str
    description: str
    schema: Mapping[str, Any]
    steps: Sequence[tuple[dict[str, Any], str]]
    last: bool

    def _task(self) -> str:
        """The first user message: the briefing (what siblings share), then the task."""
        return f"{self.briefing}\n\n{TASK}{self.directive}".strip()

    def messages(self) -> list[dict[str, str]]:
        """The conversation so far: the tool (the same for every call of this tool: in the system
        message, so a prompt cache can reuse it), the briefing and the task, then each call and what
        it returned."""
        shape = json.dumps(dict(self.schema), ensure_ascii=False, sort_keys=True)
        tool = f"{TOOL_SYSTEM}\n\nTool: {self.tool}\n{self.description}\nInput schema: {shape}"
        messages = [{"role": "system", "content": tool}, {"role": "user", "content": self._task()}]
        for arguments, result in self.steps:
            call = {"call": True, "arguments": json.dumps(arguments, ensure_ascii=False)}
            messages.append({"role": "assistant", "content": json.dumps(call, ensure_ascii=False)})
            messages.append({"role": "user", "content": f"{TOOL_RESULT}{result}"})
        if self.last:
            messages.append({"role": "user", "content": NO_MORE_CALLS})
        return messages

    def native(self) -> NativeTools:
        """The same conversation for native function calling: the calls as the assistant's
        ``tool_calls``, their results as ``tool`` messages, the tool in ``tools``."""
        name = re.sub(r"[^A-Za-z0-9_-]", "_", self.tool)[:64] or "tool"  # what function names may hold
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": NATIVE_SYSTEM},
            {"role": "user", "content": self._task()},
        ]
        for n, (arguments, result) in enumerate(self.steps):
            function = {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}
            call = {"id": f"call_{n}", "type": "function", "function": function}
            messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
            messages.append({"role": "tool", "tool_call_id": f"call_{n}", "content": result})
        if self.last:
            messages.append({"role": "user", "content": NATIVE_NO_MORE_CALLS})
        parameters = dict(self.schema) or {"type": "object", "properties": {}}
        spec = {"name": name, "description": self.description, "parameters": parameters}
        return NativeTools(messages, [{"type": "function", "function": spec}], self.last, not self.steps)


@dataclass(frozen=True)
class NativeTools:
    """The same step asked with native function calling (the ``tools`` parameter), for an
    endpoint that supports it: the conversation in that form (the tool's calls as assistant
    ``tool_calls``, its results as ``tool`` messages), the ``tools`` list, and
    :meth:`reply`, which writes the model's answer as the :class:`ToolStep` the structured
    form would have got, so the step is recorded, replayed and read the same either way."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    final: bool
    first: bool  # no call made yet: the step a tool leaf exists for

    def payload(self) -> dict[str, Any]:
        """What the request adds: the tool, and whether the model may call it."""
        return {"tools": self.tools, "tool_choice": "none" if self.final else "auto"}

    def shown(self) -> list[dict[str, str]]:
        """The conversation as a call record keeps it (text values only: a call's parts as JSON)."""
        return [
            {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in m.items()}
            for m in self.messages
        ]

    def ignored(self, calls: Sequence[Mapping[str, Any]]) -> bool:
        """Whether a reply to the first step, calling nothing, says the server ignored ``tools``
        (some do, silently): the client then asks this endpoint in the structured form."""
        return self.first and not self.final and not calls

    def reply(self, content: str, calls: Sequence[Mapping[str, Any]]) -> str:
        """The answer as a ToolStep in JSON: the first call of the tool, else the text as the report."""
        for call in calls:
            function = call.get("function") or {}
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
            return ToolStep(call=True, arguments=arguments or "{}").model_dump_json()
        return ToolStep(call=False, report=content).model_dump_json()
