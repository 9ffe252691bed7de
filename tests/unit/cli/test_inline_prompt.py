"""The inline prompt: an empty Enter is not an answer until confirmed."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from pathlib import Path

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli.interact import InlinePrompt, LiveView
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.testing.scripted import ScriptedModel


def _type_when(buffer: io.StringIO, fd: int, steps: list[tuple[str, bytes]]) -> threading.Thread:
    """Type each line once its cue is on the screen (as a user reads, then types)."""

    def go() -> None:
        for cue, line in steps:
            deadline = time.monotonic() + 30
            while buffer.getvalue().count(cue) == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            os.write(fd, line)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def _run_with_keyboard(tmp_path: Path, base_url: str, steps: list[tuple[str, bytes]]) -> tuple[str, str]:
    settings = SwarmSettings(models=ModelSettings(base_url=base_url))
    buffer = io.StringIO()
    read_end, write_end = os.pipe()
    with Swarm.create("organise a party", space=tmp_path, settings=settings) as swarm:
        prompt = InlinePrompt(buffer, read_end)
        view = LiveView(buffer, prompt)

        async def go():  # type: ignore[no-untyped-def]
            handle = swarm.run(RunOptions(interactive=True, env={}))
            view.follow(handle)
            handle.subscribe(view.on_event)
            handle.on_question(view.on_question)
            prompt.start()
            try:
                return await handle
            finally:
                prompt.stop()

        typist = _type_when(buffer, write_end, steps)
        try:
            outcome = asyncio.run(go())
        finally:
            typist.join(timeout=5)
            os.close(read_end)
            os.close(write_end)
        assert outcome.status == "finished"
        answers = [q.answer for n in swarm.tree().nodes.values() for q in n.questions]
    assert len(answers) == 1
    return buffer.getvalue(), str(answers[0])


def test_an_empty_enter_asks_again_and_the_typed_answer_counts(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"party": "How many guests?"}))
    hint = "press Enter again to answer '(no answer)'"
    screen, answer = _run_with_keyboard(tmp_path, server.base_url, [("How many guests?\n> ", b"\n"), (hint, b"nine\n")])
    assert hint in screen and answer == "nine"  # before: "(no answer)" was recorded at the first Enter


def test_a_second_empty_enter_answers_no_answer(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"party": "How many guests?"}))
    hint = "press Enter again to answer '(no answer)'"
    _, answer = _run_with_keyboard(tmp_path, server.base_url, [("How many guests?\n> ", b"\n"), (hint, b"\n")])
    assert answer == "(no answer)"
