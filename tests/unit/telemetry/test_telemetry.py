"""OpenTelemetry export, checked with the SDK's in-memory exporter."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli.demo import DEMO_ANSWER, DIRECTIVE, demo_model
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.telemetry import SwarmTracer, export_swarm
from swarm_star.testing.scripted import ScriptedModel


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_live_run_gives_one_span_per_node_and_per_model_call(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(demo_model())
    provider, exporter = _provider()
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url, default_model="scripted"))
    with Swarm.create(DIRECTIVE, space=tmp_path, settings=settings) as swarm:
        tracer = SwarmTracer(swarm.id, provider, nodes=swarm.state.nodes)
        assert swarm.run_sync(RunOptions(env={}), on_frame=tracer.on_event).status == "questions"
        swarm.answer(swarm.questions()[0][1].id, DEMO_ANSWER)
        assert swarm.run_sync(RunOptions(env={}), on_frame=tracer.on_event).status == "finished"
        state = swarm.tree()
        frames = {e.frame: e for e in swarm.history()}
    spans = exporter.get_finished_spans()
    chats = [s for s in spans if s.attributes["gen_ai.operation.name"] == "chat"]
    nodes = [s for s in spans if s.attributes["gen_ai.operation.name"] != "chat"]
    assert len(chats) == state.usage.calls
    # one span per node, plus a continuation for each node the stop (questions) cut and the resume reopened
    finished_nodes = {s.attributes["swarm_star.node_id"] for s in nodes if s.attributes.get("swarm_star.end_frame")}
    assert finished_nodes == set(state.nodes)
    by_node = {s.attributes["swarm_star.node_id"]: s for s in nodes if s.attributes.get("swarm_star.end_frame")}
    for node in state.nodes.values():
        span = by_node[node.id]
        if node.role.value == "action":
            assert span.name == f"execute_tool {node.action_id}"
            assert span.attributes["gen_ai.tool.name"] == node.action_id
        else:
            assert span.name.startswith("invoke_agent ") and span.attributes["gen_ai.agent.name"]
    for chat in chats:
        frame = frames[chat.attributes["swarm_star.frame"]]
        assert frame.op.kind == "llm_call"
        assert chat.kind == SpanKind.CLIENT and chat.name == "chat scripted"
        assert chat.attributes["gen_ai.request.model"] == "scripted"
        assert chat.attributes["gen_ai.usage.input_tokens"] == frame.op.usage.prompt_tokens
        parent_ids = {s.context.span_id: s for s in nodes}
        assert parent_ids[chat.parent.span_id].attributes["swarm_star.node_id"] == frame.op.node_id
    assert sum(c.attributes["gen_ai.usage.output_tokens"] for c in chats) == state.usage.completion_tokens
    # the tree's shape: each finished node span hangs under its parent's span
    root = by_node["0"]
    assert root.parent is None
    manager = by_node["0.0"]
    assert manager.parent.span_id in {s.context.span_id for s in nodes if s.attributes["swarm_star.node_id"] == "0"}
    assert all(s.end_time >= s.start_time for s in spans)


def test_export_after_the_fact_and_failures_are_errors(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"split": ["impossible part", "fine part"]}, routes={"impossible": None}))
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    with Swarm.create("split the work", space=tmp_path, settings=settings) as swarm:
        swarm.run_sync(RunOptions(env={}))
        state = swarm.tree()
        provider, exporter = _provider()
        assert export_swarm(swarm.id, swarm.log, provider) == state.frame_count
    spans = exporter.get_finished_spans()
    failed = {n.id for n in state.nodes.values() if n.error}
    assert failed
    errors = {s.attributes["swarm_star.node_id"] for s in spans if s.status.status_code == StatusCode.ERROR}
    assert errors == failed
    assert len([s for s in spans if s.attributes["gen_ai.operation.name"] == "chat"]) == state.usage.calls


async def test_the_server_traces_the_swarms_it_runs(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import httpx

    from swarm_star.serve import create_app

    server = model_server(ScriptedModel(plans={"two": ["a part", "b part"]}))
    provider, exporter = _provider()
    app = create_app(space=tmp_path, env={}, tracer_provider=provider, poll_interval=0.05, base_urls=[server.base_url])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        body = {"directive": "two parts", "models": {"base_url": server.base_url}, "swarm_id": "o1"}
        assert (await client.post("/api/swarms", json=body)).status_code == 201
        for _ in range(400):
            if (await client.get("/api/swarms/o1")).json()["status"] == "finished":
                break
            await asyncio.sleep(0.05)
        summary = (await client.get("/api/swarms/o1")).json()
    await app.state.hub.shutdown()
    assert summary["status"] == "finished"
    spans = exporter.get_finished_spans()
    assert len([s for s in spans if s.name.startswith("chat ")]) == summary["usage"]["calls"]
    assert {s.attributes["swarm_star.node_id"] for s in spans if s.attributes.get("swarm_star.end_frame")} == {
        n["id"] for n in (await _tree(app))["nodes"]
    }


async def _tree(app):  # type: ignore[no-untyped-def]
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        return (await client.get("/api/swarms/o1/tree")).json()
