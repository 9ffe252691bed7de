"""At the terminal during a run: the inline prompt, the line view and the live tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from swarm_star.api import RunHandle
from swarm_star.models import ROOT_NODE_ID, Question, SwarmEvent, SwarmNode
from swarm_star.render.text import fit, short, summary, terminal_width, usage_line

if TYPE_CHECKING:
    from swarm_star.api import Swarm
    from swarm_star.render.live import LiveTree

__all__ = ["InlinePrompt", "LiveView", "TreeView", "live_tree_for", "stdin_tty"]


class InlinePrompt:
    """Asks pending questions at the terminal, one at a time, while the swarm keeps running.

    Standard input is watched with ``loop.add_reader`` (no thread blocked in
    ``readline``), so when the swarm ends — finished, answered from another
    terminal, or Ctrl-C — the run returns at once instead of waiting for Enter.
    A line typed before any question is shown is kept for the next one (type
    ahead); a line typed for a question that was meanwhile answered elsewhere is
    not silently dropped: the prompt says it was not used. An empty Enter is
    not an answer until confirmed: the prompt asks again (type the answer, or
    Enter once more to answer "(no answer)").
    """

    def __init__(self, out: TextIO, fd: int, hold: Callable[[bool], None] | None = None) -> None:
        self.out = out
        self.fd = fd
        self.hold = hold  # hold(True) before the prompt writes, hold(False) when it has nothing to show
        self.run: RunHandle | None = None  # the run whose questions it asks
        self.queue: list[Question] = []
        self.current: Question | None = None
        self.mine: dict[str, str] = {}
        self.stale: str | None = None  # the question last answered from elsewhere while shown here
        self.typed_ahead: list[str] = []
        self.empty_once: str | None = None  # the question an empty Enter was pressed for (confirm a 2nd)
        self._buffer = b""
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._readable)

    def stop(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.fd)
            self._loop = None

    def _pending(self, question_id: str) -> bool:
        return self.run is not None and any(q.id == question_id for _, q in self.run.pending_questions())

    def ask(self, question: Question) -> None:
        self.queue.append(question)
        if self.current is None:
            self._show_next()

    def _hold(self, on: bool) -> None:
        if self.hold is not None:
            self.hold(on)

    def _say(self, text: str) -> None:
        """A line of the prompt's own (not an answer prompt): the live display is held around it."""
        self._hold(True)
        self.out.write(text)
        self.out.flush()
        if self.current is None:
            self._hold(False)

    def _show_next(self) -> None:
        self.current = None
        while self.queue:
            question = self.queue.pop(0)
            if self._pending(question.id):
                self.current, self.stale = question, None
                self._hold(True)
                self.out.write(f"\n? [{question.id}] {question.text}\n> ")
                if self.typed_ahead:
                    text = self.typed_ahead.pop(0)
                    self.out.write(f"{text}\n")
                    self._submit(question, text)
                self.out.flush()
                return
        self._hold(False)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            data = b""
        if not data:  # end of input (Ctrl-D): answers can still come from `answer`
            self.stop()
            self._say("\n(input closed: answer from another terminal, or Ctrl-C to stop)\n")
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self._line(line.decode("utf-8", errors="replace").strip())

    def _line(self, text: str) -> None:
        question = self.current
        if question is None and self.stale is not None:
            self._say(f"[{self.stale}] was already answered elsewhere: that input was not used\n")
        elif question is None:
            if text:  # Enter pressed while watching is not an answer
                self.typed_ahead.append(text)
        elif not self._pending(question.id):
            self.out.write(f"[{question.id}] was already answered elsewhere: that input was not used\n")
            self._show_next()
        elif not text and self.empty_once != question.id:
            self.empty_once = question.id
            self.out.write("(nothing typed: type the answer, or press Enter again to answer '(no answer)')\n> ")
        else:
            self._submit(question, text)
        self.out.flush()

    def _submit(self, question: Question, text: str) -> None:
        text = text or "(no answer)"
        self.empty_once = None
        self.mine[question.id] = text
        if self.run is not None:
            self.run.answer(question.id, text)
        self._show_next()

    def on_event(self, event: SwarmEvent) -> None:
        if event.op.kind != "user_answer":
            return
        question_id = event.op.question_id
        if question_id in self.mine:
            if event.op.answer != self.mine.pop(question_id):
                self._say(
                    f"[{question_id}] was answered elsewhere first: your answer came too late and was not recorded\n"
                )
        elif self.current is not None and self.current.id == question_id:
            self.out.write(f"\n[{question_id}] answered from another terminal: {short(event.op.answer, 60)}\n")
            self._show_next()
            if self.current is None:
                self.stale = question_id
        self.out.flush()


class LiveView:
    """Line-per-event progress on a terminal, and the inline prompt when there is one."""

    def __init__(self, out: TextIO, prompt: InlinePrompt | None) -> None:
        self.out = out
        self.prompt = prompt
        self.run: RunHandle | None = None
        self.width = terminal_width(out)
        self._last_totals = 0.0

    def follow(self, run: RunHandle) -> None:
        """Show ``run`` (its live totals) and let the prompt answer its questions."""
        self.run = run
        if self.prompt is not None:
            self.prompt.run = run

    def on_event(self, event: SwarmEvent) -> None:
        kind = event.op.kind
        node = getattr(event.op, "node_id", "")
        if kind in ("spawn", "terminate", "fail", "ask_user", "user_answer", "stop"):
            self.out.write(fit(f"  [{event.frame:>5}] {node:<12} {summary(event)}", self.width) + "\n")
        now = time.monotonic()
        state = self.run.state if self.run is not None else None
        if state is not None and (now - self._last_totals > 2 or (kind == "terminate" and node == ROOT_NODE_ID)):
            self._last_totals = now
            self.out.write(f"          ── {usage_line(state)}\n")
        if self.prompt is not None:
            self.prompt.on_event(event)
        self.out.flush()

    def on_question(self, node: SwarmNode, question: Question) -> None:
        if self.prompt is not None:
            self.prompt.ask(question)


class TreeView:
    """The live tree on a terminal, with the inline prompt asking questions (the tree is held
    while a question is shown, so the prompt is never drawn over)."""

    def __init__(self, tree: Any, prompt: InlinePrompt | None) -> None:
        self.tree = tree
        self.prompt = prompt

    def on_event(self, event: SwarmEvent) -> None:
        self.tree.on_event(event)
        if self.prompt is not None:
            self.prompt.on_event(event)

    def on_question(self, node: SwarmNode, question: Question) -> None:
        self.tree.on_question(node, question)
        if self.prompt is not None:
            self.prompt.ask(question)


def stdin_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def live_tree_for(swarm: Swarm, out: TextIO, interactive: bool) -> LiveTree | None:
    """The rich live tree when ``out`` is a terminal (not dumb), else None: the line log stays."""
    isatty = getattr(out, "isatty", None)
    if not (isatty and isatty()) or os.environ.get("TERM") == "dumb":
        return None
    from swarm_star.render.live import LiveTree

    return LiveTree(out, title=f"swarm {swarm.id}", interactive=interactive)
