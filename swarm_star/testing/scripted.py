"""A scripted model for the local server: replies chosen from the request itself.

Replies depend only on the request (schema asked for, directive in the
prompt), never on arrival order, so a swarm run against it builds the same
tree every time, whatever the concurrency: that is what lets tests compare a
crashed-and-resumed run with a clean one. What it reads in a request (the labels,
the reply schemas' class names) it imports from ``swarm_star.prompts``, so a
reworded label cannot silently stop it from recognising a request.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from swarm_star.prompts.code import PythonFile
from swarm_star.prompts.labels import (
    DIRECTIVE_LABELS,
    NO_ANSWERS,
    QA_ANSWER,
    REPORT,
    REPORTS,
    ROUTE_CHOICE,
    TOOL_RESULT,
    USER_ANSWERS,
)
from swarm_star.prompts.planning import ACTIONS_HEADER, Plan
from swarm_star.prompts.review import Review
from swarm_star.prompts.swarm import ScatterPlan
from swarm_star.prompts.tools import ToolStep
from swarm_star.prompts.verify import ResultVerdict
from swarm_star.prompts.worker import FollowUp, MemoryNote, Question, UtilArgs
from swarm_star.testing.openai_server import Reply, request_schema

__all__ = ["ScriptedModel", "directive_of"]

_DIRECTIVE = re.compile("^(?:" + "|".join(re.escape(label) for label in DIRECTIVE_LABELS) + ")(.*)$", re.M)
_HANDLERS = {
    Plan.__name__: "_plan",
    ROUTE_CHOICE: "_routechoice",
    Review.__name__: "_review",
    FollowUp.__name__: "_followup",
    Question.__name__: "_question",
    PythonFile.__name__: "_pythonfile",
    ResultVerdict.__name__: "_resultverdict",
    MemoryNote.__name__: "_memorynote",
    UtilArgs.__name__: "_utilargs",
    ScatterPlan.__name__: "_scatterplan",
    ToolStep.__name__: "_toolstep",
}
"""The reply schema's class name (imported, so a renamed class still finds its handler) -> handler.
Any other schema ``X`` is handled by a method ``_x`` if a subclass defines one, else :meth:`_generic`."""


def directive_of(request: dict[str, Any]) -> str:
    """The directive or task a request is about, taken from its last user message."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    text = str(users[0].get("content", "")) if users else ""
    match = _DIRECTIVE.search(text)
    return match.group(1).strip() if match else text.strip()


def _step_fits(option: str, step: str) -> bool:
    """One level of an option against one level of a route: equal, or a group of a server's
    tools that holds it ('read*' or 'add..fetch', tools/catalog.py)."""
    first, dots, last = option.partition("..")
    return option == step or fnmatch.fnmatchcase(step, option) or bool(dots and first <= step <= last)


def _levels(option: str) -> list[str]:
    """An option's levels as a route names them: a group of a server's tools inside the option
    is no level of the route (as its last level it stands for the leaf it holds)."""
    parts = option.split("/")
    return [p for p in parts[:-1] if "*" not in p and ".." not in p] + parts[-1:]


def _on_route(option: str, steps: list[str], *, anchored: bool = False) -> bool:
    """The option's levels appear, in a row, on the route: anywhere (a menu is relative to its
    folder), or from the start (``anchored``: a plan's menu starts at the space's root)."""
    levels = _levels(option)
    starts = [0] if anchored else range(len(steps))
    return any(
        len(steps) - i >= len(levels) and all(_step_fits(o, s) for o, s in zip(levels, steps[i:], strict=False))
        for i in starts
    )


def plan_menu(request: dict[str, Any]) -> list[str]:
    """The options of the menu a planner's system prompt lists after ``ACTIONS_HEADER``
    (``- name: description``, a folder's name ending with ``/``)."""
    system = " ".join(str(m.get("content", "")) for m in request["messages"] if m.get("role") == "system")
    if ACTIONS_HEADER not in system:
        return []
    lines = system.split(ACTIONS_HEADER, 1)[1].splitlines()
    return [line[2:].split(": ", 1)[0].rstrip("/") for line in lines if line.startswith("- ") and ": " in line]


def _lookup(table: dict[str, Any], directive: str) -> Any:
    for key, value in table.items():
        if key.lower() in directive.lower():
            return value
    return None


