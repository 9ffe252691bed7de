"""OpenTelemetry export of a swarm: one span per node, one per model call (optional, off by default).

Why: Phoenix, Langfuse or any OTLP collector can then show a swarm next to
the rest of a system. Spans follow the GenAI semantic conventions: a leaf
action is an ``execute_tool`` span, every other node (root, managers,
routers) an ``invoke_agent`` span, and each recorded model call a ``chat``
span with ``gen_ai.*`` attributes, parented to its node (a journaled step that
sent no request, such as a command run, makes none); every span carries the
frame number that opened it (``swarm_star.frame``).

Spans are made from history frames, so the same code traces a live run
(``SwarmTracer.on_event`` as the run's ``on_event``) and exports a finished
or foreign swarm after the fact (:func:`export_swarm`). Times come from the
frames, not from when the spans are made. Needs the ``otel`` extra
(``opentelemetry-sdk``); which exporter receives the spans is the caller's
tracer provider's business (e.g. the OTLP exporter configured by ``OTEL_*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from swarm_star.models import NodeRole, NodeStatus, SwarmEvent, SwarmNode
from swarm_star.models.operations import LLMCall

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from swarm_star.state.reader import SwarmReader

__all__ = ["OTEL_ENV", "SwarmTracer", "export_swarm"]

OTEL_ENV = "SWARM_STAR_OTEL"
_NS = 1_000_000_000


def _ns(seconds: float) -> int:
    return int(seconds * _NS)


class SwarmTracer:
    """Turns the frames of one swarm into spans, in order, as they are committed."""

    def __init__(
        self,
        swarm_id: str,
        tracer_provider: TracerProvider | None = None,
        *,
        nodes: Mapping[str, SwarmNode] | None = None,
    ) -> None:
        """``nodes``: the tree as the run starts (``swarm.state.nodes``), for the nodes
        spawned before tracing began (the root is spawned when the swarm is created)."""
        from opentelemetry import trace

        self.swarm_id = swarm_id
        self.tracer: Tracer = trace.get_tracer("swarm_star", tracer_provider=tracer_provider)
        self._spans: dict[str, Span] = {}
        self._parents: dict[str, str | None] = {}
        self._roles: dict[str, tuple[NodeRole, str, str]] = {}
        for node in (nodes or {}).values():
            self._parents[node.id] = node.parent_id
            self._roles[node.id] = (node.role, node.action_id, node.directive)

    def on_event(self, event: SwarmEvent) -> None:
        """Feed one frame (use as ``Swarm.run(on_event=...)``)."""
        op = event.op
        if op.kind == "spawn":
            self._parents[op.node_id] = op.parent_id
            self._roles[op.node_id] = (op.role, op.action_id, op.directive)
            self._open(op.node_id, event)
        elif op.kind == "run_action":
            if op.node_id not in self._spans:  # an activation after a stop: the node's span continues
                self._open(op.node_id, event)
        elif op.kind == "llm_call" and (op.attempt_log or op.usage.calls):  # not a step that sent nothing
            self._chat(event, op)
        elif op.kind == "terminate" or op.kind == "fail":
            span = self._spans.pop(op.node_id, None) or self._open(op.node_id, event, pop=True)
            if op.kind == "fail":
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, op.error))
                span.set_attribute("error.type", "swarm_star.node_failed")
            ended = NodeStatus.TERMINATED if op.kind == "terminate" else NodeStatus.FAILED
            span.set_attribute("swarm_star.node.status", ended.value)
            span.set_attribute("swarm_star.end_frame", event.frame)
            span.end(end_time=_ns(event.time))
        elif op.kind == "stop":
            # a stopped run leaves nodes unfinished: close their spans; a resume reopens them
            for node_id in sorted(self._spans, key=lambda n: -n.count(".")):
                span = self._spans.pop(node_id)
                span.set_attribute("swarm_star.node.status", f"stopped: {op.reason}")
                span.end(end_time=_ns(event.time))

    def _open(self, node_id: str, event: SwarmEvent, *, pop: bool = False) -> Span:
        from opentelemetry import trace

        role, action_id, directive = self._roles.get(node_id, (NodeRole.ACTION, "unknown", ""))
        parent_id = self._parents.get(node_id)
        parent = None
        if parent_id is not None:
            parent = self._spans.get(parent_id) or self._open(parent_id, event)
        context = trace.set_span_in_context(parent) if parent is not None else None
        attributes: dict[str, Any] = {
            "swarm_star.swarm_id": self.swarm_id,
            "swarm_star.node_id": node_id,
            "swarm_star.role": role.value,
            "swarm_star.action_id": action_id,
            "swarm_star.frame": event.frame,
            "swarm_star.directive": directive[:500],
        }
        if role == NodeRole.ACTION:
            name = f"execute_tool {action_id}"
            attributes.update(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": action_id,
                    "gen_ai.tool.call.id": f"{self.swarm_id}/{node_id}",
                    "gen_ai.tool.type": "function",
                }
            )
        else:
            agent = f"{role.value} {action_id}"
            name = f"invoke_agent {agent}"
            attributes.update(
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": agent,
                    "gen_ai.agent.id": f"{self.swarm_id}/{node_id}",
                    "gen_ai.conversation.id": self.swarm_id,
                }
            )
        span = self.tracer.start_span(
            name, context=context, kind=trace.SpanKind.INTERNAL, start_time=_ns(event.time), attributes=attributes
        )
        if not pop:
            self._spans[node_id] = span
        return span

    def _chat(self, event: SwarmEvent, op: LLMCall) -> None:
        from opentelemetry import trace

        node_span = self._spans.get(op.node_id) or self._open(op.node_id, event)
        end = _ns(event.time)
        start = end - _ns(max(op.latency_s, 0.0))
        span = self.tracer.start_span(
            f"chat {op.model}",
            context=trace.set_span_in_context(node_span),
            kind=trace.SpanKind.CLIENT,
            start_time=start,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": op.model,
                "gen_ai.response.model": op.model,
                "gen_ai.usage.input_tokens": op.usage.prompt_tokens,
                "gen_ai.usage.output_tokens": op.usage.completion_tokens,
                "gen_ai.conversation.id": self.swarm_id,
                "swarm_star.frame": event.frame,
                "swarm_star.node_id": op.node_id,
                "swarm_star.purpose": op.purpose,
                "swarm_star.call_key": op.call_key,
                "swarm_star.attempts": op.attempts,
                "swarm_star.cost_usd": op.usage.cost,
            },
        )
        span.end(end_time=end)

    def close(self) -> None:
        """End spans still open (a run that ended without a stop frame)."""
        for node_id in sorted(self._spans, key=lambda n: -n.count(".")):
            self._spans.pop(node_id).end()


def export_swarm(swarm_id: str, log: SwarmReader, tracer_provider: TracerProvider | None = None) -> int:
    """Trace a stored swarm from its frames (any swarm, finished or not). Returns frames read."""
    tracer = SwarmTracer(swarm_id, tracer_provider)
    count = 0
    for event in log.frames():
        tracer.on_event(event)
        count += 1
    tracer.close()
    return count
