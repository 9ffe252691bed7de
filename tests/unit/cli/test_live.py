"""The live terminal tree (rich) and ``swarm-star watch``."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli import main
from swarm_star.cli.interact import InlinePrompt, TreeView
from swarm_star.models import ModelSettings, NodeStatus, SwarmSettings
from swarm_star.render.live import LiveTree, tree_lines
from swarm_star.state.history import SwarmLog
from swarm_star.store import StoreLocator
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.big_tree import write_big_tree


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "OPENROUTER", "SWARM_SPACE"))}
    return {**env, "OPENAI_API_KEY": "sk-test-live", "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}


def test_finished_subtrees_collapse_and_big_trees_fit_the_screen(tmp_path: Path) -> None:
    state = write_big_tree(tmp_path, "big", (10, 10, 10))
    lines = tree_lines(state, width=120)
    assert len(lines) == 11  # the root, and each finished manager folded to one line
    assert all("(+110 nodes)" in text for text, _ in lines[1:])
    # the same tree while it runs: nothing folds, and the view keeps to the screen
    for node in state.nodes.values():
        if node.depth == 3 and node.id.endswith(("1", "2")):
            node.status = NodeStatus.RUNNING
        elif node.depth < 3:
            node.status = NodeStatus.WAITING_CHILDREN
    lines = tree_lines(state, width=120, max_lines=30)
    assert len(lines) <= 30 and any(text.lstrip("│ ├└─").startswith("… ") for text, _ in lines)
    assert sum("▶" in text for text, _ in lines) >= 10  # running nodes are kept in view first


def test_live_tree_draws_counts_and_asks_inline(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"party": "How many guests?"}))
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=110, height=40, color_system=None)
    read_end, write_end = os.pipe()  # the keyboard: the answer is typed ahead of the question
    os.write(write_end, b"twelve people\n")
    with Swarm.create("organise a party", space=tmp_path, settings=settings) as swarm:
        view = LiveTree(buffer, title=f"swarm {swarm.id}", interactive=True, console=console)
        prompt = InlinePrompt(buffer, read_end, view.hold)
        shown = TreeView(view, prompt)

        async def go():  # type: ignore[no-untyped-def]
            handle = swarm.run(RunOptions(interactive=True, env={}))
            view.source = prompt.run = handle
            handle.subscribe(shown.on_event)
            handle.on_question(shown.on_question)
            prompt.start()
            try:
                return await handle
            finally:
                prompt.stop()

        try:
            with view:
                outcome = asyncio.run(go())
        finally:
            os.close(read_end)
            os.close(write_end)
        assert outcome.status == "finished"
        nodes = swarm.tree().nodes
    screen = buffer.getvalue()
    assert "? [0.0.0-q0] How many guests?" in screen
    assert f"{len(nodes)} nodes · 0 running · 0 waiting for you" in screen
    assert "The user answered: twelve people" in screen  # kept above the tree, not lost in a redraw
    assert "✓ 0 root:root" in screen


@pytest.mark.slow  # seconds each (a timeout or a kill waited out): .ci/run runs it
def test_watch_follows_a_run_in_another_process_off_a_terminal(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"many": [f"part {i}" for i in range(6)]}), latency=0.1)
    run = subprocess.Popen(
        [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "run", "many parts", "--swarm-id", "w",
         "--base-url", server.base_url, "--no-input", "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "w").exists():
            assert time.monotonic() < deadline and run.poll() is None
            time.sleep(0.05)
        out, err = io.StringIO(), io.StringIO()
        code = main(["--space", str(tmp_path), "watch", "w"], out=out, err=err)
        assert code == 0, err.getvalue()
        assert run.wait(timeout=60) == 0
    finally:
        if run.poll() is None:
            run.kill()
    text = out.getvalue()
    with StoreLocator(tmp_path).open("w") as store:
        frames = SwarmLog(store).replay().frame_count
    numbered = [line for line in text.splitlines() if line.startswith("[")]
    assert [int(line[1:6]) for line in numbered] == list(range(frames))
    assert "Final report:\nDone: many parts (6 parts)" in text

    out = io.StringIO()
    assert main(["--space", str(tmp_path), "watch", "w", "--once", "--from", str(frames - 2)], out=out) == 0
    assert len([line for line in out.getvalue().splitlines() if line.startswith("[")]) == 2
    err = io.StringIO()
    assert main(["--space", str(tmp_path), "watch", "nope", "--once"], out=io.StringIO(), err=err) == 2
    assert "no swarm 'nope'" in err.getvalue()


def test_watch_on_a_terminal_shows_the_live_tree(tmp_path: Path) -> None:
    write_big_tree(tmp_path, "big", (3, 3))
    pid, fd = pty.fork()
    if pid == 0:
        # as from an interactive shell: a suite started in the background ignores SIGINT, and
        # an ignored signal stays ignored across exec (the Ctrl-C test hung there)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execve(
            sys.executable, [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "watch", "big"], _env()
        )
    seen = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert "swarm big [finished]" in seen and "13 nodes · 0 running" in seen
    assert "✓ 0.1 manager:answer" in seen and "(+3 nodes)" in seen  # a finished subtree, folded
    assert "\x1b[" in seen  # drawn in place with terminal control codes


def _pty_run(tmp_path: Path, base_url: str) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        # as from an interactive shell: a suite started in the background ignores SIGINT, and
        # an ignored signal stays ignored across exec (the Ctrl-C test hung there)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execve(
            sys.executable,
            [sys.executable, "-m", "swarm_star", "--space", str(tmp_path), "run", "organise a party",
             "--swarm-id", "p1", "--base-url", base_url],
            _env(),
        )  # fmt: skip
    return pid, fd


def _read_until(fd: int, needle: str, timeout: float = 30.0) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _wait_exit(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    return None


def test_an_answer_from_elsewhere_ends_the_inline_prompt(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(ScriptedModel(plans={"party": "How many guests?"}))
    pid, fd = _pty_run(tmp_path, server.base_url)
    code = None
    try:
        assert "How many guests?" in _read_until(fd, "> ")
        assert main(["--space", str(tmp_path), "answer", "p1", "0.0.0-q0", "nine"], out=io.StringIO()) == 0
        rest = _read_until(fd, "Final report")
        rest += _read_until(fd, "Report: ", timeout=5)
        code = _wait_exit(pid, 20)  # nobody pressed Enter
    finally:
        if code is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    assert code == 0, rest
    assert (
        "answered from another terminal: nine" in rest and "The user answered: nine" in rest and "Final report" in rest
    )


def test_ctrl_c_at_the_inline_prompt_exits_at_once(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    import signal

    server = model_server(ScriptedModel(plans={"party": "How many guests?"}))
    pid, fd = _pty_run(tmp_path, server.base_url)
    code = None
    try:
        assert "How many guests?" in _read_until(fd, "> ")
        os.kill(pid, signal.SIGINT)
        rest = _read_until(fd, "resume", timeout=10)
        code = _wait_exit(pid, 10)
    finally:
        if code is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    assert code == 130, rest
    assert "interrupted; state saved" in rest and "Exception ignored" not in rest
    with Swarm.open("p1", space=tmp_path) as swarm:
        assert swarm.tree().status == "stopped"


def test_the_live_tree_resumes_below_what_the_prompt_wrote(tmp_path: Path) -> None:
    """After a hold (the inline prompt asked), the tree draws again *below* the prompt's
    lines: restarting rich's display must not move the cursor up by the old tree's
    height, which erased the question, the typed answer and "answered from another
    terminal" from the screen."""
    state = write_big_tree(tmp_path, "held", (3, 2))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, height=40, color_system=None)
    view = LiveTree(buffer, title="swarm held", state=state, console=console)
    with view:
        view.refresh(force=True)
        view.hold(True)
        buffer.write("\n? [0.0.0-q0] How many guests?\n> twelve\n")
        mark = len(buffer.getvalue())
        view.hold(False)
        redraw = buffer.getvalue()[mark:]
    assert "swarm held" in redraw  # the tree was drawn again
    assert "\x1b[1A" not in redraw.split("swarm held", 1)[0]  # ...without climbing over the prompt