@dataclass
class ScriptedModel:
    """Responder for :class:`LocalOpenAIServer`.

    - ``plans``: directive substring -> list of sub-directives, or a question
      string (ask the user first; once answered, ``plans_after_answer`` or one
      sub-directive).
    - ``routes``: directive substring -> leaf path such as ``planning/delegate``
      (default ``core/answer``); ``None`` makes every level answer "none".
    - ``replan``: directive substrings whose first review asks for one more round.
    - ``tool_calls``: directive substring -> the arguments of each call a tool leaf
      makes, in order; after the last, it reports what the last call returned
      (``Tool results: ...``).
    - ``plan_actions``: a plan names each part's action from the planner's menu
      (where ``routes`` leads), as a model shown the menu would; False leaves
      every choice to the routers (a test of the walk itself).
    """

    plans: dict[str, Any] = field(default_factory=dict)
    plans_after_answer: dict[str, list[str]] = field(default_factory=dict)
    routes: dict[str, str | None] = field(default_factory=dict)
    replan: set[str] = field(default_factory=set)
    tool_calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    plan_actions: bool = True
    calls: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> Reply | dict[str, Any] | str:
        name, schema = request_schema(request)
        directive = directive_of(request)
        if request.get("tools"):  # a tool step asked with native function calling
            with self._lock:
                self.calls["native tools"] += 1
            return self._native_step(request, directive)
        with self._lock:
            self.calls[name or "text"] += 1
        handler = getattr(self, _HANDLERS.get(name or "", f"_{(name or 'text').lower()}"), None)
        if handler is None:
            return self._generic(schema or {})
        return handler(request, directive, schema or {})

    def _text(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> str:
        return f"Answer to: {directive}"

    def _plan(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        body = str(request["messages"][-1]["content"])
        answered = USER_ANSWERS + NO_ANSWERS not in body
        plan = _lookup(self.plans, directive)
        if isinstance(plan, str):
            if not answered:
                return {"needs_context": True, "question": plan, "subdirectives": []}
            plan = _lookup(self.plans_after_answer, directive) or [directive]
        return {"needs_context": False, "question": "", "subdirectives": self.parts(request, plan or [directive])}

    def route_of(self, directive: str) -> str | None:
        """The leaf path ``routes`` gives a directive (``core/answer`` unless scripted; None: nothing fits)."""
        for key, value in self.routes.items():
            if key.lower() in directive.lower():
                return value
        return "core/answer"

    def parts(self, request: dict[str, Any], tasks: list[Any]) -> list[Any]:
        """The plan's parts: with the action each one's route leads to, when the planner was shown
        a menu (the deepest option on the route: a leaf, or the folder a walk goes on from)."""
        menu = plan_menu(request)
        if not menu or not self.plan_actions:
            return tasks
        out: list[Any] = []
        for task in tasks:
            part = dict(task) if isinstance(task, dict) else {"task": task}
            target = self.route_of(str(part.get("task", "")))
            fits = [o for o in menu if o and target and _on_route(o, target.split("/"), anchored=True)]
            out.append({**part, "action": max(fits, key=len)} if fits and "action" not in part else task)
        return out

    def _routechoice(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        options = schema["properties"]["choice"]["enum"]
        target = self.route_of(directive)
        if target is None:
            return {"choice": "none", "reason": "nothing fits"}
        steps = target.split("/")
        # an option is a path of one or more levels ('core/answer' in a flat menu); the longest on the route wins
        fits = [o for o in options if o != "none" and _on_route(o, steps)]
        if fits:
            best = max(fits, key=lambda o: o.count("/"))
            return {"choice": best, "reason": f"{target} is in {best}"}
        return {"choice": "none", "reason": f"{target} not here"}

    def _review(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        reports = str(request["messages"][-1]["content"]).split(REPORTS, 1)[-1]
        for key in self.replan:
            if key.lower() in directive.lower() and "follow-up" not in directive.lower():
                return {
                    "directive_met": False,
                    "report": "partial",
                    "next_directive": f"follow-up: finish {directive}",
                }
        lines = [line.strip() for line in reports.splitlines() if line.strip().startswith(REPORT.strip())]
        return {
            "directive_met": True,
            "report": f"Done: {directive} ({len(lines)} parts)",
            "next_directive": "",
        }

    def _followup(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        answer = str(request["messages"][-1]["content"]).rsplit(QA_ANSWER, 1)[-1]
        return {"enough": True, "follow_up": "", "summary": f"The user answered: {answer}"}

    def _question(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"question": f"What should I know about {directive}?"}

    def _pythonfile(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        slug = re.sub(r"\W+", "_", directive.lower()).strip("_")[:30] or "script"
        return {
            "path": f"{slug}.py",
            "code": f'print("{slug}")\n',
            "commit_message": f"Add {slug}.py",
        }

    def _resultverdict(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "reasons": []}

    def _memorynote(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"title": directive[:40], "content": f"Note about {directive}"}

    def _utilargs(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"args": {}}

    def _toolstep(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        results = [str(m.get("content", "")) for m in request["messages"] if m.get("role") == "user"]
        results = [r[len(TOOL_RESULT) :] for r in results if r.startswith(TOOL_RESULT)]
        plan = _lookup(self.tool_calls, directive) or []
        if len(results) < len(plan):
            return {"call": True, "arguments": json.dumps(plan[len(results)]), "report": ""}
        last = " ".join(results[-1].split())[:400] if results else "no call was made"
        return {"call": False, "arguments": "{}", "report": f"Tool results: {last}"}

    def _native_step(self, request: dict[str, Any], directive: str) -> Reply:
        """:meth:`_toolstep`'s choice, answered as native function calling does: a tool call, or text."""
        results = [str(m.get("content", "")) for m in request["messages"] if m.get("role") == "tool"]
        plan = _lookup(self.tool_calls, directive) or []
        if len(results) < len(plan) and request.get("tool_choice") != "none":
            name = request["tools"][0]["function"]["name"]
            return Reply("", tool_calls=[{"name": name, "arguments": json.dumps(plan[len(results)])}])
        last = " ".join(results[-1].split())[:400] if results else "no call was made"
        return Reply(f"Tool results: {last}")

    def _scatterplan(self, request: dict[str, Any], directive: str, schema: dict[str, Any]) -> dict[str, Any]:
        items = directive.split(":", 1)[-1].split(";")
        return {"prompts": [f"item: {item.strip()}" for item in items if item.strip()]}

    def _generic(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A reply of the schema's shape: each field an empty value of its type (a schema
        nobody scripted, e.g. doctor's probe, still gets a reply that validates)."""
        return {key: _empty(prop) for key, prop in schema.get("properties", {}).items()}


_EMPTY: dict[str, Any] = {"boolean": True, "integer": 0, "number": 0, "null": None}


def _empty(prop: Any) -> Any:
    if not isinstance(prop, dict):
        return ""
    if prop.get("enum"):
        return prop["enum"][0]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if kind in _EMPTY:
        value = _EMPTY[kind]
        return max(value, prop.get("minimum", value)) if kind in ("integer", "number") else value
    return ""
