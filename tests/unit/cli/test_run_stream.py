"""``swarm-star run --stream``: Ai3's ``main "…" --stream`` habit, the live line log even on a terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from swarm_star.cli import main
from swarm_star.testing.scripted import ScriptedModel

FRAME_LINE = re.compile(r"^  \[\s*(\d+)\] ", re.M)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_run_stream_keeps_the_line_log_on_a_terminal(
    tmp_path: Path, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = model_server(ScriptedModel(plans={"blog post": ["intro", "body"]}))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-stream")
    monkeypatch.setenv("TERM", "xterm-256color")
    base = ["--space", str(tmp_path), "run", "Write a 3-section blog post about AI", "--base-url", server.base_url]
    streamed, drawn = Terminal(), Terminal()
    assert main([*base, "--swarm-id", "s1", "--stream", "--no-input"], streamed, io.StringIO()) == 0
    assert main([*base, "--swarm-id", "s2", "--no-input"], drawn, io.StringIO()) == 0
    numbers = [int(m) for m in FRAME_LINE.findall(streamed.getvalue())]
    assert numbers == sorted(numbers) and len(numbers) > 6  # one line per event, in order
    assert "Final report:\nDone: Write a 3-section blog post about AI" in streamed.getvalue()
    assert not FRAME_LINE.findall(drawn.getvalue()), drawn.getvalue()[-3000:]  # the redrawn tree instead
