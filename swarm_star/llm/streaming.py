"""Streamed replies: a slow model that makes progress is never cut off; one that stalls,
or trickles forever, still ends.

Why: every request used to have one total deadline (60 s by default). A local
model on a loaded CPU writes 3–8 tokens a second, so a review capped at 1,024
tokens needs minutes, and the swarm paused as "endpoint unreachable: timed
out" while the server was working (issue 21). Now replies are streamed and
two clocks run (:class:`Deadlines`):

- **stall** (``ModelSettings.timeout``, 60 s): the longest wait for the reply
  to start (the response headers, then its first event) and between two
  events. A server that keeps sending tokens never hits it; one that stops
  does, and bytes that carry no event (whitespace, keep-alive comments) are
  not progress.
- **total** (``timeout + max_tokens / min_rate``): the most one attempt may
  take, so a server that drips tokens slower than ``min_rate`` (2 tokens/s
  by default) forever still ends. With the defaults a 1,024-token plan may
  take 572 s, a 96-token route 108 s.

``--max-time`` stays a hard stop above both (the engine cancels calls in
flight). A server that ignores ``stream`` and answers with one JSON body is
read as before, within the stall clock. A server that streams but reports no
usage in its stream (llama-cpp-python 0.3.36 ignores ``stream_options``) would
leave the swarm's token counts blind; the client then stops streaming to that
model (:attr:`StreamedReply.usage` is None) and its later requests are sent
whole, bounded by the total clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from swarm_star.models import ModelSettings

if TYPE_CHECKING:  # the SDK is imported where a client is built
    import openai

__all__ = ["STREAM_PROGRESS", "Deadlines", "Stalled", "StreamedReply", "TooSlow", "stream_completion"]

STREAM_OPTIONS = {"stream": True, "stream_options": {"include_usage": True}}

Progress = Callable[[int], None]
"""Called with the number of content events received so far, as they arrive."""

STREAM_PROGRESS: ContextVar[Progress | None] = ContextVar("swarm_star_stream_progress", default=None)
"""The progress callback of the call being made in this task (set by the engine's in-flight
tracker, read where the client streams): per task, so parallel calls never mix their counts."""


class Stalled(TimeoutError):
    """Nothing arrived for the stall time: the message says how long."""


class TooSlow(TimeoutError):
    """The attempt ran past its total time (the reply was still incomplete)."""


@dataclass(frozen=True)
class Deadlines:
    """The two clocks of one attempt, in seconds."""

    stall: float
    total: float

    @classmethod
    def of(cls, settings: ModelSettings, max_tokens: int) -> Deadlines:
        return cls(settings.timeout, settings.timeout + max_tokens / settings.min_rate)


@dataclass
class StreamedReply:
    """A streamed chat completion put together from its events."""

    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    events: int = 0
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)  # by index: id, name, arguments so far

    def add(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            raise ValueError("a stream event that is not a JSON object")
        self.events += 1
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        self.model = self.model or chunk.get("model")
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.content.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self.refusal.append(delta["refusal"])
            for part in delta.get("tool_calls") or ():  # native function calling: pieces of each call
                if isinstance(part, dict):
                    self._tool_part(part)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    def _tool_part(self, part: dict[str, Any]) -> None:
        call = self.tool_calls.setdefault(int(part.get("index") or 0), {"id": None, "name": "", "arguments": ""})
        call["id"] = call["id"] or part.get("id")
        function = part.get("function") or {}
        if isinstance(function.get("name"), str):
            call["name"] = call["name"] or function["name"]
        if isinstance(function.get("arguments"), str):
            call["arguments"] += function["arguments"]

    def as_completion(self) -> dict[str, Any]:
        """The reply in the shape of a non-streamed chat completion (what the client reads)."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content)}
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for _, c in sorted(self.tool_calls.items())
            ]
        out: dict[str, Any] = {
            "object": "chat.completion",
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            out["usage"] = self.usage
        return out


async def stream_completion(
    sdk: openai.AsyncOpenAI, payload: dict[str, Any], deadlines: Deadlines, progress: Progress | None = None
) -> tuple[dict[str, Any], bool]:
    """Send ``payload`` streamed; return (the completion, whether the server reported usage).

    Raises :class:`Stalled` when the reply does not start, or pauses, for ``deadlines.stall``.
    The caller bounds the whole attempt by ``deadlines.total``.
    """
    import openai

    try:
        async with asyncio.timeout(deadlines.stall):
            stream = await sdk.post(
                "/chat/completions",
                body={**payload, **STREAM_OPTIONS},
                cast_to=object,
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
    except TimeoutError:
        raise Stalled(f"no reply within {deadlines.stall:g} s") from None
    try:
        if "text/event-stream" not in stream.response.headers.get("content-type", ""):
            try:  # a server that ignores `stream` answers with one JSON body
                async with asyncio.timeout(deadlines.stall):
                    body = await stream.response.aread()
            except TimeoutError:
                raise Stalled(f"reply body not complete {deadlines.stall:g} s after it began") from None
            return json.loads(body), True
        reply = StreamedReply()
        while True:
            try:
                async with asyncio.timeout(deadlines.stall):
                    chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise Stalled(f"no new token for {deadlines.stall:g} s (after {reply.events} events)") from None
            reply.add(chunk)
            if progress is not None:
                progress(len(reply.content))
        return reply.as_completion(), reply.usage is not None
    finally:
        await stream.close()
