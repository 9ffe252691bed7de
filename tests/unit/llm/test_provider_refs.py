"""A ``provider:model`` reference goes to that provider, with that provider's key (issue 24).

Before: ``--model anthropic:claude-…`` was sent as a model *name* to the default OpenAI-compatible
endpoint, with the OpenAI key, and Anthropic was never asked. Only flags that existed before are
used here, so the same test shows the old behaviour.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from swarm_star.cli import main
from swarm_star.testing.anthropic_server import LocalAnthropicServer
from swarm_star.testing.scripted import ScriptedModel

SCRIPT = ScriptedModel(plans={"a referenced model": ["one part"]})


def test_a_provider_reference_goes_to_that_provider_with_its_key(
    tmp_path: Path, model_server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    default = model_server(SCRIPT)
    with LocalAnthropicServer(SCRIPT) as anthropic:
        monkeypatch.setenv("OPENAI_BASE_URL", default.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-only-123456")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-only-654321")
        out, err = io.StringIO(), io.StringIO()
        args = ["run", "a referenced model", "--model", "anthropic:claude-test", "--space", str(tmp_path), "--json"]
        code = main(args, out, err)
    assert code == 0, err.getvalue() + out.getvalue()
    assert json.loads(out.getvalue())["status"] == "finished"
    assert default.requests == 0  # the OpenAI endpoint (and its key) was not involved
    assert anthropic.requests > 0 and {body["model"] for body in anthropic.log} == {"claude-test"}
    assert "sk-openai-only-123456" not in "".join(anthropic.api_keys + anthropic.authorizations)
