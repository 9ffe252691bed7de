"""What an action sees while it runs, and how it asks for state changes.

Actions never mutate state. They read the tree through this context, call the
model through :meth:`ActionContext.ask_model`, and return operations built
with the helpers here; the engine turns those into frames. The context reaches
the process that runs it only through the small
:class:`~swarm_star.engine.host.ActionHost` protocol.

Model calls are journaled: the n-th call of activation k of a node has the key
``"k:n"``. If that key was recorded before (the process died and this
activation is running again), the recorded reply is returned and nothing is
paid twice. That is why an action must be deterministic given its inputs and
model replies (no clocks, no randomness in decisions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import BaseModel

from swarm_star.engine.action_gate import user_approval
from swarm_star.engine.tool_calls import make_tool_call, tool_digest
from swarm_star.llm.client import parse_structured, request_digest
from swarm_star.models import (
    AskUser,
    AwaitChildren,
    Fail,
    Limits,
    LLMCall,
    NodeRole,
    SaveMemory,
    Spawn,
    SwarmNode,
    SwarmSettings,
    Terminate,
    ToolCall,
    Usage,
)
from swarm_star.prompts.purpose import Purpose
from swarm_star.prompts.tools import NativeTools
from swarm_star.tools.approvals import ApprovalNeeded, Denied, exec_question

if TYPE_CHECKING:
    from swarm_star.engine.host import ActionHost
    from swarm_star.spaces import Space
    from swarm_star.tools.sessions import ToolInfo

__all__ = ["REFUSAL_PREFIX", "ActionContext", "is_refusal", "normalize_directive"]

REFUSAL_PREFIX = "not for me: "


def is_refusal(node: SwarmNode) -> bool:
    """Did this node refuse its directive (see :meth:`ActionContext.refuse`)?"""
    return node.status == "failed" and (node.error or "").startswith(REFUSAL_PREFIX)


T = TypeVar("T", bound=BaseModel)


def normalize_directive(text: str) -> str:
    """Case- and punctuation-insensitive form, for duplicate detection."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


