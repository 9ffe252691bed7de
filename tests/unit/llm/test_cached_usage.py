"""Issue 25: the prompt tokens an OpenAI-compatible provider served from its prompt cache
(``usage.prompt_tokens_details.cached_tokens``) are recorded: in a call's usage, its frame,
the tree's totals and the report — streamed or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.models import LLMCall
from swarm_star.render.text import usage_line
from swarm_star.testing.openai_server import Reply
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for


class Cached(ScriptedModel):
    """The scripted replies, each reporting 1,200 prompt tokens of which 1,024 came from the cache."""

    def __call__(self, request: dict[str, Any]) -> Any:
        reply = super().__call__(request)
        return Reply(reply.content if isinstance(reply, Reply) else reply, 1200, 7, cached_tokens=1024)


@pytest.mark.parametrize("streams", [True, False], ids=["streamed", "one body"])
async def test_cached_prompt_tokens_reach_usage_frames_and_the_tree(
    tmp_path: Path, model_server: Any, streams: bool
) -> None:
    server = model_server(Cached(), streams=streams)
    swarm = Swarm.create("say hello", space=tmp_path)
    llm = client_for(server)
    try:
        assert (await swarm.run(RunOptions(llm=llm))).status == "finished"
    finally:
        await llm.aclose()
    calls = [e.op for e in swarm.history() if isinstance(e.op, LLMCall)]
    assert calls and all(c.usage.cached_tokens == 1024 and c.usage.prompt_tokens == 1200 for c in calls)
    usage = swarm.tree().usage
    assert usage.cached_tokens == 1024 * len(calls) == 1024 * usage.calls
    assert f"({usage.cached_tokens} cached)" in usage_line(swarm.tree())