class ActionContext:
    """One activation of one node. Read the tree; call the model; build operations."""

    def __init__(self, host: ActionHost, node: SwarmNode, activation: int, reason: str) -> None:
        self._host = host  # the writer, or a Ray worker (see engine/host.py)
        self.node = node
        self.activation = activation
        self.reason = reason
        self._seq = 0
        self._spawned = 0
        self._saved = 0

    # reading

    @property
    def settings(self) -> SwarmSettings:
        return self._host.state.record.settings

    @property
    def limits(self) -> Limits:
        """The limits in force for this run (resume may have raised them)."""
        return self._host.state.limits

    @property
    def actions(self) -> Space:
        return self._host.actions

    @property
    def utils(self) -> Space:
        return self._host.utils

    @property
    def workspace(self) -> Path:
        return self._host.swarm_dir / "workspace"

    @property
    def swarm_dir(self) -> Path:
        return self._host.swarm_dir

    @property
    def nodes(self) -> Mapping[str, SwarmNode]:
        """The whole tree, read-only by convention (actions never mutate state)."""
        return self._host.state.nodes

    def get(self, node_id: str) -> SwarmNode:
        return self._host.state.nodes[node_id]

    def children(self) -> list[SwarmNode]:
        return [self.get(c) for c in self.node.children]

    def ancestors(self) -> list[SwarmNode]:
        out, current = [], self.node
        while current.parent_id is not None:
            current = self.get(current.parent_id)
            out.append(current)
        return out

    def memory(self) -> list[SaveMemory]:
        return list(self._host.state.memory.values())

    def memory_count(self) -> int:
        """How many entries memory holds."""
        return len(self._host.state.memory)

    def memory_between(self, start: int, stop: int) -> list[SaveMemory]:
        """Entries ``start`` to ``stop`` (in the order they were saved) without copying all of
        memory first: a briefing looks at a window of a few hundred of a large swarm's thousands."""
        return self._host.state.memory_between(start, stop)

    def memory_in(self, folder: str, stop: int | None = None) -> list[SaveMemory]:
        """The entries of ``folder`` among the first ``stop`` saved (all if None), in order."""
        return self._host.state.memory_in(folder, stop)

    def answers(self) -> list[tuple[str, str]]:
        return [(q.text, q.answer) for q in self.node.questions if q.answer is not None]

    # the model

    @overload
    async def ask_model(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: Purpose | str,
        role: str = ...,
        schema: type[T],
        temperature: float | None = ...,
        model: str | None = ...,
        native: NativeTools | None = ...,
    ) -> T: ...

    @overload
    async def ask_model(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: Purpose | str,
        role: str = ...,
        schema: None = ...,
        temperature: float | None = ...,
        model: str | None = ...,
        native: NativeTools | None = ...,
    ) -> str: ...

    async def ask_model(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: Purpose | str,
        role: str = "worker",
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
        model: str | None = None,
        native: NativeTools | None = None,
    ) -> Any:
        """Call the model (or replay the recorded reply). ``role`` picks the models
        (``[primary, *fallbacks]``); ``model`` pins one of them. ``purpose`` labels the
        call in its frame; a :class:`~swarm_star.prompts.Purpose` also sets its completion
        cap (any other label gets the default cap). ``native``: the same request in native
        function-calling form, sent instead where the endpoint takes it (the digest is the
        structured request's: the two are made from the same data)."""
        recorded = await self.call_model(
            messages, purpose=purpose, role=role, schema=schema, temperature=temperature, model=model, native=native
        )
        if schema is None:
            return recorded.response
        return parse_structured(recorded.response, schema)

    def _next_key(self) -> str:
        # taken before the first await, so concurrent calls get keys in the order they were made
        key = f"{self.activation}:{self._seq}"
        self._seq += 1
        return key

    async def call_model(
        self,
        messages: list[dict[str, str]],
        *,
        purpose: Purpose | str,
        role: str = "worker",
        schema: type[BaseModel] | None = None,
        temperature: float | None = None,
        model: str | None = None,
        native: NativeTools | None = None,
    ) -> LLMCall:
        """Like :meth:`ask_model` but returns the whole call record (usage, latency, attempts).

        A recorded reply is returned only for the request it answered: its
        digest must match this request's. A different request under the same
        key (a divergence) is called afresh, and its frame names the digest it
        replaces. A recorded *failed* call (usage only) is called again.
        """
        key = self._next_key()
        digest = request_digest(messages, schema)
        recorded = self._host.state.calls.get((self.node.id, key))
        replaces = None
        if recorded is not None and recorded.error is None:
            if recorded.digest is None or recorded.digest == digest:
                return recorded
            replaces = recorded.digest
        return await self._host.journal.call_model(
            self.node.id,
            key,
            purpose,
            messages,
            role=role,
            schema=schema,
            temperature=temperature,
            model=model,
            digest=digest,
            replaces=replaces,
            native=native,
        )

    async def run_primitive(
        self,
        purpose: Purpose | str,
        request: str,
        expected_calls: int,
        work: Callable[[], Awaitable[tuple[dict[str, Any], Usage]]],
    ) -> dict[str, Any]:
        """Run a primitive once and keep its full JSON result with this node.

        On a re-run of this activation (after a crash) the stored result is
        returned and ``work`` is not called: the agents are not asked twice. A
        step a hard stop interrupted is journaled as such and runs again.
        """
        key = self._next_key()
        digest = request_digest([{"role": "user", "content": request}], None)
        recorded = self._host.state.calls.get((self.node.id, key))
        replaces = None
        if recorded is not None and recorded.digest not in (None, digest):
            replaces, recorded = recorded.digest, None  # a divergence: never another request's result
        if recorded is not None and recorded.error is not None:
            recorded = None  # it was interrupted (a hard stop): run it again, its frame says so
        if recorded is None:
            recorded = await self._host.journal.call_primitive(
                self.node.id, key, purpose, request, expected_calls, work, digest=digest, replaces=replaces
            )
        result: dict[str, Any] = json.loads(recorded.response)
        return result

    # tools (MCP servers and the built-in web tools; see engine/tool_calls.py)

    def tool_calls(self) -> Mapping[tuple[str, str], ToolCall]:
        """Every recorded tool call of the swarm, by (node id, call key); read-only by convention."""
        return self._host.state.tool_calls

    async def tool_info(self, path: str) -> ToolInfo | None:
        """The tool at ``path`` (``tools/<server>/<tool>``): schema and annotations; None if absent."""
        host = self._host.tools
        return None if host is None else await host.info(path)

    def tool_path(self, leaf_id: str) -> str:
        """The tool path of an action-space leaf (``tools.time.now`` -> ``tools/time/now``)."""
        leaf = self.actions.leaf(leaf_id)
        host = self._host.tools
        if host is None:
            return "/".join(leaf_id.split("."))
        return host.path_of(leaf_id, leaf.entry_point)

    async def call_tool(self, path: str, arguments: dict[str, Any]) -> ToolCall:
        """Call a tool (or return the recorded call): a journaled step, never repeated once committed.

        Raises :class:`~swarm_star.tools.approvals.ApprovalNeeded` when the call waits for the
        user's approval (park the node with ``ctx.ask(exc.question)``). A denied or failed call
        comes back as a record with ``error`` set; it is recorded too, so it is not retried.
        """
        key = self._next_key()
        digest = tool_digest(path, arguments)
        recorded = self._host.state.tool_calls.get((self.node.id, key))
        replaces = None
        if recorded is not None:
            if recorded.digest == digest:
                return recorded
            replaces = recorded.digest
        return await make_tool_call(self._host, self.node.id, key, path, arguments, digest, replaces)

    def check_exec(self, command: str) -> None:
        """Before a swarm-written command runs: allowed with this run's ``--yes``; otherwise the
        user's answer to the question naming it. Raises ApprovalNeeded (park this node) or
        Denied (this node reports the denial); see engine/action_gate.py."""
        if self._host.exec_yes:  # also in a Ray worker: the writer sends its run's --yes along
            return
        question = exec_question(command)
        answer = user_approval(self.node, question)
        if answer is None:
            raise ApprovalNeeded(question)
        if not answer:
            raise Denied(f"running {command!r} was denied by the user. Nothing was run.")

    # building operations

    def spawn(self, role: NodeRole, action_id: str, directive: str, context: dict[str, Any] | None = None) -> Spawn:
        child_id = f"{self.node.id}.{len(self.node.children) + self._spawned}"
        self._spawned += 1
        return Spawn(
            node_id=child_id,
            parent_id=self.node.id,
            role=role,
            action_id=action_id,
            directive=directive,
            context=context or {},
        )

    def terminate(self, report: str, artifacts: list[str] | None = None, *, partial: str | None = None) -> Terminate:
        """Report upward; ``artifacts`` names what was written (kept with the result in memory);
        ``partial`` says why the result falls short ('1 of 3 parts failed'), so the outcome is honest."""
        return Terminate(node_id=self.node.id, report=report, artifacts=list(artifacts or []), partial=partial)

    def fail(self, error: str) -> Fail:
        return Fail(node_id=self.node.id, error=error)

    def refuse(self, reason: str) -> Fail:
        """ "Not for me": this leaf does not fit the directive, the router should try another.

        A refusal is a :class:`Fail` whose error starts with
        :data:`REFUSAL_PREFIX`; ``routing/route_action`` recognises it (see
        :func:`is_refusal`) and routes again without this leaf, within its
        backtrack budget, instead of reporting a failure.
        """
        return Fail(node_id=self.node.id, error=f"{REFUSAL_PREFIX}{reason}")

    def ask(self, question: str) -> AskUser:
        qid = f"{self.node.id}-q{len(self.node.questions)}"
        return AskUser(node_id=self.node.id, question_id=qid, question=question)

    def await_children(self) -> AwaitChildren:
        return AwaitChildren(node_id=self.node.id)

    def save_memory(self, folder: str, title: str, content: str, artifacts: list[str] | None = None) -> SaveMemory:
        """One memory entry; several in one activation each get their own id.

        The first keeps the historic id ``{folder}.{node}.{activation}`` (so
        stored swarms read the same); later ones add ``-{n}``. A dash never
        occurs in node ids, so no two nodes' ids can meet.
        """
        entry_id = f"{folder}.{self.node.id}.{self.activation}"
        if self._saved:
            entry_id += f"-{self._saved}"
        self._saved += 1
        return SaveMemory(
            node_id=self.node.id,
            entry_id=entry_id,
            folder=folder,
            title=title,
            content=content,
            artifacts=list(artifacts or []),
        )
